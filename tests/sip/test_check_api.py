"""`POST /api/v1/phone-numbers/trunks/check`: the trunk check through the REST API.

Real HTTP handling through Django's test client, a real database and, for `ok` and `auth_failed`,
a real SIP peer (sipp on 127.0.0.1). Checks that need no peer use a gateway in a range this
installation refuses: the answer is immediate and no packet is sent.
"""

from __future__ import annotations

import socket
import threading

import pytest
from django.db import connection, transaction

from channels_app import selectors, services
from channels_app.api.serializers import SnapshotSerializer
from channels_app.models import ChannelBinding, ProbeSlot
from tests import api_support
from tests.api_support import INSUFFICIENT_SCOPE, TRUNK_NOT_FOUND, error, validation
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.sip.support import NUMBER, REFUSED_GATEWAY, register_trunk

api, api_read, api_b = api_support.api, api_support.api_read, api_support.api_b
pytestmark = pytest.mark.django_db

PATH = "/phone-numbers/trunks/check"


def check_body(number=NUMBER, channel="call"):
    return {"phone_number": number, "channel": channel}


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def refused_trunk(workspace_a, agent_a, command_actor, settings):
    settings.SIP_CHECK_ALLOW_PRIVATE = False
    return register_trunk(workspace_a, agent_a, command_actor, gateway=REFUSED_GATEWAY, port=5070)


# --- results -----------------------------------------------------------------------------------


def test_a_trunk_whose_gateway_accepts_the_credentials_answers_200_with_ok_in_the_snapshot(
    trunk_on_peer, api, workspace_a, agent_a, command_actor
):
    peer, _ = trunk_on_peer("registrar.xml", username=MARKER_USERNAME, password=MARKER_PASSWORD)

    response = api.post(PATH, check_body("+1 (234) 567-8901"))

    assert response.status_code == 200
    body = response.json()
    binding = ChannelBinding.objects.get()
    number = selectors.number_get(workspace=workspace_a, number=NUMBER)
    assert body == {"success": True, "message": "Trunk checked", "data": SnapshotSerializer(number).data}
    trunk = body["data"]["channels"]["call"]["trunk"]
    assert trunk["sip"] == {
        "gateway": "127.0.0.1",
        "port": peer.port,
        "secondary_gateway": None,
        "has_username": True,
        "has_password": True,
        "credentials_updated_at": iso(binding.credentials_updated_at),
        "inbound_addresses": [],
        "transport": "udp",
        "number_format": "e164",
    }
    [gateway] = trunk["health"]["gateways"]
    assert trunk["health"] == {
        "status": "ok",
        "checked_at": iso(binding.health_checked_at),
        "gateways": [
            {
                "role": "gateway",
                "host": "127.0.0.1",
                "port": peer.port,
                "address": "127.0.0.1",
                "status": "ok",
                "status_line": "SIP/2.0 200 OK",
                "rtt_ms": gateway["rtt_ms"],
                "register": {"status_line": "SIP/2.0 200 OK", "rtt_ms": gateway["register"]["rtt_ms"], "attempts": 2},
                "message": f"127.0.0.1:{peer.port} accepted the credentials (SIP/2.0 200 OK).",
            }
        ],
    }
    assert gateway["rtt_ms"] >= 0 and gateway["register"]["rtt_ms"] >= 0
    assert response["ETag"] == api.get(f"/phone-numbers/{number.phone_number_uuid}/channels")["ETag"]
    assert peer.received() == [
        f"OPTIONS sip:127.0.0.1:{peer.port} SIP/2.0",
        f"REGISTER sip:127.0.0.1:{peer.port} SIP/2.0",
        f"REGISTER sip:127.0.0.1:{peer.port} SIP/2.0",
    ]


