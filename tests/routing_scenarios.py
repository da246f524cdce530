"""One table of routing scenarios (docs/routing.md) and the trunks they run against.

The same table drives the explainer tests (tests/test_routing_decision.py, the decision in
Python) and the edge tests (tests/edge/, Kamailio with SIPp carriers and agents): both must reach
the same answer on every scenario of the workspace's own numbers. Several 127.0.0.x addresses
stand for distinct carriers; the media servers of the platform are 127.0.0.40/29.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels_app import services
from channels_app.models import Agent, AgentStatus

# Carriers' signalling sources (loopback addresses standing for distinct carriers).
CARRIER_E164 = "127.0.0.11"  # writes +14155550101
CARRIER_DIGITS = "127.0.0.12"  # writes 14155550102
CARRIER_NATIONAL = "127.0.0.13"  # writes 4155550103
CARRIER_OF_B = "127.0.0.21"  # another tenant's carrier
STRANGER = "127.0.0.99"  # listed by no trunk
# The platform's media servers (AGENT_SOURCE_ADDRESSES in these tests), and an address outside.
MEDIA_SERVERS = "127.0.0.40/29"
MEDIA_SERVER = "127.0.0.41"
NOT_A_MEDIA_SERVER = "127.0.0.99"
# Default gateway of the outbound trunks (the edge tests put SIPp carriers there).
GATEWAY = ("127.0.0.31", 5060)

N_E164 = "+14155550101"
N_DIGITS = "+14155550102"
N_NATIONAL = "+14155550103"
N_OUTBOUND_ONLY = "+14155550104"
N_INBOUND_ONLY = "+14155550105"
N_AGENT_INACTIVE = "+14155550106"
N_NO_GATEWAY = "+14155550107"
N_ONLY_GB = "+14155550108"
N_OF_B = "+14155550201"
N_UNKNOWN = "+14155550199"
USERNAME, PASSWORD = "trunk-user-7", "trunk-pass-9f2c"


@dataclass(frozen=True)
class Scenario:
    name: str
    direction: str  # "inbound" or "outbound"
    source: str  # inbound: the carrier's address; outbound: the sender's address
    to: str  # the Request-URI user as sent
    expect: str  # "relay" or the reason code
    from_number: str = ""  # outbound: X-Trunkadmin-Number
    reaches: str = ""  # inbound relay: the number whose agent gets the call
    edge_only: bool = False  # the explainer has no such input (outbound source)
    own: bool = True  # about a number of workspace A (the explainer must agree)
    sip_status: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        from channels_app.routing.decision import REASONS

        object.__setattr__(self, "sip_status", 200 if self.expect == "relay" else REASONS[self.expect][0])


def inbound(name: str, source: str, to: str, expect: str, **more) -> Scenario:
    return Scenario(name, "inbound", source, to, expect, **more)


def outbound(name: str, from_number: str, to: str, expect: str, *, source: str = MEDIA_SERVER, **more) -> Scenario:
    return Scenario(name, "outbound", source, to, expect, from_number=from_number, **more)


SCENARIOS: tuple[Scenario, ...] = (
    # inbound: each carrier writes the number its way; every trunk reads all three ways
    inbound("inbound relay, carrier writes +E164", CARRIER_E164, "+14155550101", "relay", reaches=N_E164),
    inbound("inbound relay, carrier writes E164 digits", CARRIER_DIGITS, "14155550102", "relay", reaches=N_DIGITS),
    inbound("inbound relay, carrier writes national", CARRIER_NATIONAL, "4155550103", "relay", reaches=N_NATIONAL),
    inbound("inbound relay, national to an e164 trunk", CARRIER_E164, "4155550101", "relay", reaches=N_E164),
    inbound("inbound from a source no trunk lists", STRANGER, "+14155550101", "SOURCE_NOT_ALLOWED"),
    inbound("inbound from another of our carriers", CARRIER_DIGITS, "+14155550101", "NUMBER_NOT_ROUTED"),
    inbound("inbound to an unregistered number", CARRIER_E164, "+14155550199", "NUMBER_NOT_ROUTED", own=False),
    inbound("inbound to an outbound-only trunk", CARRIER_E164, "+14155550104", "DIRECTION_NOT_ALLOWED"),
    inbound("inbound to an inactive agent", CARRIER_E164, "+14155550106", "AGENT_UNAVAILABLE"),
    inbound("inbound to another tenant's number", CARRIER_OF_B, N_OF_B, "relay", reaches=N_OF_B, own=False),
    # outbound: the platform's media server calls out through a trunk
    outbound("outbound relay", N_E164, "+14155550142", "relay"),
    outbound("outbound, destination in E164 digits", N_DIGITS, "14155550142", "relay"),
    outbound(
        "outbound from outside the media servers",
        N_E164,
        "+14155550142",
        "SOURCE_NOT_ALLOWED",
        source=NOT_A_MEDIA_SERVER,
        edge_only=True,
    ),
    outbound("outbound from an unregistered number", N_UNKNOWN, "+14155550142", "NUMBER_NOT_ROUTED", own=False),
    outbound("outbound through an inbound-only trunk", N_INBOUND_ONLY, "+14155550142", "DIRECTION_NOT_ALLOWED"),
    outbound("outbound to an emergency number", N_E164, "911", "DESTINATION_NOT_ALLOWED"),
    outbound("outbound to a premium-rate number", N_E164, "+19005550123", "DESTINATION_NOT_ALLOWED"),
    outbound("outbound outside the voice destinations", N_ONLY_GB, "+14155550142", "DESTINATION_NOT_ALLOWED"),
    outbound("outbound through a trunk without gateway", N_NO_GATEWAY, "+14155550142", "NO_GATEWAY"),
)


def build_world(workspace_a, workspace_b, actor, *, gateway=GATEWAY, secondary=None) -> dict[str, object]:
    """The trunks of the scenarios, through the services; `gateway` (host, port) is where the
    outbound trunks send (SIPp carriers in the edge tests). Returns bindings by number."""

    def agent(workspace, name, status=AgentStatus.ACTIVE):
        return Agent.objects.create(workspace=workspace, name=name, status=status)

    host, port = gateway
    outbound_sip = {"gateway": host, "port": port, "username": USERNAME, "password": PASSWORD}
    if secondary is not None:
        outbound_sip["secondary_gateway"] = secondary[0]
    trunks = {
        N_E164: ({"inbound_addresses": [CARRIER_E164], **outbound_sip}, "both"),
        N_DIGITS: (
            {"inbound_addresses": [f"{CARRIER_DIGITS}/32"], "number_format": "e164_no_plus", **outbound_sip},
            "both",
        ),
        N_NATIONAL: ({"inbound_addresses": [CARRIER_NATIONAL], "number_format": "national"}, "both"),
        N_OUTBOUND_ONLY: ({"inbound_addresses": [CARRIER_E164], **outbound_sip}, "outbound"),
        N_INBOUND_ONLY: ({"inbound_addresses": [CARRIER_E164], **outbound_sip}, "inbound"),
        N_AGENT_INACTIVE: ({"inbound_addresses": [CARRIER_E164]}, "both"),
        N_NO_GATEWAY: ({"inbound_addresses": [CARRIER_E164]}, "both"),
        N_ONLY_GB: ({**outbound_sip}, "both"),
    }
    bindings: dict[str, object] = {}
    for number, (sip, direction) in trunks.items():
        status = AgentStatus.INACTIVE if number == N_AGENT_INACTIVE else AgentStatus.ACTIVE
        bindings[number] = services.trunk_register(
            workspace=workspace_a,
            actor=actor,
            phone_number=number,
            agent_uuid=agent(workspace_a, f"agent of {number}", status).agent_uuid,
            channel="call",
            direction=direction,
            sip=sip,
        )
    services.number_update_settings(
        workspace=workspace_a,
        actor=actor,
        phone_number_uuid=bindings[N_ONLY_GB].phone_number.phone_number_uuid,
        channel_settings={"voice": {"whitelisted_destinations": ["GB"]}},
    )
    bindings[N_OF_B] = services.trunk_register(
        workspace=workspace_b,
        actor=actor,
        phone_number=N_OF_B,
        agent_uuid=agent(workspace_b, "agent of B").agent_uuid,
        channel="call",
        sip={"inbound_addresses": [CARRIER_OF_B]},
    )
    return bindings
