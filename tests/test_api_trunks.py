"""Trunks: register, update, assign, delete, with Idempotency-Key, If-Match and ?dry_run=true."""

from __future__ import annotations

import uuid

import pytest

from channels_app import services
from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.api_support import AGENT_NOT_FOUND, TRUNK_NOT_FOUND, error, validation
from tests.conftest import MARKER_PASSWORD

api, api_b = api_support.api, api_support.api_b
pytestmark = pytest.mark.django_db

NUMBER = "+12025550199"


def register_body(agent, **extra):
    return {"phone_number": "+1 (202) 555-0199", "agent_uuid": str(agent.agent_uuid), "channel": "call", **extra}


def history_count() -> int:
    return PhoneNumber.history.count() + ChannelBinding.history.count()


# --- GET /phone-numbers/trunks -----------------------------------------------------------------------


def test_the_trunk_list_holds_external_numbers_only(api, purchased_a, trunk_a):
    response = api.get("/phone-numbers/trunks")
    assert response.status_code == 200
    assert response.json()["message"] == "Trunks retrieved"
    assert [item["number"] for item in response.json()["data"]["items"]] == ["+12345678901"]
    assert api.get("/phone-numbers/trunks", query={"channel": "whatsapp"}).json()["data"]["items"] == []


# --- POST /phone-numbers/trunks ------------------------------------------------------------------------


def test_registering_a_call_trunk_answers_201_with_the_snapshot(api, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        register_body(agent_a, sip={"gateway": "SIP.Example.com", "port": "5080", "password": MARKER_PASSWORD}),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Trunk created"
    data = body["data"]
    assert data["number"] == NUMBER and data["is_external"] is True
    call = data["channels"]["call"]
    assert call["agent_uuid"] == str(agent_a.agent_uuid)
    trunk = call["trunk"]
    assert (trunk["name"], trunk["direction"], trunk["additional_settings"]) == ("call_trunk_12025550199", "both", {})
    assert trunk["sip"]["gateway"] == "sip.example.com" and trunk["sip"]["port"] == 5080
    assert (trunk["sip"]["has_username"], trunk["sip"]["has_password"]) == (False, True)
    assert response["ETag"] == api.get(f"/phone-numbers/{data['phone_number_uuid']}/channels")["ETag"]
    assert MARKER_PASSWORD not in response.content.decode()
    assert ChannelBinding.objects.get(phone_number__number=NUMBER).sip_password == MARKER_PASSWORD


def test_a_whatsapp_trunk_has_no_direction_and_no_sip(api, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        register_body(agent_a, channel="whatsapp", name="  Support line ", direction="inbound"),
    )
    assert response.status_code == 201
    trunk = response.json()["data"]["channels"]["whatsapp"]["trunk"]
    assert (trunk["name"], trunk["direction"], trunk["sip"]) == ("Support line", None, None)


def test_sip_on_a_whatsapp_trunk_is_a_validation_error_on_sip(api, agent_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, channel="whatsapp", sip={"gateway": "a.b"}))
    assert response.status_code == 422
    assert response.json() == validation({"sip": ["SIP settings apply to the call channel only."]})


def test_sms_on_a_trunk_endpoint_is_unsupported_channel_pointing_to_the_sms_endpoint(api, agent_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, channel="sms"))
    assert response.status_code == 422
    assert response.json() == error(
        "UNSUPPORTED_CHANNEL",
        "SMS cannot be bound through a trunk.",
        "Bind SMS to a purchased number with POST /api/v1/agents/{agent_uuid}/channels/sms.",
        field="channel",
    )


def test_every_mistake_of_a_registration_is_reported_at_once_with_dotted_paths(api, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        register_body(
            agent_a,
            phone_number="+1 202 555 0199 ext. 4",
            direction="sideways",
            sip={"gateway": "sip://host:5060", "port": 70000, "password": "x" * 256, "colour": "red"},
            additional_settings=[1],
        ),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["field"] == "phone_number"
    assert set(body["error"]["fields"]) == {
        "phone_number",
        "direction",
        "sip.gateway",
        "sip.port",
        "sip.password",
        "sip.colour",
        "additional_settings",
    }
    assert body["error"]["details"] == body["error"]["fields"]["phone_number"][0]
    assert "x" * 256 not in response.content.decode()
    assert not PhoneNumber.objects.filter(number=NUMBER).exists()


def test_required_fields_are_named_when_missing(api, workspace_a):
    response = api.post("/phone-numbers/trunks", {})
    assert response.status_code == 422
    assert response.json() == validation(
        {
            "phone_number": ["This field is required."],
            "agent_uuid": ["This field is required."],
            "channel": ["This field is required."],
        }
    )


def test_registering_a_purchased_number_of_the_workspace_is_number_in_inventory(api, agent_a, purchased_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, phone_number="+12025550101"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NUMBER_IN_INVENTORY"
    assert response.json()["error"]["field"] == "phone_number"


def test_registering_a_number_held_by_another_workspace_is_number_unavailable(api, agent_a, purchased_b):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, phone_number="+14155550111"))
    assert response.status_code == 409
    assert response.json() == error(
        "NUMBER_UNAVAILABLE",
        "This number cannot be registered.",
        "The number is not available for registration.",
        field="phone_number",
    )


