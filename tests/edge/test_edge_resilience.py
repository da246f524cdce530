"""The edge when things go wrong: a carrier refusing the credentials, a gateway silent or out of
service, the product down or slow, every decision worker waiting on it. Kamailio and SIPp for
real on loopback; no bound on speed, only on SIPp's receive timeouts."""

from __future__ import annotations

import re
import socket
import time
from datetime import datetime

import pytest

from channels_app import services
from channels_app.models import Agent
from tests.edge import scenarios as xml
from tests.edge.support import SECRET, Kamailio, Sipp, free_port, require_kamailio

pytestmark = pytest.mark.django_db(transaction=True)

MEDIA_SERVER = "127.0.0.42"
CARRIER = "127.0.0.14"
NUMBER = "+14155550131"
DESTINATION = "+14155550142"
USERNAME, PASSWORD = "edge-user", "edge-pass-31"
NUMBER_HEADER = [[f"X-Trunkadmin-Number: {NUMBER}"]]


def trunk(workspace, actor, **sip):
    agent = Agent.objects.create(workspace=workspace, name="resilience agent")
    return services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number=NUMBER,
        agent_uuid=agent.agent_uuid,
        channel="call",
        sip={"inbound_addresses": [CARRIER], **sip},
    )


def shared_port(*hosts: str) -> int:
    for _ in range(50):
        port = free_port(hosts[0])
        if all(_free(host, port) for host in hosts[1:]):
            return port
    raise RuntimeError("no port free on every host")


def _free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def seconds_between(log: str, first: str, then: str) -> float:
    """Seconds between the first logged message starting with `first` and the next one starting
    with `then` in a SIPp message log."""
    stamps = re.findall(r"-{20,} (\S+ \S+)\n[^\n]*\n\n([^\n]*)", log)
    start = next(datetime.fromisoformat(at) for at, line in stamps if line.startswith(first))
    end = next(
        datetime.fromisoformat(at)
        for at, line in stamps
        if line.startswith(then) and datetime.fromisoformat(at) >= start
    )
    return (end - start).total_seconds()


def test_a_carrier_refusing_the_credentials_is_reported_to_the_agent(
    edge, product, workspace_a, command_actor, tmp_path
):
    port = free_port("127.0.0.31")
    trunk(workspace_a, command_actor, gateway="127.0.0.31", port=port, username=USERNAME, password="not-the-password")
    carrier = Sipp(
        xml.carrier(ruri_user=DESTINATION, from_user=NUMBER),
        tmp_path,
        host="127.0.0.31",
        port=port,
        injection=[[USERNAME, PASSWORD]],
    )
    caller = Sipp(
        xml.caller_refused(status=403, reason=None, extra_header="[field0]"),
        tmp_path,
        host=MEDIA_SERVER,
        remote=edge.address,
        service=DESTINATION,
        injection=NUMBER_HEADER,
    )
    assert caller.passed(), caller.failures()
    carrier.wait()
    [answered] = carrier.received("INVITE")[1:]
    assert 'username="edge-user"' in answered and "not-the-password" not in carrier.messages()
    assert "SIP/2.0 403 Forbidden" in carrier.messages() and "SIP/2.0 200 OK" not in carrier.messages()


@pytest.mark.parametrize("primary", ["silent", "busy"])
def test_a_silent_or_failing_primary_gateway_hands_the_call_to_the_secondary(
    edge, product, workspace_a, command_actor, tmp_path, primary
):
    port = shared_port("127.0.0.31", "127.0.0.32")
    trunk(
        workspace_a,
        command_actor,
        gateway="127.0.0.31",
        secondary_gateway="127.0.0.32",
        port=port,
        username=USERNAME,
        password=PASSWORD,
    )
    first = Sipp(getattr(xml, primary)(), tmp_path, host="127.0.0.31", port=port)
    second = Sipp(
        xml.carrier(ruri_user=DESTINATION, from_user=NUMBER),
        tmp_path,
        host="127.0.0.32",
        port=port,
        injection=[[USERNAME, PASSWORD]],
    )
    caller = Sipp(
        xml.caller_answered(extra_header="[field0]"),
        tmp_path,
        host=MEDIA_SERVER,
        remote=edge.address,
        service=DESTINATION,
        injection=NUMBER_HEADER,
    )
    assert caller.passed(), caller.failures() + edge.log_text()[-3000:]
    assert second.passed(), second.failures()
    first.stop()
    assert len(first.received("INVITE")) >= 1, "the primary was tried first"
    print(f"[routing] failover from a {primary} primary: the secondary answered, call completed")


