"""The envelopes of the OpenAPI document: every answer is `{success, message, data}` or
`{success: false, message, error}` (channels_app/api/envelope.py builds them)."""

from __future__ import annotations

from rest_framework import serializers

from channels_app.errors import ERROR_STATUS

from .responses import (
    AgentSerializer,
    AgentWrapperSerializer,
    EventSerializer,
    HealthSerializer,
    PaginationSerializer,
    PhoneNumberSerializer,
    RoutingDecisionSerializer,
    SnapshotSerializer,
    TestCallSerializer,
)
from .schema_fields import enum, schema_field

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
RoutingDecisionEnvelope = envelope("RoutingDecision", RoutingDecisionSerializer())
TestCallEnvelope = envelope("TestCall", TestCallSerializer())


class ErrorDetailSerializer(serializers.Serializer):
    code = schema_field(
        {**enum(ERROR_STATUS), "description": "Stable error code; see the status table in the API docs."}
    )
    details = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="The offending field as a dotted path, or null.")
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