def test_registering_a_bound_number_on_the_same_channel_is_number_already_bound(api, agents_a, trunk_a):
    response = api.post("/phone-numbers/trunks", register_body(agents_a[1], phone_number="+12345678901"))
    assert response.status_code == 409
    assert response.json() == error(
        "NUMBER_ALREADY_BOUND",
        "This number is already bound on call.",
        "Delete or reassign the existing call binding first.",
        field="phone_number",
    )


def test_an_agent_already_serving_the_channel_is_agent_channel_in_use(api, agent_a, trunk_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a))
    assert response.status_code == 409
    assert response.json() == error(
        "AGENT_CHANNEL_IN_USE",
        "A agent 1 already answers call on +1 234-567-8901.",
        "An agent serves at most one number per channel: unbind it there or choose another agent.",
        field="agent_uuid",
    )
    assert not PhoneNumber.objects.filter(number=NUMBER).exists()


@pytest.mark.parametrize("agent_key", [lambda: str(uuid.uuid4()), lambda: None])
def test_an_unknown_agent_is_agent_not_found(api, workspace_a, agent_b, agent_key):
    key = agent_key() or str(agent_b.agent_uuid)  # unknown, or another workspace's
    response = api.post("/phone-numbers/trunks", {"phone_number": NUMBER, "agent_uuid": key, "channel": "call"})
    assert response.status_code == 404
    assert response.json() == AGENT_NOT_FOUND


# --- ?dry_run=true --------------------------------------------------------------------------------------


def test_a_dry_run_registration_validates_and_previews_but_writes_nothing(api, agent_a):
    before = history_count()
    response = api.post("/phone-numbers/trunks", register_body(agent_a), query={"dry_run": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Dry run: nothing was written"
    assert body["data"]["channels"]["call"]["trunk"]["name"] == "call_trunk_12025550199"
    assert not PhoneNumber.objects.filter(number=NUMBER).exists()
    assert history_count() == before
    assert not response.has_header("ETag")


def test_a_dry_run_reports_the_same_errors_as_the_real_thing(api, agent_a, trunk_a):
    response = api.post(
        "/phone-numbers/trunks", register_body(agent_a, phone_number="+12345678901"), query={"dry_run": "1"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NUMBER_ALREADY_BOUND"


def test_dry_run_must_be_true_or_false(api, agent_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a), query={"dry_run": "maybe"})
    assert response.status_code == 422
    assert response.json() == validation({"dry_run": ["Must be true or false."]})


def test_dry_runs_of_update_assign_and_delete_write_nothing(api, agents_a, trunk_a):
    before = (history_count(), list(ChannelBinding.objects.values_list("name", "agent_id")))
    dry = {"dry_run": "true"}
    update = api.patch(
        "/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call", "name": "n"}, query=dry
    )
    assert update.status_code == 200 and update.json()["data"]["channels"]["call"]["trunk"]["name"] == "n"
    assign = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid)},
        query=dry,
    )
    assert assign.status_code == 200
    assert assign.json()["data"]["channels"]["call"]["agent_uuid"] == str(agents_a[1].agent_uuid)
    delete = api.delete("/phone-numbers/trunks", query={"phone_number": "+12345678901", "channel": "call", **dry})
    assert delete.status_code == 200 and delete.json()["data"] is None
    assert (history_count(), list(ChannelBinding.objects.values_list("name", "agent_id"))) == before