def test_a_wrong_password_answers_auth_failed_and_neither_secret_comes_back(
    trunk_on_peer, api, workspace_a, agent_a, command_actor
):
    peer, _ = trunk_on_peer(
        "registrar.xml", peer=(MARKER_USERNAME, "the-right-one"), username=MARKER_USERNAME, password=MARKER_PASSWORD
    )

    response = api.post(PATH, check_body())

    assert response.status_code == 200
    [gateway] = response.json()["data"]["channels"]["call"]["trunk"]["health"]["gateways"]
    assert response.json()["data"]["channels"]["call"]["trunk"]["health"]["status"] == "auth_failed"
    assert (gateway["status"], gateway["status_line"]) == ("auth_failed", "SIP/2.0 200 OK")
    assert gateway["register"]["status_line"] == "SIP/2.0 403 Forbidden"
    assert gateway["message"] == (
        f"127.0.0.1:{peer.port} refused the credentials (SIP/2.0 403 Forbidden). Check the username and password."
    )
    assert MARKER_PASSWORD not in response.content.decode()
    assert MARKER_USERNAME not in response.content.decode()
    assert MARKER_PASSWORD not in peer.wire()


def test_a_refused_address_is_reported_at_once_without_a_packet(api, refused_trunk):
    response = api.post(PATH, check_body())

    assert response.status_code == 200
    refused_trunk.refresh_from_db()
    assert response.json()["data"]["channels"]["call"]["trunk"]["health"] == {
        "status": "refused",
        "checked_at": iso(refused_trunk.health_checked_at),
        "gateways": [
            {
                "role": "gateway",
                "host": REFUSED_GATEWAY,
                "port": 5070,
                "address": REFUSED_GATEWAY,
                "status": "refused",
                "status_line": None,
                "rtt_ms": None,
                "register": None,
                "message": f"{REFUSED_GATEWAY} is a private address ({REFUSED_GATEWAY}). This installation only "
                "checks publicly routable gateways.",
            }
        ],
    }
    assert refused_trunk.health_details["gateways"][0]["attempts"] == 0


def test_a_check_costs_a_bounded_number_of_queries(api, refused_trunk, django_assert_max_num_queries):
    # the token (1) and its last_used_at (1), the throttle's counter (1), the check service (6: the
    # trunk, its probe slots claimed by one upsert in a transaction of their own (3 here, inside the
    # test's transaction: savepoint, upsert, release), the credentials, the result), the snapshot (1)
    with django_assert_max_num_queries(10):
        assert api.post(PATH, check_body()).status_code == 200


# --- the rate limit ---------------------------------------------------------------------------


def test_a_second_check_within_30_seconds_is_429_with_retry_after(api, refused_trunk):
    assert api.post(PATH, check_body()).status_code == 200
    refused_trunk.refresh_from_db()
    first = (refused_trunk.health_checked_at, refused_trunk.health_details)

    response = api.post(PATH, check_body())

    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 30
    assert response.json() == error(
        "RATE_LIMITED",
        "This trunk was checked moments ago.",
        f"A trunk can be checked once every 30 seconds. Try again in {retry_after} seconds.",
    )
    refused_trunk.refresh_from_db()
    assert (refused_trunk.health_checked_at, refused_trunk.health_details) == first


def test_deleting_and_re_registering_the_trunk_does_not_reset_its_rate_limit(api, refused_trunk, agent_a):
    assert api.post(PATH, check_body()).status_code == 200
    deleted = api.delete("/phone-numbers/trunks", query={"phone_number": NUMBER, "channel": "call"})
    assert (deleted.status_code, deleted.json()["data"]) == (200, None)  # the number left the inventory
    for gateway in (REFUSED_GATEWAY, "10.9.9.9"):  # the same gateway, then another one
        registered = api.post(
            "/phone-numbers/trunks",
            {
                "phone_number": NUMBER,
                "agent_uuid": str(agent_a.agent_uuid),
                "channel": "call",
                "sip": {"gateway": gateway},
            },
        )
        assert registered.status_code == 201

        response = api.post(PATH, check_body())

        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 30
        assert response.json()["message"] == "This trunk was checked moments ago."
        assert ChannelBinding.objects.get().health_status is None  # not checked
        api.delete("/phone-numbers/trunks", query={"phone_number": NUMBER, "channel": "call"})


