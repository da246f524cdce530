"""The models, by area (docs/architecture.md): the inventory, the API tokens, and the short-lived
state behind the guarantees that span requests. Every rule the database can hold is a named
constraint in them; import them from here."""

from .guards import IdempotencyRecord, ProbeSlot, RequestCounter
from .inventory import (
    DEFAULT_SIP_PORT,
    HEALTH_FIELDS,
    SECRET_FIELDS,
    SIP_FIELDS,
    TRUNK_CHANNELS,
    Agent,
    AgentStatus,
    Channel,
    ChannelBinding,
    ComplianceStatus,
    Direction,
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
from .tokens import ApiToken, TokenScope

__all__ = [
    "DEFAULT_SIP_PORT",
    "HEALTH_FIELDS",
    "SECRET_FIELDS",
    "SIP_FIELDS",
    "TRUNK_CHANNELS",
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
    "NumberStatus",
    "NumberType",
    "PhoneNumber",
    "ProbeSlot",
    "RequestCounter",
    "Role",
    "Source",
    "TokenScope",
    "Workspace",
    "default_channel_settings",
]
