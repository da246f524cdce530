"""Field-level checks of trunk input that the model alone cannot express.

Each function returns the cleaned value or appends messages to `errors` under a dotted path, so a
request with several mistakes gets them all back at once.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from django.utils.translation import gettext as _

from channels_app import inputs
from channels_app.models import Direction, NumberFormat, Transport
from channels_app.routing import addresses

MAX_TEXT = 255
MAX_ADDITIONAL_SETTINGS_BYTES = 16 * 1024
CREDENTIAL_KEYS = ("gateway", "secondary_gateway", "port", "username", "password")
# Routing of the call (docs/routing.md): plain values, not secrets.
ROUTING_KEYS = ("inbound_addresses", "transport", "number_format")
SIP_KEYS = (*CREDENTIAL_KEYS, *ROUTING_KEYS)
# What "" or null stores for a key (the others: NULL, which reads as the default).
CLEARED: dict[str, Any] = {"inbound_addresses": []}
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def clean_text(value: Any, field: str, errors: Errors, *, allow_blank: bool = False) -> str | None:
    if not isinstance(value, str):
        _add(errors, field, _("Must be a string."))
        return None
    if len(value) > MAX_TEXT:
        _add(errors, field, _("At most %(n)d characters.") % {"n": MAX_TEXT})
        return None
    problem = inputs.text_problem(value)
    if problem:
        _add(errors, field, problem)
        return None
    if not allow_blank and not value.strip():
        _add(errors, field, _("Must not be blank."))
        return None
    return value


def clean_name(value: Any, errors: Errors) -> str | None:
    cleaned = clean_text(value, "name", errors)
    return cleaned.strip() if cleaned is not None else None


def clean_direction(value: Any, errors: Errors) -> str | None:
    if value not in Direction.values:
        _add(errors, "direction", _("Must be one of: %(choices)s.") % {"choices": ", ".join(Direction.values)})
        return None
    return value


def clean_host(value: str, field: str, errors: Errors) -> str | None:
    """A host name or an IP literal: no scheme, no port, no path."""
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    candidate = host[:-1] if host.endswith(".") else host
    labels = candidate.split(".")
    if len(candidate) > MAX_TEXT or not candidate or not all(_HOST_LABEL.match(label) for label in labels):
        _add(
            errors,
            field,
            _("Enter a host name or IP address only, without scheme, port or path (e.g. sip.example.com)."),
        )
        return None
    return candidate.lower()


def clean_port(value: Any, errors: Errors) -> str | None:
    """1-65535, as a JSON number or as ASCII digits (a form's or a CSV cell's text)."""
    try:
        return str(inputs.whole_number(value, minimum=1, maximum=65535))
    except inputs.InputError as exc:
        _add(errors, "sip.port", exc.message)
        return None


def clean_choice(value: Any, field: str, choices: list[str], errors: Errors) -> str | None:
    if value not in choices:
        _add(errors, field, _("Must be one of: %(choices)s.") % {"choices": ", ".join(choices)})
        return None
    return value


def clean_inbound_addresses(value: Any, errors: Errors) -> list[str] | None:
    """`inbound-addresses`: at most 20 IP addresses or CIDR blocks, each at most /8 (IPv4) or /32
    (IPv6) wide, normalised; every refused entry gets its own message."""
    cleaned, problems = addresses.clean_list(value)
    for problem in problems:
        _add(errors, "sip.inbound_addresses", problem)
    return None if problems else cleaned


def clean_sip(value: Any, errors: Errors) -> dict[str, Any]:
    """Validate a `sip` object. Returns {model_field: value or None (clear)} for the keys sent.

    Clearing `inbound_addresses` stores an empty list (no inbound call accepted); a cleared
    `transport` or `number_format` reads as its default (udp, e164), as a cleared port reads 5060."""
    if not isinstance(value, dict):
        _add(errors, "sip", _("Must be a JSON object."))
        return {}
    cleaned: dict[str, Any] = {}
    for key, raw in value.items():
        field = f"sip.{key}"
        if key not in SIP_KEYS:
            _add(errors, field, _("Unknown key. Expected one of: %(keys)s.") % {"keys": ", ".join(SIP_KEYS)})
            continue
        if raw is None or raw == "":
            cleaned[f"sip_{key}"] = CLEARED.get(key)  # "" clears the key
            continue
        if key == "inbound_addresses":
            result = clean_inbound_addresses(raw, errors)
        elif key == "transport":
            result = clean_choice(raw, field, Transport.values, errors)
        elif key == "number_format":
            result = clean_choice(raw, field, NumberFormat.values, errors)
        elif key == "port":
            result = clean_port(raw, errors)
        else:
            result = clean_text(raw, field, errors)
            if result is not None and key in ("gateway", "secondary_gateway"):
                result = clean_host(result, field, errors)
        if result is not None:
            cleaned[f"sip_{key}"] = result
    return cleaned


def clean_additional_settings(value: Any, errors: Errors) -> dict | None:
    if not isinstance(value, dict):
        _add(errors, "additional_settings", _('Must be a JSON object, e.g. {"region": "eu"}.'))
        return None
    # A value handed over already parsed (a service called directly) is bounded like parsed text,
    # before json.dumps recurses into it.
    if inputs.value_depth(value) > inputs.MAX_JSON_DEPTH:
        _add(
            errors,
            "additional_settings",
            _("JSON is nested more than %(n)d levels deep.") % {"n": inputs.MAX_JSON_DEPTH},
        )
        return None
    problem = inputs.storable_problem(value)
    if problem:
        _add(errors, "additional_settings", problem)
        return None
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError):
        _add(errors, "additional_settings", _("Must be plain JSON."))
        return None
    if "\\u0000" in json.dumps(value):
        _add(errors, "additional_settings", _("Must not contain NUL characters."))
        return None
    if size > MAX_ADDITIONAL_SETTINGS_BYTES:
        _add(errors, "additional_settings", _("At most 16 KiB of JSON."))
        return None
    return value
