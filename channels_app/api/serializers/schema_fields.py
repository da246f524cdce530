"""JSON Schema pieces for the OpenAPI document: request fields that pass their value through
untouched (the services check it) and carry a rich schema (patterns, enums, write-only secrets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_app import channel_settings as settings_doc
from channels_app.models import TRUNK_CHANNELS, NumberFormat, Transport
from channels_app.numbers import E164_EXAMPLE, E164_PATTERN
from channels_app.routing.addresses import MAX_ADDRESSES
from channels_app.services.whatsapp import WHATSAPP_KEYS
from channels_app.validators import MAX_TEXT, SIP_KEYS

_schema_field_classes: dict[str, type[serializers.Field]] = {}


@extend_schema_field(OpenApiTypes.ANY)
class RawValue(serializers.Field):
    """Any JSON value, passed on untouched; the service decides whether it is acceptable."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def schema_field(schema: dict[str, Any], **kwargs: Any) -> serializers.Field:
    """A RawValue documented with the given JSON Schema (kept on a class: fields are deep-copied)."""
    name = f"Documented{len(_schema_field_classes)}"
    cls = extend_schema_field(schema)(type(name, (RawValue,), {}))
    _schema_field_classes[name] = cls
    return cls(**kwargs)


def enum(values, *, nullable: bool = False) -> dict[str, Any]:
    values = [str(v) for v in values]
    if nullable:
        return {"type": "string", "enum": [*values, None], "nullable": True}
    return {"type": "string", "enum": values}


UUID = {"type": "string", "format": "uuid"}
E164 = {"type": "string", "pattern": E164_PATTERN, "example": E164_EXAMPLE}
ANY_SPELLING = {
    "type": "string",
    "minLength": 1,
    "example": "+1 (202) 555-0123",
    "description": "The number in international format, in any common spelling (spaces, dashes, dots, "
    "parentheses, with or without +). In a workspace with a default country, a spelling without + is read "
    "as a number of that country ((202) 555-0143 in a US workspace is +12025550143); without one, a "
    "spelling valid only nationally is a VALIDATION_ERROR saying to add the country code. Extensions and "
    "tel: URIs are refused. Returned in E.164.",
}
COUNTRY_CODE = {"type": "string", "pattern": "^[A-Za-z]{2}$", "example": "US"}
DATETIME = {"type": "string", "format": "date-time"}
HOST = {
    "type": "string",
    "maxLength": MAX_TEXT,
    "description": 'A host name or IP address, without scheme, port or path. "" clears it.',
    "example": "sip.example.com",
}


def _settings_section(section: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "enabled": {"type": "boolean"},
        "channel_limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": settings_doc.MAX_CHANNEL_LIMIT,
            "nullable": True,
        },
    }
    if "whitelisted_destinations" in settings_doc.SECTIONS[section]:
        properties["whitelisted_destinations"] = {
            "type": "array",
            "items": COUNTRY_CODE,
            "maxItems": 250,
            "description": "ISO 3166-1 alpha-2 country codes.",
        }
    return {"type": "object", "properties": properties, "additionalProperties": False}


CHANNEL_SETTINGS_PATCH = {
    "type": "object",
    "description": "Only the sections and keys sent change.",
    "properties": {section: _settings_section(section) for section in settings_doc.SECTIONS},
    "additionalProperties": False,
}

INBOUND_ADDRESSES = {
    "type": "array",
    "maxItems": MAX_ADDRESSES,
    "items": {"type": "string", "example": "203.0.113.0/24"},
    "example": ["203.0.113.0/24", "2001:db8:10::/48"],
    "description": "The carrier's signalling sources: IPv4/IPv6 addresses or CIDR blocks, at most 20, at most /8 "
    "wide for IPv4 and /32 for IPv6. Empty: this trunk accepts no inbound call. Stored normalised.",
}
TRANSPORT = {"type": "string", "enum": list(Transport.values), "default": "udp"}
NUMBER_FORMAT = {
    "type": "string",
    "enum": list(NumberFormat.values),
    "default": "e164",
    "description": "How the carrier writes numbers on the wire: e164 (+14155550100), e164_no_plus (14155550100), "
    "national (4155550100 in the number's own country). The edge writes this format; it reads all three.",
}

SIP_INPUT = {
    "type": "object",
    "description": "SIP settings of a call trunk. Every key is optional; on update only the keys sent change "
    'and "" clears one (inbound_addresses to [], transport and number_format to their default). Gateways, port, '
    "username and password are stored encrypted; username and password are write-only. inbound_addresses, "
    "transport and number_format are how calls are routed (docs/routing.md) and are stored plain.",
    "properties": {
        "gateway": HOST,
        "secondary_gateway": HOST,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5060},
        "username": {"type": "string", "maxLength": MAX_TEXT, "writeOnly": True},
        "password": {"type": "string", "maxLength": MAX_TEXT, "writeOnly": True, "format": "password"},
        "inbound_addresses": INBOUND_ADDRESSES,
        "transport": TRANSPORT,
        "number_format": NUMBER_FORMAT,
    },
    "additionalProperties": False,
}
assert set(SIP_INPUT["properties"]) == set(SIP_KEYS)

WHATSAPP_INPUT = {
    "type": "object",
    "description": "The WhatsApp Cloud API line of a WhatsApp trunk (from Meta's WhatsApp Manager / App "
    'Dashboard). Every key is optional; on update only the keys sent change and "" clears one. The access '
    "token and app secret are stored encrypted and are write-only. The phone number id is unique across the "
    "installation (409 WHATSAPP_ID_IN_USE).",
    "properties": {
        "phone_number_id": {"type": "string", "pattern": "^[0-9]{1,32}$", "example": "106540352242922"},
        "business_account_id": {"type": "string", "pattern": "^[0-9]{1,32}$", "example": "102290129340398"},
        "access_token": {"type": "string", "maxLength": 1024, "writeOnly": True, "format": "password"},
        "app_secret": {"type": "string", "maxLength": 255, "writeOnly": True, "format": "password"},
    },
    "additionalProperties": False,
}
assert set(WHATSAPP_INPUT["properties"]) == set(WHATSAPP_KEYS)

ADDITIONAL_SETTINGS = {
    "type": "object",
    "additionalProperties": True,
    "description": "Free JSON object of at most 16 KiB, replaced whole; {} clears it.",
}
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "example": "call_trunk_12025550123"}
TRUNK_CHANNEL = {
    **enum(TRUNK_CHANNELS),
    "description": "Trunks carry call or whatsapp; sms is refused with UNSUPPORTED_CHANNEL "
    "(bind SMS with POST /api/v1/agents/{agent_uuid}/channels/sms).",
}
