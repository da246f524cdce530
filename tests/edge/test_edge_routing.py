"""Calls through the real edge (Kamailio) and the product's decision, against the explainer.

One table of scenarios (tests/routing_scenarios.py) drives both: for each, SIPp places the call
through Kamailio (a carrier's UAC for inbound, a media server's UAC for outbound), SIPp plays the
agent's media server or the carrier's gateway and asserts on the wire what it must and must not
see, and the explainer is asked the same question. Figure: mismatches between the edge and the
explainer on the workspace's own numbers (bar: 0).
"""

from __future__ import annotations

import time

import pytest

from channels_app.routing.inbound import decide_inbound
from channels_app.routing.outbound import decide_outbound
from tests import routing_scenarios as world
from tests.edge import scenarios as xml
from tests.edge.support import Sipp, free_port
from tests.routing_scenarios import SCENARIOS

pytestmark = pytest.mark.django_db(transaction=True)

AGENT_HOST = "127.0.0.50"


def media_server_header(scenario) -> str:
    return f"X-Trunkadmin-Number: {scenario.from_number}"


def run_inbound(scenario, edge, tmp_path, settings, bindings) -> tuple[int, str | None, dict]:
    """Place the scenario's inbound call; returns (final status the carrier got, reason, what the
    agent saw)."""
    agent = None
    if scenario.expect == "relay":
        binding = bindings[scenario.reaches]
        agent = Sipp(
            xml.agent(
                headers={
                    "X-Trunkadmin-Agent": str(binding.agent.agent_uuid),
                    "X-Trunkadmin-Number": binding.phone_number.e164,
                    "X-Trunkadmin-Binding": str(binding.uuid),
                    "X-Trunkadmin-Workspace": binding.workspace.slug,
                }
            ),
            tmp_path,
            host=AGENT_HOST,
        )
        settings.AGENT_SIP_URI = f"sip:{{agent_uuid}}@{AGENT_HOST}:{agent.port}"
        caller = Sipp(xml.caller_answered(), tmp_path, host=scenario.source, remote=edge.address, service=scenario.to)
        passed = caller.passed()
        agent_passed = agent.passed()
        seen = {"agent_passed": agent_passed, "invite": (agent.received("INVITE") or [""])[0]}
        return (200 if passed else 0), None, seen
    caller = Sipp(
        xml.caller_refused(status=scenario.sip_status, reason=scenario.expect),
        tmp_path,
        host=scenario.source,
        remote=edge.address,
        service=scenario.to,
    )
    passed = caller.passed()
    return (scenario.sip_status if passed else 0), (scenario.expect if passed else None), {"log": caller.failures()}


def run_outbound(scenario, edge, tmp_path, bindings) -> tuple[int, str | None, dict]:
    header = [[media_server_header(scenario)]]
    if scenario.expect == "relay":
        decision = decide_outbound(source=world.MEDIA_SERVER, from_number=scenario.from_number, to=scenario.to)
        gateway_user = decision.target.gateways[0].uri.split(":", 1)[1].split("@", 1)[0]
        carrier = Sipp(
            xml.carrier(ruri_user=gateway_user, from_user=decision.target.from_user),
            tmp_path,
            host=world.GATEWAY[0],
            port=bindings["gateway_port"],
            injection=[[world.USERNAME, world.PASSWORD]],
        )
        caller = Sipp(
            xml.caller_answered(extra_header="[field0]"),
            tmp_path,
            host=scenario.source,
            remote=edge.address,
            service=scenario.to,
            injection=header,
        )
        passed = caller.passed()
        carrier_passed = carrier.passed()
        return (
            (200 if passed and carrier_passed else 0),
            None,
            {"carrier": carrier.failures(), "caller": caller.failures()},
        )
    caller = Sipp(
        xml.caller_refused(status=scenario.sip_status, reason=scenario.expect, extra_header="[field0]"),
        tmp_path,
        host=scenario.source,
        remote=edge.address,
        service=scenario.to,
        injection=header,
    )
    passed = caller.passed()
    return (scenario.sip_status if passed else 0), (scenario.expect if passed else None), {"log": caller.failures()}


def test_every_scenario_through_the_edge_agrees_with_the_explainer(
    edge, product, workspace_a, workspace_b, command_actor, tmp_path
):
    gateway_port = free_port(world.GATEWAY[0])
    bindings = world.build_world(workspace_a, workspace_b, command_actor, gateway=(world.GATEWAY[0], gateway_port))
    bindings["gateway_port"] = gateway_port
    mismatches, results = [], []
    started = time.monotonic()
    for scenario in SCENARIOS:
        if scenario.direction == "inbound":
            status, reason, seen = run_inbound(scenario, edge, tmp_path, product, bindings)
            explained = decide_inbound(source=scenario.source, ruri_user=scenario.to, workspace=workspace_a)
        else:
            status, reason, seen = run_outbound(scenario, edge, tmp_path, bindings)
            explained = decide_outbound(
                source=None, from_number=scenario.from_number, to=scenario.to, workspace=workspace_a
            )
        expected_status = scenario.sip_status
        ok = status == expected_status and (reason == (None if scenario.expect == "relay" else scenario.expect))
        if scenario.direction == "inbound" and scenario.expect == "relay":
            ok = ok and seen["agent_passed"]
        results.append((scenario.name, status, ok))
        if not ok:
            mismatches.append((scenario.name, "edge", status, reason, seen))
        if scenario.own and not scenario.edge_only:
            explained_status = 200 if explained.relay else explained.sip_status
            if (explained_status, explained.reason_code) != (
                expected_status,
                None if scenario.expect == "relay" else scenario.expect,
            ):
                mismatches.append((scenario.name, "explainer", explained_status, explained.reason_code))
    elapsed = time.monotonic() - started
    print(
        f"[routing] {len(SCENARIOS)} scenarios through Kamailio + SIPp in {elapsed:.1f} s: "
        f"mismatches edge vs explainer {len(mismatches)}"
    )
    assert mismatches == [], "\n".join(map(str, mismatches)) + "\n" + edge.log_text()[-4000:]
