"""What every write service shares: its transaction and actor, and input checks without queries."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber as PhoneNumberValue

from channels_app import fieldpaths
from channels_app.audit import acting_as
from channels_app.errors import ValidationFailed

P = ParamSpec("P")
R = TypeVar("R")


class _Unset:
    """An argument that was not given (None may mean "clear" or "default")."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


def write_service(func: Callable[P, R]) -> Callable[P, R]:
    """One transaction, run as the given `actor` so history rows record who and which door.

    Inside a caller's transaction the service takes a savepoint: a refusal undoes only the
    service's own writes, so a caller catching it (a form showing it, an import reporting a row)
    can go on.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(), acting_as(kwargs.get("actor")):
            return func(*args, **kwargs)

    return wrapper


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run writes to validate and preview them (`?dry_run=true`, CSV previews), then undo them all."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def parse_uuid(value: object, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValidationFailed.single(field, _("Must be a UUID.")) from exc


def clean_fields(instance: models.Model, *, exclude: tuple[str, ...] = ()) -> None:
    """The model's field validation, without queries: constraints are settled by the database.

    Text with a NUL character is refused here too: PostgreSQL cannot store it (a crash, not an
    answer) and Django's model fields do not check for it (only its form fields do).
    """
    nul = {
        fieldpaths.path_of_model_field(field.name): [_("Must not contain NUL characters.")]
        for field in instance._meta.concrete_fields
        if field.name not in exclude and "\x00" in _text(getattr(instance, field.attname, None))
    }
    raise_if(nul)
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            {
                fieldpaths.path_of_model_field(field): [str(message) for message in messages]
                for field, messages in exc.message_dict.items()
            }
        ) from exc


def _text(value: object) -> str:
    """The text a NUL could hide in: strings as they are, a number as it was typed."""
    if type(value) is str:
        return value
    if isinstance(value, PhoneNumberValue):
        return value.raw_input or ""
    if value is None or isinstance(value, bool | int | float | Decimal | datetime | uuid.UUID | dict | list):
        return ""
    return str(value)
