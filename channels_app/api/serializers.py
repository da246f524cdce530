"""Shapes of the API, for requests and for the OpenAPI document. No policy lives here.

Request serializers only check that required fields are present and not null; every other rule
(number spelling, SIP hosts, lengths, choices...) is checked by the services, which report all
mistakes at once with dotted paths. Their fields carry the rich JSON Schema (patterns, enums,
write-only secrets) for the OpenAPI document.

Response serializers document what `selectors.snapshot()`, `selectors.phone_number_repr()` and
friends return; the views never run them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_app import channel_settings as settings_doc
from channels_app.audit import Door
from channels_app.errors import ERROR_STATUS
from channels_app.models import (
    TRUNK_CHANNELS,
    AgentStatus,
    Channel,
    ComplianceStatus,
    Direction,
    NumberStatus,
    NumberType,
    Source,
)
from channels_app.numbers import E164_EXAMPLE, E164_PATTERN
from channels_app.sip import HealthStatus
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
    "parentheses, with or without +). Returned in E.164.",
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

SIP_INPUT = {
    "type": "object",
    "description": "SIP settings of a call trunk. Every key is optional; on update only the keys sent change "
    'and "" clears one. All are stored encrypted; username and password are write-only.',
    "properties": {
        "gateway": HOST,
        "secondary_gateway": HOST,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5060},
        "username": {"type": "string", "maxLength": MAX_TEXT, "writeOnly": True},
        "password": {"type": "string", "maxLength": MAX_TEXT, "writeOnly": True, "format": "password"},
    },
    "additionalProperties": False,
}
assert set(SIP_INPUT["properties"]) == set(SIP_KEYS)

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


# --- requests -----------------------------------------------------------------------------------


class TrunkCreateSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    agent_uuid = schema_field(UUID)
    channel = schema_field(TRUNK_CHANNEL)
    name = schema_field(NAME, required=False, help_text="Defaults to {channel}_trunk_{digits}.")
    direction = schema_field(
        enum(Direction.values), required=False, allow_null=True, help_text="Call only; default both."
    )
    sip = schema_field(SIP_INPUT, required=False, allow_null=True, help_text="Call only.")
    additional_settings = schema_field(ADDITIONAL_SETTINGS, required=False, allow_null=True)


class TrunkUpdateSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(TRUNK_CHANNEL)
    name = schema_field(NAME, required=False, allow_null=True, help_text="null restores the default name.")
    direction = schema_field(enum(Direction.values), required=False, allow_null=True, help_text="Call only.")
    sip = schema_field(SIP_INPUT, required=False, allow_null=True, help_text="Call only; merged key by key.")
    additional_settings = schema_field(ADDITIONAL_SETTINGS, required=False, allow_null=True)


class TrunkAssignSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(TRUNK_CHANNEL)
    agent_uuid = schema_field(UUID)


class TrunkCheckSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(
        {
            **enum([Channel.CALL]),
            "description": "Only call trunks have a SIP gateway to check; whatsapp and sms are refused with "
            "UNSUPPORTED_CHANNEL.",
        }
    )


class PhoneNumberUpdateSerializer(serializers.Serializer):
    channel_settings = schema_field(CHANNEL_SETTINGS_PATCH)


class PhoneNumberUuidSerializer(serializers.Serializer):
    phone_number_uuid = schema_field(UUID)


# --- responses ----------------------------------------------------------------------------------


def _nullable_string(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


class AgentBindingSerializer(serializers.Serializer):
    bound = serializers.BooleanField()
    agent_uuid = schema_field({**UUID, "nullable": True})
    agent_name = _nullable_string()


class SipOutputSerializer(serializers.Serializer):
    gateway = _nullable_string()
    port = serializers.IntegerField(min_value=1, max_value=65535)
    secondary_gateway = _nullable_string()
    has_username = serializers.BooleanField()
    has_password = serializers.BooleanField()
    credentials_updated_at = schema_field({**DATETIME, "nullable": True})


class RegisterAnswerSerializer(serializers.Serializer):
    status_line = _nullable_string(help_text="The final answer to REGISTER; null when none came.")
    rtt_ms = serializers.FloatField(allow_null=True, min_value=0)
    attempts = serializers.IntegerField(min_value=0, help_text="REGISTER transmissions, digest answers included.")


class GatewayHealthSerializer(serializers.Serializer):
    role = schema_field(enum(["gateway", "secondary_gateway"]))
    host = serializers.CharField()
    port = serializers.IntegerField(min_value=1, max_value=65535)
    address = _nullable_string(help_text="The address the name resolved to; null when it did not resolve.")
    status = schema_field(enum(HealthStatus.values))
    status_line = _nullable_string(help_text="The final answer to OPTIONS; null when none came.")
    rtt_ms = serializers.FloatField(allow_null=True, min_value=0, help_text="OPTIONS round trip in milliseconds.")
    register = RegisterAnswerSerializer(allow_null=True, help_text="null when no REGISTER was sent.")
    message = serializers.CharField(help_text="What the result means, in plain language.")


class TrunkHealthSerializer(serializers.Serializer):
    status = schema_field(
        {
            **enum(HealthStatus.values),
            "description": "The least advanced gateway's status: dns_failed, refused, unreachable, auth_failed, "
            "reachable, ok.",
        }
    )
    checked_at = serializers.DateTimeField()
    gateways = GatewayHealthSerializer(many=True)


class TrunkSerializer(serializers.Serializer):
    name = serializers.CharField()
    direction = schema_field(enum(Direction.values, nullable=True), help_text="null on whatsapp.")
    sip = SipOutputSerializer(allow_null=True, help_text="null on whatsapp.")
    health = TrunkHealthSerializer(
        allow_null=True,
        help_text="The last trunk check of a call trunk (POST /api/v1/phone-numbers/trunks/check); null until the "
        "first check, after a change of its SIP settings, and always on whatsapp.",
    )
    additional_settings = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ChannelSettingsSectionSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    channel_limit = serializers.IntegerField(allow_null=True, min_value=1)
    whitelisted_destinations = serializers.ListField(child=serializers.CharField())


class CallChannelSerializer(ChannelSettingsSectionSerializer):
    capable = serializers.BooleanField()
    bound = serializers.BooleanField()
    agent_uuid = schema_field({**UUID, "nullable": True})
    agent_name = _nullable_string()
    trunk = TrunkSerializer(allow_null=True)


class SmsChannelSerializer(ChannelSettingsSectionSerializer):
    capable = serializers.BooleanField()
    bound = serializers.BooleanField()
    agent_uuid = schema_field({**UUID, "nullable": True})
    agent_name = _nullable_string()


class WhatsappChannelSerializer(AgentBindingSerializer):
    trunk = TrunkSerializer(allow_null=True)


class InboundSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    channel_limit = serializers.IntegerField(allow_null=True, min_value=1)


class SnapshotChannelsSerializer(serializers.Serializer):
    call = CallChannelSerializer()
    sms = SmsChannelSerializer()
    whatsapp = WhatsappChannelSerializer()
    inbound = InboundSettingsSerializer()


class SnapshotSerializer(serializers.Serializer):
    """What the carrier supports, what is enabled, which agent is wired up."""

    phone_number_uuid = serializers.UUIDField()
    number = schema_field(E164)
    is_external = serializers.BooleanField()
    source = schema_field(enum(Source.values))
    channels = SnapshotChannelsSerializer()


class ComplianceSerializer(serializers.Serializer):
    status = schema_field(enum(ComplianceStatus.values))
    requirements = serializers.ListField(child=RawValue())


class CapabilitiesSerializer(serializers.Serializer):
    voice = serializers.BooleanField()
    sms = serializers.BooleanField()
    mms = serializers.BooleanField()
    fax = serializers.BooleanField()
    emergency = serializers.BooleanField()
    local_calling = serializers.BooleanField()


class ChannelSettingsSerializer(serializers.Serializer):
    voice = ChannelSettingsSectionSerializer()
    sms = ChannelSettingsSectionSerializer()
    inbound = InboundSettingsSerializer()


class BillingSerializer(serializers.Serializer):
    monthly_fee = serializers.FloatField(min_value=0)
    currency = serializers.CharField()


class BindingsSerializer(serializers.Serializer):
    call = AgentBindingSerializer()
    sms = AgentBindingSerializer()
    whatsapp = AgentBindingSerializer()


class PhoneNumberSerializer(serializers.Serializer):
    phone_number_uuid = serializers.UUIDField()
    number = schema_field(E164)
    country_code = serializers.CharField(allow_blank=True)
    location = serializers.CharField(allow_blank=True)
    type = schema_field(enum(NumberType.values))
    is_external = serializers.BooleanField()
    source = schema_field(enum(Source.values))
    status = schema_field(enum(NumberStatus.values))
    compliance = ComplianceSerializer()
    capabilities = CapabilitiesSerializer()
    channel_settings = ChannelSettingsSerializer()
    billing = BillingSerializer()
    bindings = BindingsSerializer()
    purchased_at = schema_field({**DATETIME, "nullable": True})
    updated_at = serializers.DateTimeField()


class AgentSerializer(serializers.Serializer):
    agent_uuid = serializers.UUIDField()
    name = serializers.CharField()
    status = schema_field(enum(AgentStatus.values))
    created_at = serializers.DateTimeField()


class EventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = _nullable_string()
    door = schema_field(enum(Door.values, nullable=True))
    action = serializers.CharField()
    channel = schema_field(enum(Channel.values, nullable=True))
    changes = serializers.DictField(help_text='What changed; secrets appear only as "changed".')


class PaginationSerializer(serializers.Serializer):
    current_page = serializers.IntegerField(min_value=1)
    per_page = serializers.IntegerField(min_value=1, max_value=100)
    total = serializers.IntegerField(min_value=0)
    last_page = serializers.IntegerField(min_value=1)


class HealthSerializer(serializers.Serializer):
    database = serializers.CharField()
    encryption = serializers.CharField()


class AgentWrapperSerializer(serializers.Serializer):
    agent = AgentSerializer()


# --- envelopes ---------------------------------------------------------------------------------

SUCCESS_TRUE = {"type": "boolean", "enum": [True]}


def envelope(name: str, data: serializers.Field) -> type[serializers.Serializer]:
    """`{"success": true, "message": "...", "data": <data>}` as a named component."""
    attrs = {
        "success": schema_field(SUCCESS_TRUE),
        "message": serializers.CharField(),
        "data": data,
        "__module__": __name__,
    }
    return type(f"{name}Envelope", (serializers.Serializer,), attrs)


def page_of(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    attrs = {"items": item(many=True), "pagination": PaginationSerializer(), "__module__": __name__}
    return type(f"{name}Page", (serializers.Serializer,), attrs)


PhoneNumberPageEnvelope = envelope("PhoneNumberPage", page_of("PhoneNumber", PhoneNumberSerializer)())
AgentPageEnvelope = envelope("AgentPage", page_of("Agent", AgentSerializer)())
EventPageEnvelope = envelope("EventPage", page_of("Event", EventSerializer)())
PhoneNumberEnvelope = envelope("PhoneNumber", PhoneNumberSerializer())
SnapshotEnvelope = envelope("Snapshot", SnapshotSerializer())
NullableSnapshotEnvelope = envelope(
    "SnapshotOrNull",
    SnapshotSerializer(allow_null=True, help_text="null when the number left the inventory with its last trunk."),
)
AgentEnvelope = envelope("ProvisionedAgent", AgentWrapperSerializer())
ReleaseEnvelope = envelope("Released", schema_field({"type": "object", "nullable": True, "enum": [None]}))
HealthEnvelope = envelope("Health", HealthSerializer())


class ErrorDetailSerializer(serializers.Serializer):
    code = schema_field(
        {**enum(ERROR_STATUS), "description": "Stable error code; see the status table in the API docs."}
    )
    details = serializers.CharField()
    field = _nullable_string(help_text="The offending field as a dotted path, or null.")
    fields = schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Validation errors only: every offending field (dotted path) with its messages.",
        },
        required=False,
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    success = schema_field({"type": "boolean", "enum": [False]})
    message = serializers.CharField()
    error = ErrorDetailSerializer()
