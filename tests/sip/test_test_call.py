"""The test call against SIPp gateways on 127.0.0.x: digest answered, CANCEL at the
first ring, BYE after an answer, failover, refused credentials; the destination, direction,
transport and rate-limit rules; the report never holds a credential. Through the service, the
API, the self-serve page and the admin."""

from __future__ import annotations

import pytest

from channels_app import selectors, services
from channels_app.audit import Actor, Door
from channels_app.errors import DomainError
from channels_app.models import Agent, ProbeSlot
from tests import api_support
from tests.edge import scenarios as edge_xml
from tests.edge.support import Sipp, free_port
from tests.sip.peer import require_sipp

api, api_read, api_b = api_support.api, api_support.api_read, api_support.api_b
pytestmark = pytest.mark.django_db

NUMBER = "+14155550161"
DESTINATION = "+14155550142"
USERNAME, PASSWORD = "test-call-user", "MARKER-test-call-pw-91"

_CHALLENGE = """
  <send>
    <![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]challenge[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="carrier.test", nonce="n0nce[call_number]", algorithm=MD5, qop="auth"
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="credentials_accepted" username="[field0]" password="[field1]" />
      <ereg regexp="CSeq: ([0-9]+)" search_in="msg" assign_to="checked,cseq" />
    </action>
  </recv>
  <nop hide="true" test="credentials_accepted" next="accepted" />
  <send>
    <![CDATA[
SIP/2.0 403 Forbidden
[last_Via:]
[last_From:]
[last_To:];tag=[pid]refused[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" next="done" />
  <label id="accepted" />"""

_RING_THEN_CANCEL = """
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]ring[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:gw@[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
  <recv request="CANCEL" />
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]ring[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]ring[call_number]
[last_Call-ID:]
CSeq: [$cseq] INVITE
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />"""

_ANSWER_THEN_BYE = """
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]answer[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:gw@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=gw 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
    ]]>
  </send>
  <recv request="ACK" />
  <recv request="BYE" />
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>"""


def gateway_xml(*, challenge: bool, then: str) -> str:
    """A gateway that challenges the INVITE (or not), then rings until CANCEL or answers until BYE."""
    first = '<recv request="INVITE"><action><ereg regexp="CSeq: ([0-9]+)" search_in="msg" assign_to="checked,cseq" />'
    first += "</action></recv>"
    body = (_CHALLENGE if challenge else "") + (_RING_THEN_CANCEL if then == "ring" else _ANSWER_THEN_BYE)
    variables = "checked,cseq,credentials_accepted" if challenge else "checked,cseq"
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test call: a carrier gateway">
  {first}{body}
  <label id="done" />
  <Reference variables="{variables}" />
