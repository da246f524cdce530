"""Who changed what, through which door: the context every write runs in.

Services run inside `acting_as(actor)`; django-simple-history's pre-save signal copies the actor
and door onto each historical row. Secret fields are excluded from history; a change to them is
recorded by name only (`secrets_changed`), so the trail can say "changed" without the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from simple_history.signals import pre_create_historical_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from channels_app.models import ApiToken


class Door(models.TextChoices):
    ADMIN = "admin", _("Staff admin")
    SELF_SERVE = "self_serve", _("Self-serve")
    API = "api", _("API")
    COMMAND = "command", _("Command")


@dataclass(frozen=True)
class Actor:
    """The person or token behind a write, and the door it came through."""

    door: str
    user: AbstractBaseUser | None = None
    token: ApiToken | None = None
    label_override: str = ""

    @property
    def label(self) -> str:
        if self.label_override:
            return self.label_override
        if self.token is not None:
            return f"token {self.token.name} ({self.token.prefix}…)"
        if self.user is not None:
            return self.user.get_username()
        return self.door

    @classmethod
    def command(cls, name: str) -> Actor:
        return cls(door=Door.COMMAND, label_override=f"manage.py {name}")


_current_actor: ContextVar[Actor | None] = ContextVar("trunkadmin_actor", default=None)


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    return _current_actor.get()


class AuditRecord(models.Model):
    """Extra columns on every historical table."""

    door = models.CharField(max_length=16, choices=Door.choices, blank=True, default="")
    actor_label = models.CharField(max_length=255, blank=True, default="")
    action = models.CharField(max_length=32, blank=True, default="")
    secrets_changed = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True


def mark(instance: Any, *, action: str = "", secrets_changed: list[str] | None = None) -> None:
    """Annotate the next historical record of `instance` with an action name and secret changes."""
    instance._audit_action = action
    instance._audit_secrets_changed = list(secrets_changed or [])


def audit_columns(*, action: str = "", secrets_changed: list[str] | None = None) -> dict[str, Any]:
    """The audit columns of a historical row written now, under the current actor: what the
    signal below fills on every `save()`, and what bulk inserts pass to simple-history's
    `bulk_create_with_history(custom_historical_attrs=...)`."""
    actor = current_actor()
    columns: dict[str, Any] = {"action": action, "secrets_changed": list(secrets_changed or [])}
    if actor is not None:
        columns.update(door=actor.door, actor_label=actor.label[:255])
    return columns


def acting_user(actor: Actor | None) -> AbstractBaseUser | None:
    """The user recorded as `history_user`, if a saved user acts."""
    if actor is not None and actor.user is not None and getattr(actor.user, "pk", None):
        return actor.user
    return None


@receiver(pre_create_historical_record)
def _fill_audit_columns(sender, instance, history_instance, **kwargs) -> None:
    columns = audit_columns(
        action=getattr(instance, "_audit_action", "") or "",
        secrets_changed=getattr(instance, "_audit_secrets_changed", None),
    )
    for name, value in columns.items():
        setattr(history_instance, name, value)
    user = acting_user(current_actor())
    if user is not None:
        history_instance.history_user = user
    instance._audit_action = ""
    instance._audit_secrets_changed = []
