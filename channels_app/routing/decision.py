"""A routing decision: relay or reject, the reason code, and the checks made, in order.

The reason codes are named rules (docs/rules.md) with their SIP answers. One `Decision` is what
the edge acts on (`edge.views`), what the explainer shows (`POST /api/v1/routing/explain`) and
what the pages put in words. No Django models here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INBOUND = "inbound"
OUTBOUND = "outbound"

# reason code -> (SIP status, reason phrase). The edge answers with both, `X-Trunkadmin-Reason`
# carries the code and the SIP `Reason` header the phrase (RFC 3326).
REASONS: dict[str, tuple[int, str]] = {
    "SOURCE_NOT_ALLOWED": (403, "Source Not Allowed"),
    "NUMBER_NOT_ROUTED": (404, "Number Not Routed"),
    "DIRECTION_NOT_ALLOWED": (403, "Direction Not Allowed"),
    "AGENT_UNAVAILABLE": (480, "Agent Unavailable"),
    "DESTINATION_NOT_ALLOWED": (403, "Destination Not Allowed"),
    "NO_GATEWAY": (503, "No Gateway"),
    "DECISION_UNAVAILABLE": (503, "Decision Unavailable"),
}

# The checks, in the order they are made (docs/routing.md).
INBOUND_CHECKS = ("source_address", "number", "direction", "agent")
OUTBOUND_CHECKS = ("source_address", "number", "direction", "destination", "gateway")


@dataclass(frozen=True)
class Step:
    """One check: its name, whether it passed, and what it found, in words."""

    check: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RoutedBinding:
    """The call binding a decision is about."""

    binding_uuid: str
    phone_number_uuid: str
    number: str
    channel: str
    agent_uuid: str
    agent_name: str
    trunk_name: str
    workspace_id: int
    workspace_slug: str


@dataclass(frozen=True)
class Gateway:
    """Where an outbound call leaves: the next hop as the edge writes it."""

    role: str  # "gateway" or "secondary_gateway"
    host: str
    port: int
    transport: str
    uri: str  # Request-URI: the destination at this gateway, in the trunk's number format
    next_hop: str  # the edge's destination URI (with the transport)


@dataclass(frozen=True)
class Target:
    """Where a relayed call goes: the Request-URI and the headers the edge adds (inbound), or the
    gateways in order of use and the From user (outbound)."""

    uri: str
    headers: dict[str, str] = field(default_factory=dict)
    gateways: tuple[Gateway, ...] = ()
    from_user: str = ""
    authenticates: bool = False  # the trunk has a username and a password to answer a challenge


@dataclass(frozen=True)
class Decision:
    direction: str
    steps: tuple[Step, ...]
    reason_code: str | None = None
    message: str = ""
    binding: RoutedBinding | None = None
    target: Target | None = None

    @property
    def relay(self) -> bool:
        return self.reason_code is None

    @property
    def sip_status(self) -> int | None:
        """The edge's own final answer: None when it relays (the callee answers)."""
        return None if self.reason_code is None else REASONS[self.reason_code][0]

    @property
    def reason_phrase(self) -> str:
        return "" if self.reason_code is None else REASONS[self.reason_code][1]


class Checks:
    """The steps of one decision as they are made; ends in a relay or the first refusal."""

    def __init__(self, direction: str) -> None:
        self.direction = direction
        self.steps: list[Step] = []

    def passed(self, check: str, detail: str) -> None:
        self.steps.append(Step(check, True, detail))

    def refuse(self, check: str, code: str, detail: str, *, binding: RoutedBinding | None = None) -> Decision:
        assert code in REASONS, code
        self.steps.append(Step(check, False, detail))
        return Decision(self.direction, tuple(self.steps), code, detail, binding=binding)

    def relay(self, message: str, *, binding: RoutedBinding, target: Target) -> Decision:
        return Decision(self.direction, tuple(self.steps), None, message, binding=binding, target=target)


def routed(trunk: Any) -> RoutedBinding:
    """The `RoutedBinding` of a call trunk read by `routing.queries`."""
    return RoutedBinding(
        binding_uuid=str(trunk.uuid),
        phone_number_uuid=str(trunk.phone_number_uuid),
        number=trunk.e164,
        channel="call",
        agent_uuid=str(trunk.agent_uuid),
        agent_name=trunk.agent_name,
        trunk_name=trunk.name,
        workspace_id=trunk.workspace_id,
        workspace_slug=trunk.workspace_slug,
    )
