"""Who changed what, through which door: the context every write runs in.

Services run inside `acting_as(actor)`; django-simple-history's pre-save signal copies the actor
and door onto each historical row. Secret fields are excluded from history; a change to them is
recorded by name only (`secrets_changed`), so the trail can say "changed" without the value.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoryManager
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


class AuditHistoryManager(HistoryManager):
    """simple-history's manager, whose class is built once per queryset class.

    `instance.history` builds its manager class anew on every access (`from_queryset`, which
    inspects every method of the queryset), and every history row written reads it once:
    a tenth of a millisecond per row, on every write. The class built is the same each time.
    """

    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


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


def history_record(instance: models.Model, *, history_type: str = "+", when: Any = None) -> models.Model:
    """The historical row (unsaved) django-simple-history writes after `instance.save()`, for writes
    that insert without `save()` (bulk and compiled inserts): the tracked fields copied, then
    the same pre-create signal fills the audit columns (actor, door, action, secrets changed)."""
    history_model = type(instance).history.model
    when = when if when is not None else getattr(instance, "_history_date", None) or timezone.now()
    reason = getattr(instance, "_change_reason", None)
    record = history_model(
        history_date=when,
        history_type=history_type,
        history_user=None,
        history_change_reason=reason,
        **{field.attname: getattr(instance, field.attname) for field in history_model.tracked_fields},
    )
    pre_create_historical_record.send(
        sender=history_model,
        instance=instance,
        history_date=when,
        history_user=None,
        history_change_reason=reason,
        history_instance=record,
        using=None,
    )
    return record


@receiver(pre_create_historical_record)
def _fill_audit_columns(sender, instance, history_instance, **kwargs) -> None:
    actor = current_actor()
    if actor is not None:
        history_instance.door = actor.door
        history_instance.actor_label = actor.label[:255]
        if actor.user is not None and getattr(actor.user, "pk", None):
            history_instance.history_user = actor.user
    history_instance.action = getattr(instance, "_audit_action", "") or ""
    history_instance.secrets_changed = getattr(instance, "_audit_secrets_changed", []) or []
    instance._audit_action = ""
    instance._audit_secrets_changed = []
