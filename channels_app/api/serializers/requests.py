"""Request bodies: shape only. They check that required fields are present and not null; every
other rule (number spelling, SIP hosts, lengths, choices...) is the services', which report every
mistake at once with dotted paths (docs/architecture.md, "Where input is validated")."""

from __future__ import annotations

from rest_framework import serializers

from channels_app.models import Channel, Direction

from .schema_fields import (
    ADDITIONAL_SETTINGS,
    ANY_SPELLING,
    CHANNEL_SETTINGS_PATCH,
    NAME,
    SIP_INPUT,
    TRUNK_CHANNEL,
    UUID,
    WHATSAPP_INPUT,
    enum,
    schema_field,
)


class TrunkCreateSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    agent_uuid = schema_field(UUID)
    channel = schema_field(TRUNK_CHANNEL)
    name = schema_field(NAME, required=False, help_text="Defaults to {channel}_trunk_{digits}.")
    direction = schema_field(
        enum(Direction.values), required=False, allow_null=True, help_text="Call only; default both."
    )
    sip = schema_field(SIP_INPUT, required=False, allow_null=True, help_text="Call only.")
    whatsapp = schema_field(WHATSAPP_INPUT, required=False, allow_null=True, help_text="WhatsApp only.")
    additional_settings = schema_field(ADDITIONAL_SETTINGS, required=False, allow_null=True)


class TrunkUpdateSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(TRUNK_CHANNEL)
    name = schema_field(NAME, required=False, allow_null=True, help_text="null restores the default name.")
    direction = schema_field(enum(Direction.values), required=False, allow_null=True, help_text="Call only.")
    sip = schema_field(SIP_INPUT, required=False, allow_null=True, help_text="Call only; merged key by key.")
    whatsapp = schema_field(
        WHATSAPP_INPUT, required=False, allow_null=True, help_text="WhatsApp only; merged key by key."
    )
    additional_settings = schema_field(ADDITIONAL_SETTINGS, required=False, allow_null=True)


class TrunkAssignSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(TRUNK_CHANNEL)
    agent_uuid = schema_field(UUID)


class TrunkCheckSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(
        {
            **enum([Channel.CALL, Channel.WHATSAPP]),
            "description": "call: the SIP gateways; whatsapp: the number read from the Graph API with the stored "
            "token. sms is refused with UNSUPPORTED_CHANNEL.",
        }
    )


class PhoneNumberUpdateSerializer(serializers.Serializer):
    channel_settings = schema_field(CHANNEL_SETTINGS_PATCH)


class PhoneNumberUuidSerializer(serializers.Serializer):
    phone_number_uuid = schema_field(UUID)


class RoutingExplainSerializer(serializers.Serializer):
    direction = schema_field(enum(["inbound", "outbound"]))
    to = schema_field(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "example": "4155550100",
            "description": "Inbound: the called user as the carrier writes it in the Request-URI, read exactly as the "
            "edge reads it (+14155550100, 14155550100 or 4155550100). Outbound: the destination as the agent "
            "writes it.",
        }
    )
    source_ip = schema_field(
        {"type": "string", "example": "203.0.113.10", "description": "Inbound only: the carrier's signalling address."},
        required=False,
    )
    from_number = schema_field(
        {**ANY_SPELLING, "description": "Outbound only: the number the call is placed from, in any spelling."},
        required=False,
    )


class TrunkTestCallSerializer(serializers.Serializer):
    phone_number = schema_field(ANY_SPELLING)
    channel = schema_field(
        {
            **enum([Channel.CALL]),
            "description": "Only call trunks place calls; whatsapp is refused with UNSUPPORTED_CHANNEL.",
        }
    )
    to = schema_field(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "example": "+14155550142",
            "description": "The number to call: E.164, international digits, or national in the trunk number's "
            "country. Refused like an outbound call (DESTINATION_NOT_ALLOWED): outside the voice destinations, "
            "emergency, premium rate, not a valid number.",
        }
    )