</scenario>
"""


@pytest.fixture
def calling(settings, tmp_path, workspace_a, command_actor):
    """start(xml, ..., **sip) -> (peer, binding): a SIPp gateway and a call trunk pointing at it."""
    require_sipp()
    settings.SIP_CHECK_ALLOW_PRIVATE = True
    settings.SIP_EDGE_GATEWAY_TIMEOUT_MS = 600
    peers = []

    def start(xml: str | None, *, host: str = "127.0.0.33", port: int | None = None, number: str = NUMBER, **sip):
        port = port or free_port(host)
        peer = Sipp(xml, tmp_path, host=host, port=port, injection=[[USERNAME, PASSWORD]]) if xml else None
        if peer is not None:
            peers.append(peer)
        agent = Agent.objects.create(workspace=workspace_a, name=f"caller {len(peers)} {number}")
        binding = services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=number,
            agent_uuid=agent.agent_uuid,
            channel="call",
            sip={"gateway": host, "port": port, "username": USERNAME, "password": PASSWORD, **sip},
        )
        return peer, binding

    yield start
    for peer in peers:
        peer.stop()


def place(workspace, to: str = DESTINATION, number: str = NUMBER):
    return services.trunk_test_call(
        workspace=workspace, actor=Actor(door=Door.COMMAND), phone_number=number, channel="call", to=to
    )


def test_a_ringing_call_is_answered_with_the_digest_and_cancelled_at_once(calling, workspace_a):
    peer, _ = calling(gateway_xml(challenge=True, then="ring"))
    call = place(workspace_a)
    result = call.result
    assert (result.outcome, result.ended_with, result.challenge_answered) == ("ringing", "CANCEL", True)
    assert result.status_line == "SIP/2.0 487 Request Terminated"
    lines = [(step.direction, step.line.split(" sip:")[0]) for step in result.steps]
    assert lines == [
        ("sent", "INVITE"),
        ("received", "SIP/2.0 401 Unauthorized"),
        ("sent", "ACK"),
        ("sent", "INVITE"),
        ("received", "SIP/2.0 180 Ringing"),
        ("sent", "CANCEL"),
        ("received", "SIP/2.0 200 OK"),
        ("received", "SIP/2.0 487 Request Terminated"),
        ("sent", "ACK"),
    ]
    assert result.setup_ms is not None and result.gateway["role"] == "gateway"
    assert peer.passed(), peer.failures()
    assert PASSWORD not in peer.messages(), "only the digest hash crossed the wire"
    print(f"[routing] test call: ringing after {result.setup_ms} ms, cancelled; {len(result.steps)} messages")


def test_an_answered_call_is_hung_up_at_once(calling, workspace_a):
    peer, _ = calling(gateway_xml(challenge=False, then="answer"))
    result = place(workspace_a).result
    assert (result.outcome, result.ended_with, result.challenge_answered) == ("answered", "BYE", False)
    assert [step.line.split(" ")[0] for step in result.steps if step.direction == "sent"] == ["INVITE", "ACK", "BYE"]
    assert peer.passed(), peer.failures()


def test_wrong_credentials_are_reported_as_refused(calling, workspace_a, command_actor):
    calling(gateway_xml(challenge=True, then="ring"))
    services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=NUMBER, channel="call", sip={"password": "wrong-one"}
    )
    result = place(workspace_a).result
    assert (result.outcome, result.status_line) == ("auth_failed", "SIP/2.0 403 Forbidden")
    assert result.message.endswith("Check the username and password.")


def test_a_silent_primary_gateway_hands_the_test_call_to_the_secondary(calling, workspace_a, tmp_path):
    port = free_port("127.0.0.34")
    silent = Sipp(edge_xml.silent(), tmp_path, host="127.0.0.33", port=port)
    peer, _ = calling(gateway_xml(challenge=True, then="ring"), host="127.0.0.34", port=port)
    services.trunk_update(
        workspace=workspace_a,
        actor=Actor(door=Door.COMMAND),
        phone_number=NUMBER,
        channel="call",
        sip={"gateway": "127.0.0.33", "secondary_gateway": "127.0.0.34"},
    )
    result = place(workspace_a).result
    silent.stop()
    assert (result.outcome, result.gateway["role"]) == ("ringing", "secondary_gateway")
    assert {step.gateway for step in result.steps} == {"gateway", "secondary_gateway"}
    assert peer.passed(), peer.failures()


@pytest.mark.parametrize(
    ("to", "sip", "code", "field"),
    [
        ("911", {}, "DESTINATION_NOT_ALLOWED", "to"),
        ("+19005550123", {}, "DESTINATION_NOT_ALLOWED", "to"),
        ("not a number", {}, "DESTINATION_NOT_ALLOWED", "to"),
        ("", {}, "VALIDATION_ERROR", "to"),
        (DESTINATION, {"transport": "tcp"}, "VALIDATION_ERROR", "sip.transport"),
        (DESTINATION, {"gateway": ""}, "VALIDATION_ERROR", "sip.gateway"),
    ],
)
def test_refused_test_calls_send_nothing(calling, workspace_a, to, sip, code, field):
    calling(None, **sip)
    with pytest.raises(DomainError) as excinfo:
        place(workspace_a, to=to)
    assert (excinfo.value.code, excinfo.value.field) == (code, field)
    assert not ProbeSlot.objects.exists(), "no rate-limit slot used: nothing was sent"


def test_an_inbound_only_trunk_places_no_test_call(calling, workspace_a, command_actor):
    calling(None)
    services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=NUMBER, channel="call", direction="inbound"
    )
    with pytest.raises(DomainError) as excinfo:
        place(workspace_a)
    assert excinfo.value.code == "DIRECTION_NOT_ALLOWED"


def test_a_gateway_the_address_policy_refuses_is_not_called(calling, settings, workspace_a):
    calling(None, gateway="10.1.2.3")
    settings.SIP_CHECK_ALLOW_PRIVATE = False
    result = place(workspace_a).result
    assert result.outcome == "refused" and result.steps == []


def test_the_api_places_the_call_and_shares_the_trunk_checks_rate_limit(calling, api, workspace_a):
    calling(gateway_xml(challenge=True, then="ring"))
    response = api.post(
        "/phone-numbers/trunks/test-call", {"phone_number": "+1 415 555 0161", "channel": "call", "to": DESTINATION}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["message"] == "Test call placed"
    data = body["data"]
    assert (data["phone_number"], data["to"], data["outcome"], data["ended_with"]) == (
        NUMBER,
        DESTINATION,
        "ringing",
        "CANCEL",
    )
    assert PASSWORD not in response.content.decode() and USERNAME not in response.content.decode()
    again = api.post("/phone-numbers/trunks/test-call", {"phone_number": NUMBER, "channel": "call", "to": DESTINATION})
    assert again.status_code == 429 and again.json()["error"]["code"] == "RATE_LIMITED"
    check = api.post("/phone-numbers/trunks/check", {"phone_number": NUMBER, "channel": "call"})
    assert check.status_code == 429, "one slot for the check and the test call"


def test_the_api_refuses_a_read_token_another_workspace_and_whatsapp(calling, api, api_read, api_b):
    calling(None)
    body = {"phone_number": NUMBER, "channel": "call", "to": DESTINATION}
    assert api_read.post("/phone-numbers/trunks/test-call", body).json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert api_b.post("/phone-numbers/trunks/test-call", body).json()["error"]["code"] == "TRUNK_NOT_FOUND"
    whatsapp = api.post("/phone-numbers/trunks/test-call", {**body, "channel": "whatsapp"})
    assert whatsapp.json()["error"]["code"] == "UNSUPPORTED_CHANNEL"


def test_the_number_page_offers_the_test_call_and_shows_the_exchange(
    calling, client, customer_a, viewer_a, workspace_a
):
    calling(gateway_xml(challenge=True, then="ring"))
    number_page = f"/app/{workspace_a.slug}/numbers/"
    client.force_login(customer_a)
    binding = selectors.number_get(workspace=workspace_a, number=NUMBER).binding("call")
    url = f"/app/{workspace_a.slug}/numbers/{binding.phone_number.phone_number_uuid}/call/test-call/"
    assert url in client.get(f"{number_page}{binding.phone_number.phone_number_uuid}/").content.decode()
    response = client.post(url, {"to": "+1 415 555 0142"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-test-call-outcome="ringing"' in page
    assert "SIP/2.0 180 Ringing" in page and PASSWORD not in page and USERNAME not in page
    again = client.post(url, {"to": DESTINATION})
    assert "A trunk can be checked once every" in again.content.decode(), "the rate limit, in words"
    client.force_login(viewer_a)
    assert client.post(url, {"to": DESTINATION}).status_code == 403


def test_another_workspace_cannot_place_a_test_call_on_a_trunk_of_a(calling, client, customer_b, workspace_a):
    calling(None)
    client.force_login(customer_b)
    binding = selectors.number_get(workspace=workspace_a, number=NUMBER).binding("call")
    url = f"/app/{workspace_a.slug}/numbers/{binding.phone_number.phone_number_uuid}/call/test-call/"
    assert client.post(url, {"to": DESTINATION}).status_code == 404
    assert client.get(url).status_code == 404


def test_the_admin_places_a_test_call_from_the_trunk_page(calling, client, staff_user, workspace_a):
    calling(gateway_xml(challenge=False, then="answer"))
    client.force_login(staff_user)
    binding = selectors.number_get(workspace=workspace_a, number=NUMBER).binding("call")
    url = f"/admin/channels_app/channelbinding/{binding.pk}/test-call/"
    assert url in client.get(f"/admin/channels_app/channelbinding/{binding.pk}/change/").content.decode()
    assert client.get(url).status_code == 200
    page = client.post(url, {"to": DESTINATION}).content.decode()
    assert 'data-test-call-outcome="answered"' in page and "BYE" in page and PASSWORD not in page
