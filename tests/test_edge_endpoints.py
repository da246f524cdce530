"""The product's internal endpoints for the SIP edge: only the edge (SIP_EDGE_SECRET) is answered,
the decision's shape, the digest answer computed here (the password never leaves), nothing
logged with its body. Django's test client; the edge itself is in tests/edge/."""

from __future__ import annotations

import base64
import logging

import pytest

from channels_app import services
from channels_app.models import Agent
from channels_app.sip import digest
from tests import routing_scenarios as world

pytestmark = pytest.mark.django_db

SECRET = "endpoint-test-secret-0123"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def hexed(text: str) -> str:
    return text.encode().hex()


@pytest.fixture
def edge_client(client, settings):
    settings.SIP_EDGE_SECRET = SECRET
    settings.AGENT_SOURCE_ADDRESSES = [world.MEDIA_SERVERS]
    settings.AGENT_SIP_URI = "sip:{agent_uuid}@127.0.0.50:5070"

    def post(path: str, data: dict, *, auth: str | None = basic("edge", SECRET)):
        headers = {"Authorization": auth} if auth else {}
        return client.post(f"/internal/edge/{path}", data, headers=headers)

    return post


@pytest.fixture
def routing(workspace_a, workspace_b, command_actor):
    return world.build_world(workspace_a, workspace_b, command_actor)


def inbound(to: str, source: str = world.CARRIER_E164) -> dict:
    return {"direction": "inbound", "source": source, "ruri_user_hex": hexed(to), "to_user_hex": hexed(to)}


def test_an_inbound_relay_is_answered_as_flat_strings(edge_client, routing):
    binding = routing[world.N_E164]
    response = edge_client("route", inbound("4155550101"))
    assert response.status_code == 200
    assert response.json() == {
        "action": "relay",
        "uri": f"sip:{binding.agent.agent_uuid}@127.0.0.50:5070",
        "agent": str(binding.agent.agent_uuid),
        "number": world.N_E164,
        "binding": str(binding.uuid),
        "workspace": "ws-a",
    }


def test_a_refusal_carries_the_status_code_and_phrase(edge_client, routing):
    response = edge_client("route", inbound("+14155550101", source=world.STRANGER))
    assert response.json() == {
        "action": "reject",
        "status": "403",
        "reason": "SOURCE_NOT_ALLOWED",
        "phrase": "Source Not Allowed",
    }


def test_an_outbound_relay_names_both_gateways_and_whether_it_authenticates(edge_client, workspace_a, command_actor):
    agent = Agent.objects.create(workspace=workspace_a, name="out")
    binding = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+14155550151",
        agent_uuid=agent.agent_uuid,
        channel="call",
        sip={"gateway": "sip.carrier.example", "secondary_gateway": "2001:db8::7", "username": "u", "password": "p"},
    )
    response = edge_client(
        "route",
        {
            "direction": "outbound",
            "source": world.MEDIA_SERVER,
            "number_hex": hexed("+14155550151"),
            "ruri_user_hex": hexed("+14155550142"),
            "to_user_hex": hexed("+14155550142"),
        },
    )
    assert response.json() == {
        "action": "relay",
        "uri": "sip:+14155550142@sip.carrier.example:5060",
        "next_hop": "sip:sip.carrier.example:5060;transport=udp",
        "from_user": "+14155550151",
        "from_host": "sip.carrier.example",
        "failover_uri": "sip:+14155550142@[2001:db8::7]:5060",
        "failover_next_hop": "sip:[2001:db8::7]:5060;transport=udp",
        "binding": str(binding.uuid),
        "auth": "1",
    }


@pytest.mark.parametrize(
    "auth",
    [None, basic("edge", "wrong-secret-0000000"), basic("other", SECRET), "Basic !!!", f"Bearer {SECRET}"],
)
def test_anyone_but_the_edge_is_refused_and_learns_nothing(edge_client, routing, auth):
    for path in ("route", "digest"):
        response = edge_client(path, inbound("+14155550101"), auth=auth)
        assert response.status_code == 401
        assert response.content == b"edge authentication required\n"


def test_without_a_configured_secret_the_endpoints_refuse_everyone(edge_client, settings, routing):
    settings.SIP_EDGE_SECRET = ""
    assert edge_client("route", inbound("+14155550101"), auth=basic("edge", "")).status_code == 401


def test_the_endpoints_take_post_only_and_refuse_malformed_fields(client, edge_client, routing):
    assert client.get("/internal/edge/route").status_code == 405
    assert (
        edge_client("route", {"direction": "inbound", "source": "127.0.0.11", "to_user_hex": "zz"}).status_code == 400
    )


def test_the_digest_answer_is_computed_here_from_the_stored_credentials(edge_client, routing):
    binding = routing[world.N_E164]
    challenge = 'Digest realm="carrier.test", nonce="abc123", algorithm=MD5, qop="auth"'
    uri = f"sip:+14155550142@{world.GATEWAY[0]}:{world.GATEWAY[1]}"
    response = edge_client(
        "digest",
        {"binding": str(binding.uuid), "method": "INVITE", "uri_hex": hexed(uri), "challenge_hex": hexed(challenge)},
    )
    assert response.status_code == 200
    value = response.content.decode()
    assert world.PASSWORD not in value
    parsed = digest.parse_challenges([value.replace("Digest ", "Digest ", 1)])[0].params
    expected = digest.answer(
        digest.choose(digest.parse_challenges([challenge])),
        method="INVITE",
        uri=uri,
        username=world.USERNAME,
        password=world.PASSWORD,
        cnonce=parsed["cnonce"],
    )
    assert value == expected


def test_a_digest_is_answered_only_for_the_trunks_own_gateways_and_credentials(edge_client, routing):
    challenge = hexed('Digest realm="x", nonce="n"')
    with_credentials = routing[world.N_E164]
    elsewhere = edge_client(
        "digest",
        {"binding": str(with_credentials.uuid), "uri_hex": hexed("sip:+1@evil.example"), "challenge_hex": challenge},
    )
    assert elsewhere.status_code == 404
    without = routing[world.N_NATIONAL]  # no gateway, no credentials
    assert (
        edge_client(
            "digest", {"binding": str(without.uuid), "uri_hex": hexed("sip:+1@127.0.0.31"), "challenge_hex": challenge}
        ).status_code
        == 404
    )
    assert (
        edge_client(
            "digest", {"binding": "not-a-uuid", "uri_hex": hexed("sip:1@x"), "challenge_hex": challenge}
        ).status_code
        == 404
    )


def test_nothing_of_a_request_is_logged(edge_client, routing, caplog):
    caplog.set_level(logging.DEBUG)
    binding = routing[world.N_E164]
    challenge = 'Digest realm="carrier.test", nonce="n-logged-not", algorithm=MD5'
    edge_client("route", inbound("4155550101"))
    edge_client(
        "digest",
        {
            "binding": str(binding.uuid),
            "uri_hex": hexed(f"sip:+1@{world.GATEWAY[0]}"),
            "challenge_hex": hexed(challenge),
        },
    )
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (SECRET, world.PASSWORD, world.USERNAME, "n-logged-not", hexed("4155550101")):
        assert secret not in text