def test_another_workspaces_trunk_on_the_same_gateway_address_is_rate_limited_too(
    api, api_b, refused_trunk, workspace_b, agents_b, command_actor
):
    register_trunk(workspace_b, agents_b[0], command_actor, number="+14155550133", gateway=REFUSED_GATEWAY)
    register_trunk(workspace_b, agents_b[1], command_actor, number="+14155550134", gateway="10.9.9.9")
    assert api.post(PATH, check_body()).status_code == 200

    same_address = api_b.post(PATH, check_body("+14155550133"))
    other_address = api_b.post(PATH, check_body("+14155550134"))

    assert same_address.status_code == 429
    body = same_address.json()
    retry_after = int(same_address["Retry-After"])
    assert body == error(
        "RATE_LIMITED",
        "This gateway was checked moments ago.",
        f"A gateway address can be checked once every 30 seconds, from any trunk. Try again in {retry_after} seconds.",
    )
    assert NUMBER not in same_address.content.decode() and "Workspace A" not in same_address.content.decode()
    assert other_address.status_code == 200
    assert ChannelBinding.objects.get(phone_number__number="+14155550133").health_status is None


def test_a_workspace_cannot_drive_one_gateway_faster_through_several_trunks(
    api, refused_trunk, workspace_a, agents_a, command_actor
):
    register_trunk(workspace_a, agents_a[1], command_actor, number="+12345678902", gateway=REFUSED_GATEWAY)
    register_trunk(
        workspace_a,
        agents_a[2],
        command_actor,
        number="+12345678903",
        gateway="10.9.9.9",
        secondary_gateway=REFUSED_GATEWAY,
    )
    assert api.post(PATH, check_body()).status_code == 200

    for number in ("+12345678902", "+12345678903"):  # as gateway, then as secondary gateway
        response = api.post(PATH, check_body(number))
        assert response.status_code == 429, number
        assert response.json()["message"] == "This gateway was checked moments ago."
    assert ProbeSlot.objects.count() == 2  # trunk A's slot and the address's: the refusals took none


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer_instead_of_checking_again(api, refused_trunk):
    headers = {"Idempotency-Key": "check-once"}
    first = api.post(PATH, check_body(), headers=headers)
    slots = list(ProbeSlot.objects.values_list("key", "until"))

    replay = api.post(PATH, check_body(), headers=headers)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["ETag"] == first["ETag"]
    assert list(ProbeSlot.objects.values_list("key", "until")) == slots


# --- refusals -----------------------------------------------------------------------------------


def test_another_workspaces_trunk_is_404_and_is_not_checked(api_b, trunk_a):
    response = api_b.post(PATH, check_body())

    assert response.status_code == 404
    assert response.json() == TRUNK_NOT_FOUND
    trunk_a.refresh_from_db()
    assert not ProbeSlot.objects.exists() and trunk_a.health_status is None


def test_an_unknown_trunk_and_a_purchased_number_are_404(api, purchased_a):
    for number in ("+12025550177", str(purchased_a.number)):
        response = api.post(PATH, check_body(number))
        assert (response.status_code, response.json()) == (404, TRUNK_NOT_FOUND)


def test_a_read_only_token_is_refused_before_anything_is_checked(api_read, trunk_a):
    response = api_read.post(PATH, check_body())

    assert response.status_code == 403
    assert response.json() == INSUFFICIENT_SCOPE
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_sms_is_an_unsupported_channel_and_an_unconnected_whatsapp_line_says_what_it_lacks(
    api, workspace_a, agents_a, command_actor
):
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agents_a[0].agent_uuid,
        channel="whatsapp",
    )

    sms = api.post(PATH, check_body(channel="sms"))
    whatsapp = api.post(PATH, check_body(channel="whatsapp"))

    assert sms.status_code == whatsapp.status_code == 422
    assert sms.json() == error(
        "UNSUPPORTED_CHANNEL",
        "SMS cannot be bound through a trunk.",
        "Bind SMS to a purchased number with POST /api/v1/agents/{agent_uuid}/channels/sms.",
        "channel",
    )
    # The WhatsApp line check itself: tests/whatsapp/test_line_check.py.
    assert whatsapp.json() == validation(
        {
            "whatsapp.phone_number_id": ["Set the phone number id before checking this line."],
            "whatsapp.access_token": ["Set an access token before checking this line."],
        }
    )


