"""The routing decision in Python (docs/routing.md): every scenario of the shared table, the checks in
order, the explainer's tenancy, and the cost (a few indexed queries, flat in the inventory)."""

from __future__ import annotations

import pytest

from channels_app.models import Agent, ChannelBinding
from channels_app.routing import addresses, spelling
from channels_app.routing.inbound import decide_inbound
from channels_app.routing.outbound import decide_outbound
from tests import routing_scenarios as world
from tests.routing_scenarios import SCENARIOS

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(settings, workspace_a, workspace_b, command_actor):
    settings.AGENT_SOURCE_ADDRESSES = [world.MEDIA_SERVERS]
    settings.AGENT_SIP_URI = "sip:{agent_uuid}@127.0.0.50:5070"
    return world.build_world(workspace_a, workspace_b, command_actor)


def decide(scenario, workspace=None):
    if scenario.direction == "inbound":
        return decide_inbound(source=scenario.source, ruri_user=scenario.to, workspace=workspace)
    source = None if workspace is not None else scenario.source
    return decide_outbound(source=source, from_number=scenario.from_number, to=scenario.to, workspace=workspace)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_the_decision_of_every_scenario(routing, scenario):
    decision = decide(scenario)
    assert (decision.reason_code or "relay") == scenario.expect, decision.steps
    assert decision.steps[-1].passed is decision.relay
    if scenario.expect == "relay":
        assert decision.sip_status is None
        if scenario.reaches:
            assert decision.binding.number == scenario.reaches
            assert decision.target.headers["X-Trunkadmin-Number"] == scenario.reaches
    else:
        assert decision.sip_status == scenario.sip_status


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if not s.edge_only], ids=[s.name for s in SCENARIOS if not s.edge_only]
)
def test_the_explainer_agrees_on_its_own_numbers_and_says_not_yours_otherwise(routing, workspace_a, scenario):
    explained = decide(scenario, workspace=workspace_a)
    if scenario.own:
        edge = decide(scenario)
        assert (explained.reason_code, explained.sip_status) == (edge.reason_code, edge.sip_status)
        assert explained.target == edge.target if scenario.direction == "inbound" else True
    else:
        assert explained.reason_code == "NUMBER_NOT_ROUTED"
        assert explained.binding is None and explained.target is None
        assert "not a number of yours" in explained.message


def test_an_inbound_relay_names_the_agent_and_its_headers(routing):
    binding = routing[world.N_NATIONAL]
    decision = decide_inbound(source=world.CARRIER_NATIONAL, ruri_user=None, to_user="4155550103")
    assert [(step.check, step.passed) for step in decision.steps] == [
        ("source_address", True),
        ("number", True),
        ("direction", True),
        ("agent", True),
    ]
    assert decision.target.uri == f"sip:{binding.agent.agent_uuid}@127.0.0.50:5070"
    assert decision.target.headers == {
        "X-Trunkadmin-Agent": str(binding.agent.agent_uuid),
        "X-Trunkadmin-Number": world.N_NATIONAL,
        "X-Trunkadmin-Binding": str(binding.uuid),
        "X-Trunkadmin-Workspace": "ws-a",
    }


def test_an_unknown_source_learns_nothing_about_numbers(routing):
    decision = decide_inbound(source=world.STRANGER, ruri_user="+14155550101")
    assert [(step.check, step.passed) for step in decision.steps] == [("source_address", False)]
    assert "+1415" not in decision.message


def test_the_explainer_says_why_its_own_number_does_not_take_the_source(routing, workspace_a):
    decision = decide_inbound(source=world.CARRIER_DIGITS, ruri_user="+14155550101", workspace=workspace_a)
    assert decision.reason_code == "NUMBER_NOT_ROUTED"
    assert decision.message == (
        "+14155550101 is yours, but its call trunk call_trunk_14155550101 does not list 127.0.0.12 among its "
        "inbound addresses (127.0.0.11)."
    )


def test_the_explainer_never_names_another_tenants_number_or_agent(routing, workspace_a):
    decision = decide_inbound(source=world.CARRIER_OF_B, ruri_user=world.N_OF_B, workspace=workspace_a)
    assert decision.reason_code == "NUMBER_NOT_ROUTED"
    assert decision.message == "“+14155550201” is not a number of yours."
    assert [step.check for step in decision.steps] == ["number"]
    outbound = decide_outbound(source=None, from_number=world.N_OF_B, to="+14155550142", workspace=workspace_a)
    assert outbound.message == "+14155550201 is not a number of yours."


