"""Who belongs where, and the agents of a workspace."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower

from channels_app.errors import agent_not_found
from channels_app.models import Agent, ChannelBinding, Membership, Workspace

# How many agents an agent search offers at once: the page stays the same size with 10 or 100,000.
AGENT_SUGGESTIONS = 20


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user: AbstractBaseUser, workspace_slug: str) -> Membership | None:
    return Membership.objects.filter(user=user, workspace__slug=workspace_slug).select_related("workspace").first()


def number_workspace_for_user(*, user: AbstractBaseUser, phone_number_uuid: Any) -> Workspace | None:
    """The workspace holding this number, if `user` is a member of it; otherwise None.

    Lets a short link (`/app/numbers/<uuid>/`) find its workspace without revealing other tenants.
    """
    try:
        key = uuid.UUID(str(phone_number_uuid))
    except ValueError:
        return None
    return Workspace.objects.filter(phone_numbers__phone_number_uuid=key, memberships__user=user).first()


def agent_list(*, workspace: Workspace) -> QuerySet[Agent]:
    return Agent.objects.filter(workspace=workspace).order_by("name", "id")


def agent_get(*, workspace: Workspace, agent_uuid: Any) -> Agent:
    """One agent of the workspace; unknown, malformed or another workspace's: AGENT_NOT_FOUND."""
    try:
        key = uuid.UUID(str(agent_uuid))
    except ValueError as exc:
        raise agent_not_found() from exc
    agent = Agent.objects.filter(workspace=workspace, agent_uuid=key).first()
    if agent is None:
        raise agent_not_found()
    return agent


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _searchable(text: str) -> str:
    """`text` as a name to look for: stripped, without NUL characters, at most a name's length."""
    return text.replace("\x00", "").strip()[: Agent._meta.get_field("name").max_length]


def agent_suggestions(
    *, workspace: Workspace, channel: str | None = None, text: str = "", limit: int = AGENT_SUGGESTIONS
) -> list[Agent]:
    """The agents an agent search offers: at most `limit`, by name, whose name contains `text`
    (or whose UUID it is; every agent when empty). Each carries `busy_number`, the E.164 of the
    number it answers on `channel` (None when free). One query, however many agents there are."""
    agents = Agent.objects.filter(workspace=workspace)
    text = _searchable(text)
    if text:
        key = _uuid_or_none(text)
        agents = agents.filter(Q(name__icontains=text) | Q(agent_uuid=key) if key else Q(name__icontains=text))
    if channel:
        holding = ChannelBinding.objects.filter(agent=OuterRef("pk"), channel=channel).order_by()
        agents = agents.annotate(busy_number=Subquery(holding.values("phone_number__number")[:1]))
    return list(agents.order_by("name", "id")[:limit])


def agents_by_text(*, workspace: Workspace, texts: Iterable[str]) -> dict[str, list[Agent]]:
    """The workspace's agents that each of `texts` names, by UUID or by name ignoring case:
    text (stripped, lowercased) -> agents (none: unknown, several: an ambiguous name). Two
    queries per 500 texts, however many there are (a CSV file resolves its names at once)."""
    wanted = {text.strip().lower() for text in texts if text and text.strip()}
    found: dict[str, list[Agent]] = {text: [] for text in wanted}
    keys = {key: text for text in wanted if (key := _uuid_or_none(text)) is not None}
    # A name no agent can have (NUL, which PostgreSQL cannot even compare; longer than a name) is unknown.
    names = sorted(text for text in wanted - set(keys.values()) if _searchable(text) == text)
    for start in range(0, len(keys), 500):
        chunk = list(keys)[start : start + 500]
        for agent in Agent.objects.filter(workspace=workspace, agent_uuid__in=chunk):
            found[keys[agent.agent_uuid]].append(agent)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        matches = Agent.objects.annotate(lowered=Lower("name")).filter(workspace=workspace, lowered__in=chunk)
        for agent in matches.order_by("name", "id"):
            found[agent.lowered].append(agent)
    return found
