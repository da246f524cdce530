"""What the API answers, rendered from model instances: the Snapshot and PhoneNumber shapes of
the contract, agents, events. Every answer runs through these serializers, and the OpenAPI
document describes them.

A number is rendered as the selectors read it: with its bindings and their agents
(`PhoneNumber.binding(channel)`), and each binding with `has_username`/`has_password` annotated,
so no username or password is ever loaded, let alone shown.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from channels_app.audit import Door
from channels_app.models import (
    AgentStatus,
    Channel,
    ChannelBinding,
    ComplianceStatus,
    Direction,
    NumberFormat,
    NumberStatus,
    NumberType,
    PhoneNumber,
    Source,
    Transport,
)
from channels_app.routing.decision import INBOUND_CHECKS, OUTBOUND_CHECKS, REASONS
from channels_app.sip import HealthStatus
from channels_app.sip.call import OUTCOMES as CALL_OUTCOMES
from channels_app.whatsapp.status import WhatsappHealth

from .schema_fields import E164, UUID, RawValue, enum, schema_field


def _nullable_string(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


# --- a trunk -------------------------------------------------------------------------------------


class SipOutputSerializer(serializers.Serializer):
    """A call trunk's SIP connection: never the username or password, only whether they are set."""

    gateway = _nullable_string(source="sip_gateway")
    port = serializers.IntegerField(source="effective_port", min_value=1, max_value=65535)
    secondary_gateway = _nullable_string(source="sip_secondary_gateway")
    has_username = serializers.BooleanField()
    has_password = serializers.BooleanField()
    credentials_updated_at = serializers.DateTimeField(allow_null=True)
    inbound_addresses = serializers.ListField(
        child=serializers.CharField(),
        source="sip_inbound_addresses",
        max_length=20,
        help_text="The carrier's signalling sources; empty: this trunk accepts no inbound call.",
    )
    transport = schema_field(enum(Transport.values), source="effective_transport")
    number_format = schema_field(enum(NumberFormat.values), source="effective_number_format")


class RegisterAnswerSerializer(serializers.Serializer):
    status_line = _nullable_string(help_text="The final answer to REGISTER; null when none came.")
    rtt_ms = serializers.FloatField(allow_null=True, min_value=0)
    attempts = serializers.IntegerField(min_value=0, help_text="REGISTER transmissions, digest answers included.")


class GatewayHealthSerializer(serializers.Serializer):
    """One gateway's entry of the trunk's last check result."""

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
    """The last trunk check of a call trunk (docs/sip-check.md)."""

    status = schema_field(
        {
            **enum(HealthStatus.values),
            "description": "The least advanced gateway's status: dns_failed, refused, unreachable, auth_failed, "
            "reachable, ok.",
        },
        source="health_status",
    )
    checked_at = serializers.DateTimeField(source="health_checked_at")
    gateways = GatewayHealthSerializer(many=True, source="health_details.gateways")


class WhatsappHealthSerializer(serializers.Serializer):
    """The last check of a WhatsApp trunk: its phone number read from the Graph API (docs/whatsapp.md)."""

    status = schema_field(
        {
            **enum(WhatsappHealth.values),
            "description": "ok, auth_failed (token refused), number_mismatch (the Graph number is not this number), "
            "unreachable.",
        },
        source="health_status",
    )
    checked_at = serializers.DateTimeField(source="health_checked_at")
    message = serializers.CharField(source="health_details.message", help_text="What the result means, in plain words.")
    display_phone_number = _nullable_string(source="health_details.display_phone_number")
    verified_name = _nullable_string(source="health_details.verified_name")
    quality_rating = _nullable_string(source="health_details.quality_rating", help_text="GREEN, YELLOW, RED...")