# --- Idempotency-Key ------------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_response(api, agent_a):
    headers = {"Idempotency-Key": "create-0199"}
    first = api.post("/phone-numbers/trunks", register_body(agent_a), headers=headers)
    second = api.post("/phone-numbers/trunks", register_body(agent_a), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["ETag"] == first["ETag"]
    assert second["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert ChannelBinding.objects.filter(phone_number__number=NUMBER).count() == 1
    assert ChannelBinding.history.filter(phone_number_id=PhoneNumber.objects.get(number=NUMBER).pk).count() == 1


def test_an_error_is_replayed_too_and_a_new_key_runs_again(api, agent_a, trunk_a):
    body = register_body(agent_a)
    first = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 409
    again = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "k1"})
    assert (again.status_code, again.json()) == (409, first.json())


def test_the_same_idempotency_key_with_another_body_is_refused(api, agents_a):
    headers = {"Idempotency-Key": "one-key"}
    assert api.post("/phone-numbers/trunks", register_body(agents_a[0]), headers=headers).status_code == 201
    response = api.post(
        "/phone-numbers/trunks", register_body(agents_a[1], phone_number="+12025550198"), headers=headers
    )
    assert response.status_code == 422
    assert response.json() == error(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used for another request",
        "Send a new Idempotency-Key for a request with another body, method or path.",
    )
    assert not PhoneNumber.objects.filter(number="+12025550198").exists()


def test_idempotency_keys_belong_to_one_workspace(api, api_b, agent_a, agent_b):
    headers = {"Idempotency-Key": "shared-key"}
    assert api.post("/phone-numbers/trunks", register_body(agent_a), headers=headers).status_code == 201
    other = api_b.post("/phone-numbers/trunks", register_body(agent_b), headers=headers)
    assert other.status_code == 409  # executed for B (the number is A's now), not A's response replayed
    assert other.json()["error"]["code"] == "NUMBER_UNAVAILABLE"


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_an_idempotency_key_must_be_1_to_255_printable_ascii_characters(api, agent_a, key):
    response = api.post("/phone-numbers/trunks", register_body(agent_a), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert not PhoneNumber.objects.filter(number=NUMBER).exists()


# --- PATCH /phone-numbers/trunks ------------------------------------------------------------------------


def test_an_update_merges_sip_keys_and_replaces_additional_settings(api, trunk_a):
    services_before = ChannelBinding.objects.get(pk=trunk_a.pk)
    response = api.patch(
        "/phone-numbers/trunks",
        {
            "phone_number": "+1 234 567 8901",
            "channel": "call",
            "direction": "outbound",
            "sip": {"secondary_gateway": "10.0.0.2", "username": ""},
            "additional_settings": {"region": "eu"},
        },
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Trunk updated"
    trunk = response.json()["data"]["channels"]["call"]["trunk"]
    assert trunk["direction"] == "outbound"
    assert trunk["additional_settings"] == {"region": "eu"}
    assert trunk["sip"]["gateway"] == "sip.example.com"
    assert trunk["sip"]["secondary_gateway"] == "10.0.0.2"
    assert (trunk["sip"]["has_username"], trunk["sip"]["has_password"]) == (False, True)
    binding = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert binding.sip_password == services_before.sip_password == MARKER_PASSWORD
    assert binding.sip_username is None


def test_a_null_name_restores_the_default_and_empty_settings_clear(api, trunk_a):
    api.patch("/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call", "name": "Custom"})
    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": "+12345678901", "channel": "call", "name": None, "additional_settings": {}},
    )
    trunk = response.json()["data"]["channels"]["call"]["trunk"]
    assert (trunk["name"], trunk["additional_settings"]) == ("call_trunk_12345678901", {})


def test_updating_a_trunk_that_does_not_exist_is_trunk_not_found(api, trunk_a, purchased_a):
    for number, channel in [("+12345678901", "whatsapp"), ("+12025550101", "call"), ("+12025550177", "call")]:
        response = api.patch("/phone-numbers/trunks", {"phone_number": number, "channel": channel, "name": "x"})
        assert response.status_code == 404
        assert response.json() == TRUNK_NOT_FOUND


def test_an_update_needs_the_number_and_the_channel(api, trunk_a):
    response = api.patch("/phone-numbers/trunks", {"name": "x"})
    assert response.status_code == 422
    assert response.json() == validation(
        {"phone_number": ["This field is required."], "channel": ["This field is required."]}
    )


# --- ETag / If-Match -------------------------------------------------------------------------------------


