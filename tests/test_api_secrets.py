"""Secrets are write-only: a marker username and password sent through every write never come back."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection

from channels_app.models import ChannelBinding
from tests import api_support
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

api = api_support.api
pytestmark = pytest.mark.django_db

MARKERS = (MARKER_PASSWORD, MARKER_USERNAME)
SIP = {"gateway": "sip.example.com", "username": MARKER_USERNAME, "password": MARKER_PASSWORD}


def assert_no_marker(response) -> None:
    text = response.content.decode()
    headers = json.dumps(dict(response.items()))
    for marker in MARKERS:
        assert marker not in text
        assert marker not in headers


def test_the_marker_never_comes_back_from_any_write_or_read(api, agents_a, purchased_a, client):
    agent, other = str(agents_a[0].agent_uuid), str(agents_a[1].agent_uuid)
    register = {"phone_number": "+12025550199", "agent_uuid": agent, "channel": "call", "sip": SIP}
    key = {"Idempotency-Key": "marker-run"}
    responses = [
        api.post("/phone-numbers/trunks", register, query={"dry_run": "true"}),
        api.post("/phone-numbers/trunks", register, headers=key),
        api.post("/phone-numbers/trunks", register, headers=key),  # replay
        api.post("/phone-numbers/trunks", {**register, "agent_uuid": other}),  # 409
        api.patch("/phone-numbers/trunks", {"phone_number": "+12025550199", "channel": "call", "sip": SIP}),
        api.patch(
            "/phone-numbers/trunks",
            {"phone_number": "+12025550199", "channel": "call", "sip": {**SIP, "gateway": MARKER_PASSWORD + "/"}},
        ),
        api.patch(
            "/phone-numbers/trunks",
            {"phone_number": "+12025550199", "channel": "call", "sip": {"password": MARKER_PASSWORD * 20}},
        ),
        api.post("/phone-numbers/trunks", {**register, "channel": "whatsapp", "agent_uuid": other}),
        api.put(
            "/phone-numbers/trunks/assign", {"phone_number": "+12025550199", "channel": "call", "agent_uuid": other}
        ),
        api.get("/phone-numbers"),
        api.get("/phone-numbers/trunks"),
        api.get("/phone-numbers/channels", query={"number": "+12025550199"}),
        api.get("/phone-numbers", query={"search": MARKER_PASSWORD}),
        api.delete("/phone-numbers/trunks", query={"phone_number": "+12025550199", "channel": "call", "dry_run": "1"}),
        client.get("/api/v1/schema"),
        client.get("/api/docs"),
    ]
    number = ChannelBinding.objects.get(phone_number__number="+12025550199").phone_number
    responses.append(api.get(f"/phone-numbers/{number.phone_number_uuid}/channels"))
    responses.append(api.get(f"/phone-numbers/{number.phone_number_uuid}/events"))
    for response in responses:
        assert response.status_code < 500
        assert_no_marker(response)
    binding = ChannelBinding.objects.get(phone_number=number, channel="call")
    assert (binding.sip_username, binding.sip_password) == (MARKER_USERNAME, MARKER_PASSWORD)
    events = responses[-1].json()["data"]["items"]
    assert {"sip.username": "changed", "sip.password": "changed"}.items() <= events[-2]["changes"].items()


def test_lists_never_read_the_encrypted_columns(api, trunk_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(12) as captured:  # two lists of 6 (each with the throttle's counter)
        assert api.get("/phone-numbers").status_code == 200
        assert api.get("/phone-numbers/trunks").status_code == 200
    selects = [
        query["sql"] for query in captured.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")
    ]
    # An encrypted column appears only as "is it set?", never as a value read back.
    mentions = [match for sql in selects for match in re.finditer(r'"sip_\w+"( IS NOT NULL)?', sql)]
    assert selects and mentions and all(match.group(1) for match in mentions)


def test_lists_answer_even_when_every_stored_credential_is_unreadable(api, trunk_a):
    # Ciphertext no key can read: a list that decrypted anything would fail.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE channels_app_channelbinding SET sip_gateway = %s, sip_username = %s, sip_password = %s",
            ["gAAAAAbroken", "gAAAAAbroken", "gAAAAAbroken"],
        )
    assert api.get("/phone-numbers").status_code == 200
    assert api.get("/phone-numbers/trunks").status_code == 200


def test_a_snapshot_never_decrypts_the_username_or_password(api, trunk_a):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE channels_app_channelbinding SET sip_username = %s, sip_password = %s", ["x", "y"])
    response = api.get(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")
    assert response.status_code == 200
    sip = response.json()["data"]["channels"]["call"]["trunk"]["sip"]
    assert (sip["has_username"], sip["has_password"]) == (True, True)


def test_a_gateway_no_key_can_read_is_service_unavailable_without_details(api, trunk_a):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE channels_app_channelbinding SET sip_gateway = %s", ["gAAAAAbroken"])
    response = api.get(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")
    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "message": "Service unavailable",
        "error": {"code": "SERVICE_UNAVAILABLE", "details": "Please retry later.", "field": None},
    }
    assert response["Retry-After"] == "30"
