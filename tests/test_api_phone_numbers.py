"""Phone numbers: list, channel-settings update, both snapshot lookups, release, events."""

from __future__ import annotations

import uuid

import pytest

from channels_app import services
from channels_app.audit import Actor, Door
from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.api_support import PHONE_NUMBER_NOT_FOUND, error, validation

api = api_support.api
pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_bound(workspace_a, agents_a, purchased_a, command_actor):
    services.sms_assign(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[2].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    return purchased_a


def numbers_of(response) -> list[str]:
    return [item["number"] for item in response.json()["data"]["items"]]


# --- GET /phone-numbers ------------------------------------------------------------------------


def test_the_list_holds_purchased_and_external_numbers_in_the_phone_number_shape(api, purchased_a, trunk_a, agent_a):
    response = api.get("/phone-numbers")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["message"] == "Phone numbers retrieved"
    assert body["data"]["pagination"] == {"current_page": 1, "per_page": 15, "total": 2, "last_page": 1}
    external = next(item for item in body["data"]["items"] if item["is_external"])
    assert external == {
        "phone_number_uuid": str(trunk_a.phone_number.phone_number_uuid),
        "number": "+12345678901",
        "country_code": "US",
        "location": external["location"],
        "type": external["type"],
        "is_external": True,
        "source": "external",
        "status": "active",
        "compliance": {"status": "not_required", "requirements": []},
        "capabilities": {
            "voice": True,
            "sms": False,
            "mms": False,
            "fax": False,
            "emergency": False,
            "local_calling": True,
        },
        "channel_settings": {
            "voice": {"enabled": True, "channel_limit": None, "whitelisted_destinations": []},
            "sms": {"enabled": False, "channel_limit": None, "whitelisted_destinations": []},
            "inbound": {"enabled": True, "channel_limit": None},
        },
        "billing": {"monthly_fee": 0.0, "currency": "USD"},
        "bindings": {
            "call": {"bound": True, "agent_uuid": str(agent_a.agent_uuid), "agent_name": agent_a.name},
            "sms": {"bound": False, "agent_uuid": None, "agent_name": None},
            "whatsapp": {"bound": False, "agent_uuid": None, "agent_name": None},
        },
        "purchased_at": None,
        "updated_at": external["updated_at"],
    }


def test_the_list_filters_by_source_channel_agent_and_digits(api, purchased_a, sms_bound, trunk_a, agents_a):
    assert numbers_of(api.get("/phone-numbers", query={"source": "external"})) == ["+12345678901"]
    assert numbers_of(api.get("/phone-numbers", query={"source": "purchased"})) == ["+12025550101"]
    assert numbers_of(api.get("/phone-numbers", query={"channel": "sms"})) == ["+12025550101"]
    assert numbers_of(api.get("/phone-numbers", query={"channel": "whatsapp"})) == []
    assert numbers_of(api.get("/phone-numbers", query={"agent_uuid": str(agents_a[0].agent_uuid)})) == ["+12345678901"]
    assert numbers_of(api.get("/phone-numbers", query={"search": "(202) 555"})) == ["+12025550101"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"source": "stolen"}, "source", "Must be one of: purchased, external."),
        ({"channel": "fax"}, "channel", "Must be one of: call, whatsapp, sms."),
        ({"agent_uuid": "nope"}, "agent_uuid", "Must be a UUID."),
        ({"search": "abc"}, "search", "Search by the digits of the number."),
        ({"page": "0"}, "page", "Must be a whole number, 1 or more."),
        ({"page": "x"}, "page", "Must be a whole number, 1 or more."),
        ({"per_page": "101"}, "per_page", "Must be at most 100."),
        ({"per_page": "-1"}, "per_page", "Must be a whole number, 1 or more."),
    ],
)
def test_a_bad_list_parameter_is_a_validation_error_on_that_parameter(api, query, field, message):
    response = api.get("/phone-numbers", query=query)
    assert response.status_code == 422
    assert response.json() == validation({field: [message]})


