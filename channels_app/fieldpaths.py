"""Where each input lives at each door: the one table of field names.

The services validate input and report problems by the API's dotted path (`sip.gateway`,
`channel_settings.voice.channel_limit`). The API shows that path as it is; the self-serve and
admin forms show the message next to their own field (`sip_gateway`); a CSV report names its
column (`sip_gateway`); the audit trail names model fields by their path. Every translation
between these names is here, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from channels_app.errors import DomainError


@dataclass(frozen=True)
class FieldPath:
    """One input, named at each door."""

    path: str  # the API's dotted path, as the services report it
    form_field: str  # the field of the self-serve and admin forms
    csv_column: str | None  # the column of the CSV import, if it has one
    model_field: str | None  # the model field that stores it, if one does
    label: str | Promise


FIELDS: tuple[FieldPath, ...] = (
    # A trunk's number as the caller sends it; stored as the number's `number`.
    FieldPath("phone_number", "phone_number", "phone_number", None, _("Number")),
    FieldPath("number", "number", None, "number", _("Number")),
    FieldPath("channel", "channel", "channel", "channel", _("Channel")),
    FieldPath("agent_uuid", "agent", "agent_uuid", "agent", _("Agent")),
    FieldPath("name", "name", "name", "name", _("Name")),
    FieldPath("direction", "direction", "direction", "direction", _("Direction")),
    FieldPath("sip.gateway", "sip_gateway", "sip_gateway", "sip_gateway", _("SIP gateway")),
    FieldPath("sip.port", "sip_port", "sip_port", "sip_port", _("SIP port")),
    FieldPath(
        "sip.secondary_gateway",
        "sip_secondary_gateway",
        "sip_secondary_gateway",
        "sip_secondary_gateway",
        _("Secondary gateway"),
    ),
    FieldPath("sip.username", "sip_username", "sip_username", "sip_username", _("SIP username")),
    FieldPath("sip.password", "sip_password", "sip_password", "sip_password", _("SIP password")),
    FieldPath(
        "whatsapp.phone_number_id",
        "wa_phone_number_id",
        "wa_phone_number_id",
        "wa_phone_number_id",
        _("WhatsApp phone number id"),
    ),
    FieldPath(
        "whatsapp.business_account_id",
        "wa_business_account_id",
        "wa_business_account_id",
        "wa_business_account_id",
        _("WhatsApp Business account id"),
    ),
    FieldPath("whatsapp.access_token", "wa_access_token", "wa_access_token", "wa_access_token", _("Access token")),
    FieldPath("whatsapp.app_secret", "wa_app_secret", "wa_app_secret", "wa_app_secret", _("App secret")),
    FieldPath(
        "sip.inbound_addresses",
        "sip_inbound_addresses",
        "sip_inbound_addresses",
        "sip_inbound_addresses",
        _("Inbound addresses"),
    ),
    FieldPath("sip.transport", "sip_transport", "sip_transport", "sip_transport", _("Transport")),
    FieldPath("sip.number_format", "sip_number_format", "sip_number_format", "sip_number_format", _("Number format")),
    FieldPath(
        "additional_settings",
        "additional_settings",
        "additional_settings",
        "additional_settings",
        _("Additional settings"),
    ),
    FieldPath("channel_settings", "channel_settings", None, "channel_settings", _("Channel settings")),
    FieldPath("source", "source", None, "source", _("Source")),
    FieldPath("location", "location", None, "location", _("Location")),
    FieldPath("country_code", "country_code", None, "country_code", _("Country")),
    FieldPath("type", "type", None, "type", _("Type")),
    FieldPath("scope", "scope", None, "scope", _("Access")),
    FieldPath("expires_at", "expires_at", None, "expires_at", _("Expires")),
    FieldPath("default_region", "default_region", None, "default_region", _("Default country")),
)

BY_PATH = {field.path: field for field in FIELDS}
BY_MODEL_FIELD = {field.model_field: field for field in FIELDS if field.model_field}
CSV_COLUMNS = {field.csv_column: field for field in FIELDS if field.csv_column}

# Paths that are about the input as a whole: their messages go on top of a form without a prefix.
WHOLE_INPUT = {None, "", "non_field_errors", "sip", "whatsapp"}
_CHANNEL_SETTINGS = "channel_settings."


def form_field(path: str) -> str:
    """The form field showing `path`: `sip.port` -> `sip_port`, `channel_settings.voice.enabled`
    -> `voice_enabled` (the admin's settings form), anything unknown as it is."""
    if path in BY_PATH:
        return BY_PATH[path].form_field
    return path.removeprefix(_CHANNEL_SETTINGS).replace(".", "_")


def csv_column(path: str | None) -> str | None:
    """The CSV column of `path`, or None when the file has no column for it."""
    field = BY_PATH.get(path or "")
    return field.csv_column if field else None


def path_of_model_field(name: str) -> str:
    """The API path of a model field (`sip_gateway` -> `sip.gateway`; Django's `__all__`, an
    error about the object as a whole, -> `non_field_errors`)."""
    if name == "__all__":
        return "non_field_errors"
    field = BY_MODEL_FIELD.get(name)
    return field.path if field else name


def label(path: str) -> str:
    """How people read `path` (`sip.gateway` -> "SIP gateway")."""
    field = BY_PATH.get(path)
    return str(field.label) if field else path.replace("_", " ").replace(".", " ").capitalize()


def add_domain_error(
    form: forms.BaseForm, exc: DomainError, *, aliases: dict[str, str] | None = None, only_new: bool = False
) -> None:
    """Show a service's refusal on a form (self-serve and admin): each message next to the field
    it names, the rest on top of the form. A message about a field the form does not show says
    which field it is about. `aliases` maps a path to a form field the table does not know.
    `only_new` leaves out messages about fields the form refused already (the service saw
    them as not given, which says nothing new)."""
    refused = set(form.errors) if only_new else set()
    for path, message in exc.messages():
        target = (aliases or {}).get(path or "") or (form_field(path) if path else None)
        if target in refused:
            continue
        if target not in form.fields:
            if path not in WHOLE_INPUT:
                message = f"{label(path)}: {message}"
            target = None
        form.add_error(target, ValidationError(message, code=exc.code))


def add_dry_run_errors(form: forms.BaseForm, write: Callable[[], Any], **options: Any) -> DomainError | None:
    """`all-at-once` on a form whose own fields refused some input: run the service's `write`
    on the rest as a dry run (everything undone) and show what else it refuses, so every
    mistake of a submit shows after one submit, with the same messages as a real write.
    Returns the refusal, if any (a page may link the number a conflict names)."""
    from channels_app.services.base import rolled_back  # services import this module

    try:
        with rolled_back():
            write()
    except DomainError as exc:
        add_domain_error(form, exc, only_new=True, **options)
        return exc
    return None