def test_the_product_closing_the_connection_is_503_decision_unavailable_with_retry_after(
    edge, product, product_hop, workspace_a, command_actor, tmp_path
):
    trunk(workspace_a, command_actor)
    product_hop.down = True
    caller = Sipp(
        xml.caller_refused(status=503, reason="DECISION_UNAVAILABLE", also=(("Retry-After", "5"),)),
        tmp_path,
        host=CARRIER,
        remote=edge.address,
        service=NUMBER,
    )
    assert caller.passed(), caller.failures()


def test_a_slow_product_is_503_decision_unavailable_within_the_bound(
    edge, product, product_hop, workspace_a, command_actor, tmp_path
):
    trunk(workspace_a, command_actor)
    product_hop.delay = 4.0
    caller = Sipp(
        xml.caller_refused(status=503, reason="DECISION_UNAVAILABLE", timeout_ms=5000, also=(("Retry-After", "5"),)),
        tmp_path,
        host=CARRIER,
        remote=edge.address,
        service=NUMBER,
    )
    assert caller.passed(), caller.failures()
    waited = seconds_between(caller.messages(), "INVITE", "SIP/2.0 503")
    print(
        f"[routing] product 4 s slow: the caller had its 503 DECISION_UNAVAILABLE after {waited:.2f} s "
        "(the edge waits 1 s)"
    )


def test_nothing_listening_for_the_product_is_503_decision_unavailable(product, workspace_a, command_actor, tmp_path):
    require_kamailio()
    trunk(workspace_a, command_actor)
    orphan = Kamailio(tmp_path, product_url=f"http://127.0.0.1:{free_port('127.0.0.1')}")
    try:
        caller = Sipp(
            xml.caller_refused(status=503, reason="DECISION_UNAVAILABLE"),
            tmp_path,
            host=CARRIER,
            remote=orphan.address,
            service=NUMBER,
        )
        assert caller.passed(), caller.failures()
    finally:
        orphan.stop()
    assert SECRET not in orphan.log_text(), "the edge never logs the shared secret"


def test_a_call_in_progress_hangs_up_while_every_decision_worker_waits_on_a_slow_product(
    edge, product, product_hop, settings, workspace_a, command_actor, tmp_path
):
    binding = trunk(workspace_a, command_actor)
    agent = Sipp(xml.agent(headers={"X-Trunkadmin-Binding": str(binding.uuid)}), tmp_path, host="127.0.0.51")
    settings.AGENT_SIP_URI = f"sip:{{agent_uuid}}@127.0.0.51:{agent.port}"
    call = Sipp(xml.caller_answered(hold_ms=2500), tmp_path, host=CARRIER, remote=edge.address, service=NUMBER)
    for _ in range(400):
        if agent.received("ACK"):
            break
        time.sleep(0.02)
    assert agent.received("ACK"), "the call was set up"
    product_hop.delay = 5.0  # from now on every decision waits past the 1 s bound
    flood = Sipp(
        xml.caller_refused(status=503, reason="DECISION_UNAVAILABLE"),
        tmp_path,
        host="127.0.0.15",
        remote=edge.address,
        service=NUMBER,
        calls=60,
        rate=20,
    )
    assert call.passed(), "the BYE went through and was answered: " + call.failures()
    assert agent.passed(), agent.failures()
    assert flood.passed(), "every new INVITE meanwhile had its 503: " + flood.failures()[-2000:]
    answered = len(flood.received("SIP/2.0 503"))
    print(
        f"[routing] every decision worker blocked: BYE of the call in progress answered; {answered} INVITEs refused 503"
    )
