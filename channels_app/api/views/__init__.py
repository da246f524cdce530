"""The REST API of the contract. Views shape input and output; services and selectors do the rest.

Every write runs as `Actor(door=API, token=...)`; every read goes through a selector scoped to the
token's workspace, so another workspace's object is the same 404 as a missing one.
"""

from .agents import AgentCallProvisionView, AgentListView, AgentSmsView
from .not_found import NotFoundView
from .numbers import (
    PhoneNumberChannelsByNumberView,
    PhoneNumberChannelsView,
    PhoneNumberDetailView,
    PhoneNumberEventsView,
    PhoneNumberListView,
    PhoneNumberReleaseView,
)
from .routing import RoutingExplainView
from .trunks import TrunkAssignView, TrunkCheckView, TrunkTestCallView, TrunkView

__all__ = [
    "AgentCallProvisionView",
    "AgentListView",
    "AgentSmsView",
    "NotFoundView",
    "PhoneNumberChannelsByNumberView",
    "PhoneNumberChannelsView",
    "PhoneNumberDetailView",
    "PhoneNumberEventsView",
    "PhoneNumberListView",
    "PhoneNumberReleaseView",
    "RoutingExplainView",
    "TrunkAssignView",
    "TrunkCheckView",
    "TrunkTestCallView",
    "TrunkView",
]
