"""Domain errors: one stable code per broken rule, shared by all three doors.

The API maps `status` and `code` into its envelope; forms show `message` next to `field`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# code -> HTTP status, the single table the API exception handler and the OpenAPI schema use.
ERROR_STATUS: dict[str, int] = {
    "INVALID_JSON": 400,
    "MISSING_AUTH_TOKEN": 401,
    "INVALID_AUTH_TOKEN": 401,
    "INSUFFICIENT_SCOPE": 403,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "AGENT_NOT_FOUND": 404,
    "PHONE_NUMBER_NOT_FOUND": 404,
    "TRUNK_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "NUMBER_ALREADY_BOUND": 409,
    "AGENT_CHANNEL_IN_USE": 409,
    "NUMBER_IN_INVENTORY": 409,
    "NUMBER_UNAVAILABLE": 409,
    "EXTERNAL_NUMBER_NOT_RELEASABLE": 409,
    "WHATSAPP_ID_IN_USE": 409,
    "PRECONDITION_FAILED": 412,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "VALIDATION_ERROR": 422,
    "UNSUPPORTED_CHANNEL": 422,
    "NUMBER_NOT_CAPABLE": 422,
    "IDEMPOTENCY_KEY_REUSED": 422,
    # Routing rules (docs/rules.md) that a request can break: a test call's destination or direction.
    "DESTINATION_NOT_ALLOWED": 422,
    "DIRECTION_NOT_ALLOWED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


# Errors that name no field but are about one input: a form shows them next to it.
SUBJECT_BY_CODE = {
    "AGENT_NOT_FOUND": "agent_uuid",
    "PHONE_NUMBER_NOT_FOUND": "phone_number",
    "TRUNK_NOT_FOUND": "phone_number",
}


class DomainError(Exception):
    """A rule of the contract was broken. `code` is stable; `message` is for people."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: str | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        assert code in ERROR_STATUS, code
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.field = field
        self.details = str(details) if details is not None else self.message
        self.fields = fields
        # The refusals this one stands for (`all-at-once`): itself, or each of `combined`'s.
        self.parts: list[DomainError] = [self]
        # The number a conflict is about, when the door may show it (always this workspace's).
        self.holder = None

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    @property
    def text(self) -> str:
        """How every door shows the error to a person: the message, then the details when they add
        something."""
        if self.details and self.details.rstrip(".") != self.message.rstrip("."):
            return f"{self.message} {self.details}"
        return self.message

    def messages(self) -> list[tuple[str | None, str]]:
        """(field path or None, message) pairs, one per message: every field of a validation error,
        or the one field this error is about (a "not found" names the input that found nothing)."""
        if self.fields:
            return [(path, str(message)) for path, messages in self.fields.items() for message in messages]
        return [(self.field or SUBJECT_BY_CODE.get(self.code), self.text)]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"DomainError({self.code!r}, field={self.field!r})"


class ValidationFailed(DomainError):
    """Input of the wrong shape or value. `fields` maps dotted field paths to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first_field, first_messages = next(iter(fields.items()))
        super().__init__(
            "VALIDATION_ERROR",
            _("The request is not valid."),
            field=first_field,
            details=first_messages[0],
            fields=fields,
        )

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [str(message)]})


def combined(errors: list[DomainError]) -> DomainError:
    """Several refusals of one request as one (`all-at-once`): every message under its field.

    With a validation error among them the whole is a VALIDATION_ERROR (the request cannot be
    read as it is); otherwise the first refusal's code stands, in the order of the rules, and
    `fields` lists every refusal. One refusal is returned as it is.
    """
    if len(errors) == 1:
        return errors[0]
    ordered = sorted(errors, key=lambda error: error.code != "VALIDATION_ERROR")
    fields: dict[str, list[str]] = {}
    for error in ordered:
        for path, message in error.messages():
            fields.setdefault(path or "non_field_errors", []).append(message)
    first = ordered[0]
    if first.code == "VALIDATION_ERROR":
        whole: DomainError = ValidationFailed(fields)
    else:
        whole = DomainError(first.code, first.message, field=first.field, details=first.details, fields=fields)
    whole.parts = [part for error in ordered for part in error.parts]
    return whole


def raise_all(errors: list[DomainError]) -> None:
    """Raise every refusal gathered so far at once, if there is any."""
    if errors:
        raise combined(errors)


class NotFound(DomainError):
    """Unknown, or owned by another workspace: both look the same from outside."""

    def __init__(self, code: str = "NOT_FOUND", what: str = "Resource") -> None:
        super().__init__(code, _("%(what)s not found.") % {"what": what}, details=f"{what} not found")


def agent_not_found() -> NotFound:
    return NotFound("AGENT_NOT_FOUND", "Agent")


def phone_number_not_found() -> NotFound:
    return NotFound("PHONE_NUMBER_NOT_FOUND", "Phone number")


def trunk_not_found() -> NotFound:
    return NotFound("TRUNK_NOT_FOUND", "Trunk")


class RateLimited(DomainError):
    """Too soon to do this again; `retry_after` (whole seconds) is the API's `Retry-After`."""

    def __init__(self, message: str, *, retry_after: int, details: str | None = None) -> None:
        super().__init__("RATE_LIMITED", message, details=details)
        self.retry_after = retry_after