def test_an_outbound_relay_writes_numbers_in_the_trunk_format_and_lists_the_gateways(
    settings, workspace_a, command_actor
):
    from channels_app import services

    agent = Agent.objects.create(workspace=workspace_a, name="caller")
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+442071838750",
        agent_uuid=agent.agent_uuid,
        channel="call",
        sip={
            "gateway": "sip.carrier.example",
            "secondary_gateway": "2001:db8::5",
            "port": 5080,
            "transport": "tcp",
            "number_format": "national",
        },
    )
    decision = decide_outbound(source="127.0.0.1", from_number="+442071838750", to="+442079460000")
    assert decision.relay
    assert decision.target.from_user == "02071838750"
    assert [(gateway.uri, gateway.next_hop) for gateway in decision.target.gateways] == [
        ("sip:02079460000@sip.carrier.example:5080;transport=tcp", "sip:sip.carrier.example:5080;transport=tcp"),
        ("sip:02079460000@[2001:db8::5]:5080;transport=tcp", "sip:[2001:db8::5]:5080;transport=tcp"),
    ]
    abroad = decide_outbound(source="127.0.0.1", from_number="+442071838750", to="+14155550142")
    assert abroad.target.gateways[0].uri.startswith("sip:0014155550142@"), "a national trunk dials abroad with 00"
    assert abroad.target.authenticates is False


def test_the_wire_readings_of_a_called_user():
    assert spelling.readings("+1 (415) 555-0101;npdi") == spelling.Readings(e164=("+14155550101",))
    assert spelling.readings("14155550101") == spelling.Readings(e164=("+14155550101",), national=("14155550101",))
    assert spelling.readings("02071838750") == spelling.Readings(national=("02071838750", "2071838750"))
    assert spelling.readings("0044207183875") == spelling.Readings(
        e164=("+44207183875",), national=("0044207183875", "044207183875")
    )
    assert not spelling.readings("alice") and not spelling.readings("") and not spelling.readings("+0123")


def test_destinations_are_read_leniently_and_refused_when_special():
    home = "+14155550101"
    assert spelling.destination("+442079460000", home=home).region == "GB"
    assert spelling.destination("4155550142", home=home).e164 == "+14155550142"
    assert spelling.destination("011442079460000", home=home).e164 == "+442079460000", "the US dialling prefix"
    assert spelling.destination("911", home=home).emergency
    assert spelling.destination("112", home="+442071838750").emergency
    assert spelling.destination("+19005550123", home=home).premium
    assert not spelling.destination("+14155550142", home=home).emergency


def test_the_decision_costs_a_few_indexed_queries_whatever_the_inventory(
    routing, django_assert_max_num_queries, workspace_a
):
    with django_assert_max_num_queries(2):
        decide_inbound(source=world.CARRIER_E164, ruri_user="4155550101")
    with django_assert_max_num_queries(1):
        decide_outbound(source=world.MEDIA_SERVER, from_number=world.N_E164, to="+14155550142")
    with django_assert_max_num_queries(3):
        decide_inbound(source=world.CARRIER_E164, ruri_user="4155550101", workspace=workspace_a)


def test_the_index_is_what_the_decision_reads(routing):
    trunk = routing[world.N_E164]
    ChannelBinding.objects.filter(pk=trunk.pk).update(sip_inbound_addresses=["127.0.0.99"])  # around the services
    decision = decide_inbound(source=world.STRANGER, ruri_user=world.N_E164)
    assert decision.reason_code == "SOURCE_NOT_ALLOWED", "the index, not the list, decides"
    assert addresses.block_key(world.CARRIER_E164) in set(trunk.address_blocks.values_list("key", flat=True))


def test_the_explainer_says_what_to_fix_when_no_trunk_lists_the_source(routing, workspace_a, command_actor):
    from channels_app import services

    services.trunk_update(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=world.N_E164,
        channel="call",
        sip={"inbound_addresses": []},
    )
    decision = decide_inbound(source="198.51.100.9", ruri_user=world.N_E164, workspace=workspace_a)
    assert decision.reason_code == "SOURCE_NOT_ALLOWED"
    assert decision.message.endswith(
        "+14155550101 is yours, but its call trunk call_trunk_14155550101 lists no inbound addresses: it accepts no "
        "inbound call."
    )
    edge = decide_inbound(source="198.51.100.9", ruri_user=world.N_E164)
    assert edge.reason_code == "SOURCE_NOT_ALLOWED" and "yours" not in edge.message
