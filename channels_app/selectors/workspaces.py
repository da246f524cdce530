"""Who belongs where, and the agents of a workspace."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from channels_app.errors import agent_not_found
from channels_app.models import Agent, Membership, Workspace


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