def test_missing_fields_are_reported_together(api):
    response = api.post(PATH, {})

    assert response.status_code == 422
    assert response.json() == validation(
        {"phone_number": ["This field is required."], "channel": ["This field is required."]}
    )


def test_an_unparseable_number_is_a_validation_error_on_phone_number(api, trunk_a):
    response = api.post(PATH, check_body("tel:+12345678901"))

    assert response.status_code == 422
    body = response.json()
    assert (body["error"]["code"], body["error"]["field"]) == ("VALIDATION_ERROR", "phone_number")
    assert list(body["error"]["fields"]) == ["phone_number"]


def test_a_trunk_without_a_gateway_is_a_validation_error_on_sip_gateway(api, workspace_a, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, username="u", password="p")

    response = api.post(PATH, check_body())

    assert response.status_code == 422
    assert response.json() == validation({"sip.gateway": ["Set a gateway before checking this trunk."]})
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_a_body_that_is_not_an_object_is_invalid_json(api, trunk_a):
    response = api.post(PATH, ["+12345678901", "call"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_JSON"


# --- no lock while waiting on the network ---------------------------------------------------------


def ok_answer_to(request: bytes) -> bytes:
    """A minimal 200 OK to a SIP request: its Via, From, To, Call-ID and CSeq echoed (RFC 3261 §8.2.6)."""
    echoed = [
        line
        for line in request.decode().split("\r\n")
        if line.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")
    ]
    return ("\r\n".join(["SIP/2.0 200 OK", *echoed, "Content-Length: 0", "", ""])).encode()


@pytest.mark.django_db(transaction=True)
def test_the_trunk_stays_writable_while_a_check_waits_for_its_gateway(
    client, token_a, workspace_a, agent_a, command_actor, private_allowed
):
    """The check holds no transaction while it waits: a write to the same trunk goes through at once.

    The test itself is the gateway: once it has received the OPTIONS, the check is waiting, and an
    immediate write (PostgreSQL NOWAIT row lock, SQLite without busy wait) must succeed. Then it
    answers 200 OK, and the check ends.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as gateway:
        gateway.bind(("127.0.0.1", 0))
        gateway.settimeout(10)  # only if the check never sends: fail instead of hanging
        register_trunk(workspace_a, agent_a, command_actor, gateway="127.0.0.1", port=gateway.getsockname()[1])
        answers = []

        def check() -> None:
            try:
                answers.append(api_support.ApiClient(client, token_a).post(PATH, check_body()))
            finally:
                connection.close()

        worker = threading.Thread(target=check)
        worker.start()
        try:
            datagram, sender = gateway.recvfrom(65_535)
            assert datagram.startswith(b"OPTIONS sip:127.0.0.1:")
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 0")
            with transaction.atomic():
                ChannelBinding.objects.select_for_update(nowait=connection.vendor != "sqlite").get()
                ChannelBinding.objects.update(name="renamed while checking")
            gateway.sendto(ok_answer_to(datagram), sender)
        finally:
            worker.join()
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 20000")

    [answer] = answers
    assert answer.status_code == 200
    trunk = answer.json()["data"]["channels"]["call"]["trunk"]
    assert trunk["health"]["status"] == "reachable"
    assert trunk["health"]["gateways"][0]["status_line"] == "SIP/2.0 200 OK"
    assert trunk["name"] == "renamed while checking"
