"""The models, by area (docs/architecture.md): the inventory and its bindings, the API tokens, WhatsApp messages
and their deliveries, and the short-lived state behind the guarantees that span requests. Every
rule the database can hold is a named constraint in them; import them from here."""

from channels_app.routing.models import (
    DEFAULT_NUMBER_FORMAT,
    DEFAULT_TRANSPORT,
    NumberFormat,
    Transport,
    TrunkAddressBlock,
)

from .bindings import (
    DEFAULT_SIP_PORT,
    ENCRYPTED_FIELDS,
    HEALTH_CHOICES,
    HEALTH_FIELDS,
    ROUTING_FIELDS,
    SECRET_FIELDS,
    SIP_FIELDS,
    TRUNK_CHANNELS,
    WHATSAPP_FIELDS,
    WHATSAPP_SECRET_FIELDS,
    Channel,
    ChannelBinding,
    Direction,
)
from .guards import IdempotencyRecord, ProbeSlot, RequestCounter
from .inventory import (
    Agent,
    AgentStatus,
    ComplianceStatus,
    InventoryCount,
    Membership,
    NumberStatus,
    NumberType,
    PhoneNumber,
    Role,
    Source,
    Workspace,
    default_channel_settings,
)
from .messages import MessageDelivery, WhatsappMessage
from .tokens import ApiToken, TokenScope

__all__ = [
    "DEFAULT_NUMBER_FORMAT",
    "DEFAULT_SIP_PORT",
    "DEFAULT_TRANSPORT",
    "ENCRYPTED_FIELDS",
    "HEALTH_CHOICES",
    "HEALTH_FIELDS",
    "ROUTING_FIELDS",
    "SECRET_FIELDS",
    "SIP_FIELDS",
    "TRUNK_CHANNELS",
    "WHATSAPP_FIELDS",
    "WHATSAPP_SECRET_FIELDS",
    "Agent",
    "AgentStatus",
    "ApiToken",
    "Channel",
    "ChannelBinding",
    "ComplianceStatus",
    "Direction",
    "IdempotencyRecord",
    "InventoryCount",
    "Membership",
    "MessageDelivery",
    "NumberFormat",
    "NumberStatus",
    "NumberType",
    "PhoneNumber",
    "ProbeSlot",
    "RequestCounter",
    "Role",
    "Source",
    "TokenScope",
    "Transport",
    "TrunkAddressBlock",
    "WhatsappMessage",
    "Workspace",
    "default_channel_settings",
]