def test_the_list_is_paginated_and_a_page_past_the_end_is_empty(api, workspace_a, command_actor):
    for i in range(5):
        services.number_add_purchased(workspace=workspace_a, actor=command_actor, number=f"+1202555013{i}")
    page2 = api.get("/phone-numbers", query={"per_page": 2, "page": 2}).json()["data"]
    assert [item["number"] for item in page2["items"]] == ["+12025550132", "+12025550133"]
    assert page2["pagination"] == {"current_page": 2, "per_page": 2, "total": 5, "last_page": 3}
    beyond = api.get("/phone-numbers", query={"per_page": 2, "page": 9}).json()["data"]
    assert beyond == {"items": [], "pagination": {"current_page": 9, "per_page": 2, "total": 5, "last_page": 3}}


# --- PATCH /phone-numbers/{uuid} ----------------------------------------------------------------


def test_patching_channel_settings_changes_only_the_keys_sent(api, purchased_a):
    response = api.patch(
        f"/phone-numbers/{purchased_a.phone_number_uuid}",
        {"channel_settings": {"voice": {"channel_limit": 5, "whitelisted_destinations": ["us", "GB"]}}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Phone number updated"
    assert body["data"]["channel_settings"] == {
        "voice": {"enabled": True, "channel_limit": 5, "whitelisted_destinations": ["GB", "US"]},
        "sms": {"enabled": False, "channel_limit": None, "whitelisted_destinations": []},
        "inbound": {"enabled": True, "channel_limit": None},
    }
    purchased_a.refresh_from_db()
    assert purchased_a.channel_settings["voice"]["channel_limit"] == 5


def test_bad_channel_settings_name_every_offending_key_by_its_dotted_path(api, purchased_a):
    response = api.patch(
        f"/phone-numbers/{purchased_a.phone_number_uuid}",
        {"channel_settings": {"voice": {"channel_limit": 0}, "inbound": {"enabled": "yes"}, "fax": {}}},
    )
    assert response.status_code == 422
    assert response.json() == validation(
        {
            "channel_settings.voice.channel_limit": ["Must be a whole number from 1 to 10000, or null."],
            "channel_settings.inbound.enabled": ["Must be true or false."],
            "channel_settings.fax": ["Unknown section. Expected one of: voice, sms, inbound."],
        }
    )
    purchased_a.refresh_from_db()
    assert purchased_a.channel_settings["voice"]["channel_limit"] is None


def test_patching_without_channel_settings_is_a_validation_error(api, purchased_a):
    response = api.patch(f"/phone-numbers/{purchased_a.phone_number_uuid}", {})
    assert response.status_code == 422
    assert response.json() == validation({"channel_settings": ["This field is required."]})


@pytest.mark.parametrize("key", [str(uuid.uuid4()), "not-a-uuid"])
def test_patching_an_unknown_number_is_phone_number_not_found(api, key):
    response = api.patch(f"/phone-numbers/{key}", {"channel_settings": {}})
    assert response.status_code == 404
    assert response.json() == PHONE_NUMBER_NOT_FOUND


# --- snapshots ---------------------------------------------------------------------------------


def test_the_snapshot_by_uuid_describes_every_channel_and_carries_an_etag(api, trunk_a, agent_a):
    number = trunk_a.phone_number
    response = api.get(f"/phone-numbers/{number.phone_number_uuid}/channels")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    data = response.json()["data"]
    call = data["channels"]["call"]
    assert data["number"] == "+12345678901" and data["is_external"] is True and data["source"] == "external"
    assert (call["bound"], call["agent_uuid"], call["agent_name"]) == (True, str(agent_a.agent_uuid), agent_a.name)
    assert call["trunk"]["name"] == "call_trunk_12345678901"
    assert call["trunk"]["direction"] == "both"
    assert {k: v for k, v in call["trunk"]["sip"].items() if k != "credentials_updated_at"} == {
        "gateway": "sip.example.com",
        "port": 5060,
        "secondary_gateway": None,
        "has_username": True,
        "has_password": True,
        "inbound_addresses": [],
        "transport": "udp",
        "number_format": "e164",
    }
    assert data["channels"]["whatsapp"] == {"bound": False, "agent_uuid": None, "agent_name": None, "trunk": None}
    assert data["channels"]["inbound"] == {"enabled": True, "channel_limit": None}


@pytest.mark.parametrize("spelling", ["+1 234 567 8901", "1-234-567-8901", "+1 (234) 567.8901", "12345678901"])
def test_the_snapshot_by_number_accepts_any_common_spelling(api, trunk_a, spelling):
    by_uuid = api.get(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")
    response = api.get("/phone-numbers/channels", query={"number": spelling})
    assert response.status_code == 200
    assert response.json() == by_uuid.json()
    assert response["ETag"] == by_uuid["ETag"]


def test_the_snapshot_by_number_needs_a_valid_number(api):
    missing = api.get("/phone-numbers/channels")
    assert missing.status_code == 422
    assert missing.json() == validation({"number": ["This field is required."]})
    national = api.get("/phone-numbers/channels", query={"number": "0201 555 0123"})
    assert national.status_code == 422
    assert national.json()["error"]["field"] == "number"
    assert "National formats are not accepted" in national.json()["error"]["details"]


def test_a_snapshot_of_an_unknown_number_is_phone_number_not_found(api, workspace_a):
    assert api.get(f"/phone-numbers/{uuid.uuid4()}/channels").json() == PHONE_NUMBER_NOT_FOUND
    response = api.get("/phone-numbers/channels", query={"number": "+12025550177"})
    assert response.status_code == 404
    assert response.json() == PHONE_NUMBER_NOT_FOUND


# --- POST /phone-numbers/{uuid}/release -------------------------------------------------------------


def test_releasing_a_purchased_number_removes_it_and_its_bindings(api, sms_bound):
    response = api.post(f"/phone-numbers/{sms_bound.phone_number_uuid}/release")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Phone number released", "data": None}
    assert not PhoneNumber.objects.filter(pk=sms_bound.pk).exists()
    assert not ChannelBinding.objects.filter(phone_number_id=sms_bound.pk).exists()


def test_an_external_number_cannot_be_released(api, trunk_a):
    response = api.post(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/release")
    assert response.status_code == 409
    assert response.json() == error(
        "EXTERNAL_NUMBER_NOT_RELEASABLE",
        "External numbers cannot be released.",
        "Delete the number's trunks instead; it leaves the inventory with its last trunk.",
    )
    assert PhoneNumber.objects.filter(pk=trunk_a.phone_number_id).exists()


def test_releasing_an_unknown_number_is_phone_number_not_found(api, workspace_a):
    response = api.post(f"/phone-numbers/{uuid.uuid4()}/release")
    assert response.status_code == 404
    assert response.json() == PHONE_NUMBER_NOT_FOUND


# --- GET /phone-numbers/{uuid}/events -----------------------------------------------------------------


def test_events_list_the_trail_newest_first_with_door_and_secrets_only_as_changed(api, trunk_a, workspace_a):
    number = trunk_a.phone_number
    update = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": "+12345678901", "channel": "call", "sip": {"password": "new-secret-value"}},
    )
    assert update.status_code == 200
    response = api.get(f"/phone-numbers/{number.phone_number_uuid}/events")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pagination"] == {"current_page": 1, "per_page": 15, "total": 3, "last_page": 1}
    newest = data["items"][0]
    assert newest["door"] == "api"
    assert newest["actor"].startswith("token test token (tka_")
    assert newest["action"] == "updated"
    assert newest["channel"] == "call"
    assert newest["changes"] == {"sip.password": "changed"}
    assert [item["door"] for item in data["items"]] == ["api", "command", "command"]
    assert "new-secret-value" not in response.content.decode()
    assert api.get(f"/phone-numbers/{number.phone_number_uuid}/events", query={"per_page": 1}).json()["data"][
        "pagination"
    ] == {"current_page": 1, "per_page": 1, "total": 3, "last_page": 3}


def test_events_of_an_unknown_number_are_phone_number_not_found(api, workspace_a):
    response = api.get(f"/phone-numbers/{uuid.uuid4()}/events")
    assert response.status_code == 404
    assert response.json() == PHONE_NUMBER_NOT_FOUND


def test_a_number_released_through_the_api_records_the_api_door(api, workspace_a, purchased_a):
    api.post(f"/phone-numbers/{purchased_a.phone_number_uuid}/release")
    record = PhoneNumber.history.filter(id=purchased_a.pk).order_by("-history_id").first()
    assert (record.door, record.action, record.history_type) == (Door.API, "released", "-")
    assert Actor(door=Door.API).door == record.door
