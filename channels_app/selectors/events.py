"""The audit trail: what changed, by whom, through which door, read from django-simple-history.

Username and password are not in history at all; a change to them is recorded by name only and
shown as "changed".
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from channels_app import fieldpaths
from channels_app.models import Agent, ApiToken, ChannelBinding, PhoneNumber


@dataclasses.dataclass(frozen=True)
class Event:
    """One change in the audit trail (GET /phone-numbers/{uuid}/events, the activity pages)."""

    at: datetime
    actor: str | None
    door: str | None
    action: str
    channel: str | None
    changes: dict[str, Any]  # field path -> new value; secrets only as "changed"
    agent_name: str | None  # the name of the agent in `changes`, for pages
    order: tuple[datetime, int] = dataclasses.field(repr=False, compare=False)
    # field path -> the value before this change, for the paths of `changes` that had one (an
    # update); never a secret's. Pages show "before -> after"; the API shows `changes` only.
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    agent_name_before: str | None = None


_ACTION_BY_TYPE = {"+": "created", "~": "updated", "-": "deleted"}
_HIDDEN_IN_CHANGES = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "door",
    "actor_label",
    "action",
    "secrets_changed",
    "id",
    "created_at",
    "updated_at",
    "workspace",
    "phone_number",
    "uuid",
    "phone_number_uuid",
    "is_trunk",
    "credentials_updated_at",
}


def _agent_of(record) -> Agent | None:
    """The agent a binding's history row names. History keeps the agent's id only: an agent
    deleted since reads as None, not a crash."""
    try:
        return record.agent if getattr(record, "agent_id", None) else None
    except Agent.DoesNotExist:
        return None


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)


def _agent_uuid(record) -> str | None:
    agent = _agent_of(record)
    return str(agent.agent_uuid) if agent is not None else None


def _changes(record, previous) -> tuple[dict[str, Any], dict[str, Any]]:
    """What this history row changed against the previous row of the same object: the new values
    and, for an update, the values before.

    Username and password are not in history at all; their change is recorded by name only.
    """
    if record.history_type == "-":
        return {}, {}
    changes: dict[str, Any] = {}
    before: dict[str, Any] = {}
    for field in record._meta.concrete_fields:
        if field.name in _HIDDEN_IN_CHANGES:
            continue
        new = getattr(record, field.attname)
        old = getattr(previous, field.attname) if previous is not None else None
        if new == old or (previous is None and new in (None, "", [], {})):
            continue
        if field.name == "agent":
            path, new_value = "agent_uuid", _agent_uuid(record)
            old_value = _agent_uuid(previous) if previous is not None else None
        else:
            path, new_value, old_value = fieldpaths.path_of_model_field(field.name), _plain(new), _plain(old)
        changes[path] = new_value
        if previous is not None:
            before[path] = old_value
    for secret in record.secrets_changed or []:
        changes[fieldpaths.path_of_model_field(secret)] = "changed"
    return changes, before


def _events(records) -> list[Event]:
    """History rows (oldest first) as events, each compared with the previous row of its object."""
    events = []
    previous_by_object: dict[int, Any] = {}
    for record in records:
        object_id = record.id
        previous = previous_by_object.get(object_id)
        changes, before = _changes(record, previous)
        agent = _agent_of(record) if changes.get("agent_uuid") else None
        agent_before = _agent_of(previous) if before.get("agent_uuid") else None
        events.append(
            Event(
                at=record.history_date,
                actor=record.actor_label or (record.history_user.get_username() if record.history_user_id else None),
                door=record.door or None,
                action=record.action or _ACTION_BY_TYPE[record.history_type],
                channel=getattr(record, "channel", None),
                changes=changes,
                agent_name=agent.name if agent is not None else None,
                before=before,
                agent_name_before=agent_before.name if agent_before is not None else None,
                order=(record.history_date, record.history_id),
            )
        )
        previous_by_object[object_id] = record
    return events


def number_events(*, number: PhoneNumber) -> list[Event]:
    """The audit trail of a number and its bindings, newest first (two queries)."""
    number_history = PhoneNumber.history.filter(id=number.pk).select_related("history_user")
    binding_history = ChannelBinding.history.filter(phone_number_id=number.pk).select_related("history_user", "agent")
    events = [
        *_events(number_history.order_by("history_date", "history_id")),
        *_events(binding_history.order_by("history_date", "history_id")),
    ]
    return sorted(events, key=lambda event: event.order, reverse=True)


def token_events(*, token: ApiToken) -> list[Event]:
    """The audit trail of one API token, newest first (one query).

    The hash is not in history; the plaintext never existed outside the creating response.
    """
    history = ApiToken.history.filter(id=token.pk).select_related("history_user")
    return _events(history.order_by("history_date", "history_id"))[::-1]
