"""Workspace B's token against every workspace A object on every endpoint: 404, and nothing of A shows."""

from __future__ import annotations

import pytest

from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.api_support import AGENT_NOT_FOUND, PHONE_NUMBER_NOT_FOUND, TRUNK_NOT_FOUND

api_b = api_support.api_b
pytestmark = pytest.mark.django_db


@pytest.fixture
def a_world(workspace_a, agents_a, purchased_a, trunk_a):
    """Every identifier of workspace A that B must never reach nor see."""
    return {
        "number_uuids": [str(purchased_a.phone_number_uuid), str(trunk_a.phone_number.phone_number_uuid)],
        "agent_uuids": [str(agent.agent_uuid) for agent in agents_a],
        "texts": ["+12025550101", "+12345678901", "A agent", "Workspace A", "ws-a", "sip.example.com"],
    }


def a_identifiers(world) -> list[str]:
    return world["number_uuids"] + world["agent_uuids"] + world["texts"]


def test_workspace_b_gets_404_on_every_workspace_a_object(api_b, a_world, agent_b, purchased_b):
    purchased, external = a_world["number_uuids"]
    a_agent = a_world["agent_uuids"][0]
    b_agent = str(agent_b.agent_uuid)
    attempts = [
        ("PATCH", f"/phone-numbers/{purchased}", {"channel_settings": {}}, None, PHONE_NUMBER_NOT_FOUND),
        ("GET", f"/phone-numbers/{external}/channels", None, None, PHONE_NUMBER_NOT_FOUND),
        ("GET", "/phone-numbers/channels", None, {"number": "+12345678901"}, PHONE_NUMBER_NOT_FOUND),
        ("POST", f"/phone-numbers/{purchased}/release", None, None, PHONE_NUMBER_NOT_FOUND),
        ("GET", f"/phone-numbers/{external}/events", None, None, PHONE_NUMBER_NOT_FOUND),
        (
            "POST",
            "/phone-numbers/trunks",
            {"phone_number": "+12025550166", "agent_uuid": a_agent, "channel": "call"},
            None,
            AGENT_NOT_FOUND,
        ),
        ("PATCH", "/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call"}, None, TRUNK_NOT_FOUND),
        (
            "PUT",
            "/phone-numbers/trunks/assign",
            {"phone_number": "+12345678901", "channel": "call", "agent_uuid": b_agent},
            None,
            TRUNK_NOT_FOUND,
        ),
        ("DELETE", "/phone-numbers/trunks", None, {"phone_number": "+12345678901", "channel": "call"}, TRUNK_NOT_FOUND),
        (
            "POST",
            "/phone-numbers/trunks/check",
            {"phone_number": "+12345678901", "channel": "call"},
            None,
            TRUNK_NOT_FOUND,
        ),
        (
            "POST",
            f"/agents/{a_agent}/channels/sms",
            {"phone_number_uuid": str(purchased_b.phone_number_uuid)},
            None,
            AGENT_NOT_FOUND,
        ),
        ("POST", f"/agents/{b_agent}/channels/sms", {"phone_number_uuid": purchased}, None, PHONE_NUMBER_NOT_FOUND),
        (
            "POST",
            f"/agents/{a_agent}/channels/call/provision",
            {"phone_number_uuid": str(purchased_b.phone_number_uuid)},
            None,
            AGENT_NOT_FOUND,
        ),
        (
            "POST",
            f"/agents/{b_agent}/channels/call/provision",
            {"phone_number_uuid": purchased},
            None,
            PHONE_NUMBER_NOT_FOUND,
        ),
        # dry runs and conditional writes are no side door
        (
            "DELETE",
            "/phone-numbers/trunks",
            None,
            {"phone_number": "+12345678901", "channel": "call", "dry_run": "true"},
            TRUNK_NOT_FOUND,
        ),
    ]
    before = list(ChannelBinding.objects.order_by("pk").values_list("pk", "agent_id", "name"))
    for method, path, body, query, expected in attempts:
        response = api_b.request(method, path, body, query=query, headers={"If-Match": "*"})
        assert (method, path, response.status_code) == (method, path, 404)
        assert response.json() == expected
        for identifier in a_identifiers(a_world):
            assert identifier not in response.content.decode()
    assert list(ChannelBinding.objects.order_by("pk").values_list("pk", "agent_id", "name")) == before
    assert PhoneNumber.objects.filter(workspace__slug="ws-a").count() == 2


def test_workspace_b_lists_show_nothing_of_workspace_a(api_b, a_world, purchased_b):
    a_agent = a_world["agent_uuids"][0]
    for path, query in [
        ("/phone-numbers", None),
        ("/phone-numbers", {"agent_uuid": a_agent}),
        ("/phone-numbers", {"search": "2345678901"}),
        ("/phone-numbers/trunks", None),
        ("/agents", None),
    ]:
        response = api_b.get(path, query=query)
        assert response.status_code == 200
        for identifier in a_identifiers(a_world):
            assert identifier not in response.content.decode()
    assert [item["number"] for item in api_b.get("/phone-numbers").json()["data"]["items"]] == ["+14155550111"]


def test_registering_a_number_held_by_workspace_a_reveals_nothing_about_it(api_b, a_world, agent_b):
    response = api_b.post(
        "/phone-numbers/trunks",
        {"phone_number": "+1 234 567 8901", "agent_uuid": str(agent_b.agent_uuid), "channel": "whatsapp"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NUMBER_UNAVAILABLE"
    for identifier in a_identifiers(a_world):
        assert identifier not in response.content.decode().replace("+1 234 567 8901", "")
