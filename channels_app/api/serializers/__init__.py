"""The API's serializers: request shapes, response renderings, envelopes (see each module)."""

from .envelopes import (
    AgentEnvelope,
    AgentPageEnvelope,
    ErrorEnvelopeSerializer,
    EventPageEnvelope,
    HealthEnvelope,
    NullableSnapshotEnvelope,
    PhoneNumberEnvelope,
    PhoneNumberPageEnvelope,
    ReleaseEnvelope,
    RoutingDecisionEnvelope,
    SnapshotEnvelope,
)
from .requests import (
    PhoneNumberUpdateSerializer,
    PhoneNumberUuidSerializer,
    RoutingExplainSerializer,
    TrunkAssignSerializer,
    TrunkCheckSerializer,
    TrunkCreateSerializer,
    TrunkUpdateSerializer,
)
from .responses import (
    AgentSerializer,
    AgentWrapperSerializer,
    EventSerializer,
    PhoneNumberSerializer,
    RoutingDecisionSerializer,
    SnapshotSerializer,
)
from .schema_fields import ANY_SPELLING

__all__ = [
    "ANY_SPELLING",
    "AgentEnvelope",
    "AgentPageEnvelope",
    "AgentSerializer",
    "AgentWrapperSerializer",
    "ErrorEnvelopeSerializer",
    "EventPageEnvelope",
    "EventSerializer",
    "HealthEnvelope",
    "NullableSnapshotEnvelope",
    "PhoneNumberEnvelope",
    "PhoneNumberPageEnvelope",
    "PhoneNumberSerializer",
    "PhoneNumberUpdateSerializer",
    "PhoneNumberUuidSerializer",
    "ReleaseEnvelope",
    "RoutingDecisionEnvelope",
    "RoutingDecisionSerializer",
    "RoutingExplainSerializer",
    "SnapshotEnvelope",
    "SnapshotSerializer",
    "TrunkAssignSerializer",
    "TrunkCheckSerializer",
    "TrunkCreateSerializer",
    "TrunkUpdateSerializer",
]