class WhatsappOutputSerializer(serializers.Serializer):
    """A WhatsApp trunk's Cloud API line: never the access token or app secret, only whether they
    are set; the webhook address and verify token to paste into Meta's dashboard."""

    phone_number_id = _nullable_string(source="wa_phone_number_id")
    business_account_id = _nullable_string(source="wa_business_account_id")
    has_access_token = serializers.BooleanField()
    has_app_secret = serializers.BooleanField()
    credentials_updated_at = serializers.DateTimeField(allow_null=True)
    webhook_url = serializers.URLField(help_text="Meta's callback URL for this trunk.")
    verify_token = serializers.CharField(help_text="Meta's verify token for this trunk's webhook.")


TRUNK_HEALTH = PolymorphicProxySerializer(
    component_name="TrunkCheckResult",
    serializers=[TrunkHealthSerializer, WhatsappHealthSerializer],
    resource_type_field_name=None,
    allow_null=True,
)


class TrunkSerializer(serializers.Serializer):
    """A trunk row: its name and settings; `direction` and `sip` on call trunks only, `whatsapp`
    on WhatsApp trunks only; `health` of either kind."""

    name = serializers.CharField()
    direction = schema_field(enum(Direction.values, nullable=True), help_text="null on whatsapp.")
    sip = serializers.SerializerMethodField(help_text="null on whatsapp.")
    whatsapp = serializers.SerializerMethodField(help_text="null on call.")
    health = serializers.SerializerMethodField(
        help_text="The last check (POST /api/v1/phone-numbers/trunks/check): a call trunk's gateways over SIP, a "
        "WhatsApp trunk's number read from the Graph API. null until the first check and after a change of what "
        "it checked (SIP settings; the WhatsApp phone number id or token)."
    )
    additional_settings = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(SipOutputSerializer(allow_null=True))
    def get_sip(self, binding: ChannelBinding) -> dict[str, Any] | None:
        return SipOutputSerializer(binding).data if binding.channel == Channel.CALL else None

    @extend_schema_field(WhatsappOutputSerializer(allow_null=True))
    def get_whatsapp(self, binding: ChannelBinding) -> dict[str, Any] | None:
        return WhatsappOutputSerializer(binding).data if binding.channel == Channel.WHATSAPP else None

    @extend_schema_field(TRUNK_HEALTH)
    def get_health(self, binding: ChannelBinding) -> dict[str, Any] | None:
        if binding.health_status is None:
            return None
        if binding.channel == Channel.WHATSAPP:
            return WhatsappHealthSerializer(binding).data
        return TrunkHealthSerializer(binding).data


# --- the channels of a number --------------------------------------------------------------------