def test_if_match_with_the_current_etag_lets_the_write_through(api, trunk_a):
    etag = api.get(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")["ETag"]
    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": "+12345678901", "channel": "call", "name": "Renamed"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_if_match_with_a_stale_etag_is_precondition_failed_and_changes_nothing(api, agents_a, trunk_a):
    etag = api.get(f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")["ETag"]
    api.patch("/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call", "name": "Theirs"})
    precondition_failed = error(
        "PRECONDITION_FAILED",
        "The number changed since you read it",
        "If-Match does not match the current ETag; read the snapshot again and retry.",
    )
    stale = {"If-Match": etag}
    attempts = [
        api.patch(
            "/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call", "name": "Mine"}, headers=stale
        ),
        api.put(
            "/phone-numbers/trunks/assign",
            {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid)},
            headers=stale,
        ),
        api.delete("/phone-numbers/trunks", query={"phone_number": "+12345678901", "channel": "call"}, headers=stale),
    ]
    for response in attempts:
        assert response.status_code == 412
        assert response.json() == precondition_failed
    binding = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert (binding.name, binding.agent_id) == ("Theirs", agents_a[0].pk)


def test_if_match_star_matches_any_existing_version(api, trunk_a):
    response = api.delete(
        "/phone-numbers/trunks", query={"phone_number": "+12345678901", "channel": "call"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 200


# --- PUT /phone-numbers/trunks/assign -----------------------------------------------------------------------


def test_assigning_changes_only_the_agent(api, agents_a, trunk_a):
    response = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid)},
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Trunk assigned"
    call = response.json()["data"]["channels"]["call"]
    assert (call["agent_uuid"], call["trunk"]["name"]) == (str(agents_a[1].agent_uuid), "call_trunk_12345678901")
    assert call["trunk"]["sip"]["has_password"] is True
    assert ChannelBinding.objects.get(pk=trunk_a.pk).sip_password == MARKER_PASSWORD


def test_assigning_the_current_agent_is_a_successful_no_op(api, agent_a, trunk_a):
    before = ChannelBinding.history.count()
    response = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(agent_a.agent_uuid)},
    )
    assert response.status_code == 200
    assert ChannelBinding.history.count() == before


def test_assigning_an_agent_busy_on_the_channel_is_agent_channel_in_use(
    api, workspace_a, agents_a, trunk_a, command_actor
):
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agents_a[1].agent_uuid,
        channel="call",
    )
    response = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid)},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "AGENT_CHANNEL_IN_USE"


def test_assigning_an_unknown_agent_or_trunk_is_not_found(api, trunk_a):
    unknown_agent = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": str(uuid.uuid4())},
    )
    assert (unknown_agent.status_code, unknown_agent.json()) == (404, AGENT_NOT_FOUND)
    unknown_trunk = api.put(
        "/phone-numbers/trunks/assign",
        {"phone_number": "+12345678901", "channel": "whatsapp", "agent_uuid": str(uuid.uuid4())},
    )
    assert (unknown_trunk.status_code, unknown_trunk.json()) == (404, TRUNK_NOT_FOUND)


# --- DELETE /phone-numbers/trunks --------------------------------------------------------------------------


def test_deleting_one_of_two_trunks_answers_what_remains(api, workspace_a, agents_a, trunk_a, command_actor):
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+12345678901",
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    response = api.delete("/phone-numbers/trunks", query={"phone_number": "+1 234 567 8901", "channel": "call"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Trunk deleted"
    assert body["data"]["channels"]["call"]["bound"] is False
    assert body["data"]["channels"]["whatsapp"]["agent_uuid"] == str(agents_a[1].agent_uuid)
    assert response["ETag"]


def test_deleting_the_last_trunk_takes_the_number_out_of_the_inventory(api, trunk_a):
    response = api.delete("/phone-numbers/trunks", query={"phone_number": "+12345678901", "channel": "call"})
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Trunk deleted", "data": None}
    assert not PhoneNumber.objects.filter(number="+12345678901").exists()


def test_deleting_needs_the_number_and_the_channel(api, trunk_a):
    response = api.delete("/phone-numbers/trunks")
    assert response.status_code == 422
    assert response.json() == validation(
        {"phone_number": ["This field is required."], "channel": ["This field is required."]}
    )


def test_deleting_a_trunk_that_does_not_exist_is_trunk_not_found(api, trunk_a):
    response = api.delete("/phone-numbers/trunks", query={"phone_number": "+12345678901", "channel": "whatsapp"})
    assert response.status_code == 404
    assert response.json() == TRUNK_NOT_FOUND
