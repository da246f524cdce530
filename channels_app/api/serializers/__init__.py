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
    SnapshotEnvelope,
)
from .requests import (
    PhoneNumberUpdateSerializer,
    PhoneNumberUuidSerializer,
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
    "SnapshotEnvelope",
    "SnapshotSerializer",
    "TrunkAssignSerializer",
    "TrunkCheckSerializer",
    "TrunkCreateSerializer",
    "TrunkUpdateSerializer",
]