class AgentBindingSerializer(serializers.Serializer):
    """Which agent answers one channel of a number (`bound` false and nulls when none does).

    Renders a number read with its bindings; the channel is the `channel` argument or attribute.
    """

    channel = ""

    bound = serializers.SerializerMethodField()
    agent_uuid = serializers.SerializerMethodField()
    agent_name = serializers.SerializerMethodField()

    def __init__(self, *args: Any, channel: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel or self.channel

    def get_bound(self, number: PhoneNumber) -> bool:
        return number.binding(self.channel) is not None

    @extend_schema_field({**UUID, "nullable": True})
    def get_agent_uuid(self, number: PhoneNumber) -> str | None:
        binding = number.binding(self.channel)
        return str(binding.agent.agent_uuid) if binding is not None else None

    def get_agent_name(self, number: PhoneNumber) -> str | None:
        binding = number.binding(self.channel)
        return binding.agent.name if binding is not None else None


class TrunkChannelMixin(serializers.Serializer):
    """The channel's trunk row, or null when the channel has none (purchased bindings, unbound)."""

    trunk = serializers.SerializerMethodField()

    @extend_schema_field(TrunkSerializer(allow_null=True))
    def get_trunk(self, number: PhoneNumber) -> dict[str, Any] | None:
        binding = number.binding(self.channel)
        return TrunkSerializer(binding).data if binding is not None and binding.is_trunk else None


class CallChannelSerializer(TrunkChannelMixin, AgentBindingSerializer):
    channel = Channel.CALL
    capable = serializers.BooleanField(source="voice_capable")
    enabled = serializers.BooleanField(source="effective_settings.voice.enabled")
    channel_limit = serializers.IntegerField(
        source="effective_settings.voice.channel_limit", allow_null=True, min_value=1
    )
    whitelisted_destinations = serializers.ListField(
        child=serializers.CharField(), source="effective_settings.voice.whitelisted_destinations"
    )


class SmsChannelSerializer(AgentBindingSerializer):
    channel = Channel.SMS
    capable = serializers.BooleanField(source="sms_capable")
    enabled = serializers.BooleanField(source="effective_settings.sms.enabled")
    channel_limit = serializers.IntegerField(
        source="effective_settings.sms.channel_limit", allow_null=True, min_value=1
    )
    whitelisted_destinations = serializers.ListField(
        child=serializers.CharField(), source="effective_settings.sms.whitelisted_destinations"
    )


class WhatsappChannelSerializer(TrunkChannelMixin, AgentBindingSerializer):
    channel = Channel.WHATSAPP


class ChannelSettingsSectionSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    channel_limit = serializers.IntegerField(allow_null=True, min_value=1)
    whitelisted_destinations = serializers.ListField(child=serializers.CharField())


class InboundSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    channel_limit = serializers.IntegerField(allow_null=True, min_value=1)


class SnapshotChannelsSerializer(serializers.Serializer):
    call = CallChannelSerializer(source="*")
    sms = SmsChannelSerializer(source="*")
    whatsapp = WhatsappChannelSerializer(source="*")
    inbound = InboundSettingsSerializer(source="effective_settings.inbound")


class SnapshotSerializer(serializers.Serializer):
    """What the carrier supports, what is enabled, which agent is wired up."""

    phone_number_uuid = serializers.UUIDField()
    number = schema_field(E164, source="e164")
    is_external = serializers.BooleanField()
    # The example agrees with is_external (true in examples): an external number.
    source = schema_field({**enum(Source.values), "example": Source.EXTERNAL.value})
    channels = SnapshotChannelsSerializer(source="*")


# --- list items ----------------------------------------------------------------------------------


class ComplianceSerializer(serializers.Serializer):
    status = schema_field(enum(ComplianceStatus.values), source="compliance_status")
    requirements = serializers.ListField(child=RawValue(), source="compliance_requirements")


class CapabilitiesSerializer(serializers.Serializer):
    voice = serializers.BooleanField(source="voice_capable")
    sms = serializers.BooleanField(source="sms_capable")
    mms = serializers.BooleanField(source="mms_capable")
    fax = serializers.BooleanField(source="fax_capable")
    emergency = serializers.BooleanField(source="emergency_capable")
    local_calling = serializers.BooleanField(source="local_calling_capable")


class ChannelSettingsSerializer(serializers.Serializer):
    voice = ChannelSettingsSectionSerializer()
    sms = ChannelSettingsSectionSerializer()
    inbound = InboundSettingsSerializer()


class BillingSerializer(serializers.Serializer):
    monthly_fee = serializers.FloatField(min_value=0)
    currency = serializers.CharField()


class BindingsSerializer(serializers.Serializer):
    call = AgentBindingSerializer(source="*", channel=Channel.CALL)
    sms = AgentBindingSerializer(source="*", channel=Channel.SMS)
    whatsapp = AgentBindingSerializer(source="*", channel=Channel.WHATSAPP)


class PhoneNumberSerializer(serializers.Serializer):
    """A number of the inventory as the lists show it."""

    phone_number_uuid = serializers.UUIDField()
    number = schema_field(E164, source="e164")
    country_code = serializers.CharField(allow_blank=True)
    location = serializers.CharField(allow_blank=True)
    type = schema_field(enum(NumberType.values))
    is_external = serializers.BooleanField()
    # The example agrees with is_external (true in examples): an external number.
    source = schema_field({**enum(Source.values), "example": Source.EXTERNAL.value})
    status = schema_field(enum(NumberStatus.values))
    compliance = ComplianceSerializer(source="*")
    capabilities = CapabilitiesSerializer(source="*")
    channel_settings = ChannelSettingsSerializer(source="effective_settings")
    billing = BillingSerializer(source="*")
    bindings = BindingsSerializer(source="*")
    purchased_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


# --- the rest ------------------------------------------------------------------------------------


class AgentSerializer(serializers.Serializer):
    agent_uuid = serializers.UUIDField()
    name = serializers.CharField()
    status = schema_field(enum(AgentStatus.values))
    created_at = serializers.DateTimeField()


class AgentWrapperSerializer(serializers.Serializer):
    agent = AgentSerializer(source="*")


class EventSerializer(serializers.Serializer):
    """One event of the number's audit trail: who changed what, through which door, and when."""

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


# --- routing -----------------------------------------------------------------------------------


class RoutingStepSerializer(serializers.Serializer):
    check = schema_field(enum(sorted(set(INBOUND_CHECKS) | set(OUTBOUND_CHECKS))))
    passed = serializers.BooleanField()
    detail = serializers.CharField(help_text="What the check found, in words.")


class RoutedBindingSerializer(serializers.Serializer):
    phone_number_uuid = serializers.UUIDField()
    number = schema_field(E164)
    channel = schema_field(enum([Channel.CALL]))
    agent_uuid = serializers.UUIDField()
    trunk_name = serializers.CharField()


class RoutingTargetSerializer(serializers.Serializer):
    uri = serializers.CharField(help_text="The Request-URI the edge sends the call to.")
    headers = serializers.DictField(
        child=serializers.CharField(),
        help_text="Inbound: the X-Trunkadmin-* headers the agent receives. Outbound: the From the carrier sees.",
    )


class RoutingDecisionSerializer(serializers.Serializer):
    """What the SIP edge does with the call, and the checks it made to decide."""

    decision = serializers.SerializerMethodField()
    sip_status = serializers.IntegerField(
        allow_null=True, help_text="The edge's own final answer on a reject; null on relay (the callee answers)."
    )
    reason_code = schema_field(enum(REASONS, nullable=True), help_text="null on relay.")
    message = serializers.CharField()
    binding = RoutedBindingSerializer(allow_null=True)
    target = RoutingTargetSerializer(allow_null=True)
    steps = RoutingStepSerializer(many=True)

    @extend_schema_field(enum(["relay", "reject"]))
    def get_decision(self, decision) -> str:
        return "relay" if decision.relay else "reject"


class CallStepSerializer(serializers.Serializer):
    at_ms = serializers.FloatField(min_value=0, help_text="Milliseconds since the first INVITE.")
    gateway = schema_field(enum(["gateway", "secondary_gateway"]))
    direction = schema_field(enum(["sent", "received"]))
    line = serializers.CharField(help_text="The request line or status line; no header, so no credential.")


class CallGatewaySerializer(serializers.Serializer):
    role = schema_field(enum(["gateway", "secondary_gateway"]))
    host = serializers.CharField()
    port = serializers.IntegerField(min_value=1, max_value=65535)
    address = _nullable_string(help_text="The address the name resolved to; null when it did not resolve.")


class TestCallSerializer(serializers.Serializer):
    """What a test call did, step by step."""

    phone_number = schema_field(E164, source="binding.phone_number.e164")
    to = schema_field(E164)
    outcome = schema_field(
        {
            **enum(CALL_OUTCOMES),
            "description": "answered (ended with BYE), ringing (ended with CANCEL), trying (only 100 Trying before the "
            "time limit, ended with CANCEL), rejected, auth_failed, unreachable, dns_failed, refused (address policy).",
        },
        source="result.outcome",
    )
    message = serializers.CharField(source="result.message")
    gateway = CallGatewaySerializer(source="result.gateway", allow_null=True, help_text="The last gateway tried.")
    status_line = _nullable_string(source="result.status_line", help_text="The final answer to the INVITE.")
    challenge_answered = serializers.BooleanField(source="result.challenge_answered")
    setup_ms = serializers.FloatField(
        source="result.setup_ms", allow_null=True, help_text="First INVITE to the first answer other than 100 Trying."
    )
    ended_with = schema_field(enum(["CANCEL", "BYE"], nullable=True), source="result.ended_with")
    steps = CallStepSerializer(many=True, source="result.steps")
