"""Agents: the list, SMS assign (sms-assign-replaces) and call provisioning."""

from __future__ import annotations

import uuid

import pytest

from channels_app import services
from channels_app.models import Channel, ChannelBinding
from tests import api_support
from tests.api_support import AGENT_NOT_FOUND, PHONE_NUMBER_NOT_FOUND, error, validation

api = api_support.api
pytestmark = pytest.mark.django_db


def sms(agent) -> str:
    return f"/agents/{agent.agent_uuid}/channels/sms"


def provision(agent) -> str:
    return f"/agents/{agent.agent_uuid}/channels/call/provision"


def test_the_agent_list_is_paginated_and_scoped_to_the_workspace(api, agents_a, agents_b):
    response = api.get("/agents", query={"per_page": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Agents retrieved"
    assert body["data"]["items"] == [
        {
            "agent_uuid": str(agent.agent_uuid),
            "name": agent.name,
            "status": "active",
            "created_at": agent.created_at.isoformat().replace("+00:00", "Z"),
        }
        for agent in agents_a[:2]
    ]
    assert body["data"]["pagination"] == {"current_page": 1, "per_page": 2, "total": 3, "last_page": 2}


# --- POST /agents/{uuid}/channels/sms ---------------------------------------------------------------------


def test_assigning_an_sms_number_binds_it_and_answers_the_snapshot(api, agent_a, purchased_a):
    response = api.post(sms(agent_a), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "SMS number assigned"
    assert body["data"]["channels"]["sms"] == {
        "capable": True,
        "enabled": False,
        "channel_limit": None,
        "whitelisted_destinations": [],
        "bound": True,
        "agent_uuid": str(agent_a.agent_uuid),
        "agent_name": agent_a.name,
    }
    assert response["ETag"]


def test_assigning_sms_replaces_the_agents_current_sms_number(api, workspace_a, agent_a, purchased_a, command_actor):
    second = services.number_add_purchased(
        workspace=workspace_a, actor=command_actor, number="+12025550103", capabilities={"sms": True}
    )
    api.post(sms(agent_a), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    response = api.post(sms(agent_a), {"phone_number_uuid": str(second.phone_number_uuid)})
    assert response.status_code == 200
    assert list(
        ChannelBinding.objects.filter(agent=agent_a, channel=Channel.SMS).values_list("phone_number_id", flat=True)
    ) == [second.pk]


def test_an_sms_number_bound_to_another_agent_is_number_already_bound(api, agents_a, purchased_a):
    api.post(sms(agents_a[0]), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    response = api.post(sms(agents_a[1]), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    assert response.status_code == 409
    assert response.json() == error(
        "NUMBER_ALREADY_BOUND",
        "This number is already bound on sms.",
        "Delete or reassign the existing sms binding first.",
        field="phone_number",
    )


def test_a_number_without_sms_or_an_external_one_is_not_capable(api, agent_a, purchased_a_voice_only, trunk_a):
    not_capable = error(
        "NUMBER_NOT_CAPABLE",
        "This number cannot receive SMS bindings.",
        "SMS bindings need a purchased, SMS-capable number.",
        field="phone_number_uuid",
    )
    for number in (purchased_a_voice_only, trunk_a.phone_number):
        response = api.post(sms(agent_a), {"phone_number_uuid": str(number.phone_number_uuid)})
        assert response.status_code == 422
        assert response.json() == not_capable


def test_sms_assign_reports_unknown_agents_numbers_and_bad_input(api, agent_a, workspace_a):
    assert api.post(f"/agents/{uuid.uuid4()}/channels/sms", {"phone_number_uuid": str(uuid.uuid4())}).json() == (
        AGENT_NOT_FOUND
    )
    assert api.post("/agents/not-a-uuid/channels/sms", {}).json() == AGENT_NOT_FOUND
    unknown = api.post(sms(agent_a), {"phone_number_uuid": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()) == (404, PHONE_NUMBER_NOT_FOUND)
    missing = api.post(sms(agent_a), {})
    assert (missing.status_code, missing.json()) == (
        422,
        validation({"phone_number_uuid": ["This field is required."]}),
    )
    malformed = api.post(sms(agent_a), {"phone_number_uuid": "123"})
    assert (malformed.status_code, malformed.json()) == (422, validation({"phone_number_uuid": ["Must be a UUID."]}))


# --- POST /agents/{uuid}/channels/call/provision -------------------------------------------------------------


def test_provisioning_binds_a_purchased_voice_number_on_call_and_answers_the_agent(api, agent_a, purchased_a):
    response = api.post(provision(agent_a), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Number provisioned",
        "data": {
            "agent": {
                "agent_uuid": str(agent_a.agent_uuid),
                "name": agent_a.name,
                "status": "active",
                "created_at": agent_a.created_at.isoformat().replace("+00:00", "Z"),
            }
        },
    }
    assert ChannelBinding.objects.get(phone_number=purchased_a, channel=Channel.CALL).agent_id == agent_a.pk


def test_provisioning_the_same_pair_again_is_a_successful_no_op(api, agent_a, purchased_a):
    body = {"phone_number_uuid": str(purchased_a.phone_number_uuid)}
    api.post(provision(agent_a), body)
    assert api.post(provision(agent_a), body).status_code == 200
    assert ChannelBinding.objects.filter(phone_number=purchased_a).count() == 1


def test_provisioning_a_number_bound_to_another_agent_is_number_already_bound(api, agents_a, purchased_a):
    api.post(provision(agents_a[0]), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    response = api.post(provision(agents_a[1]), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NUMBER_ALREADY_BOUND"


def test_provisioning_an_agent_that_already_has_a_call_number_is_agent_channel_in_use(
    api, agent_a, purchased_a, purchased_a_voice_only
):
    api.post(provision(agent_a), {"phone_number_uuid": str(purchased_a.phone_number_uuid)})
    response = api.post(provision(agent_a), {"phone_number_uuid": str(purchased_a_voice_only.phone_number_uuid)})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "AGENT_CHANNEL_IN_USE"


def test_provisioning_an_external_number_is_not_capable(api, agents_a, trunk_a):
    response = api.post(provision(agents_a[1]), {"phone_number_uuid": str(trunk_a.phone_number.phone_number_uuid)})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "NUMBER_NOT_CAPABLE"


def test_provisioning_for_an_unknown_agent_is_agent_not_found(api, purchased_a):
    response = api.post(
        f"/agents/{uuid.uuid4()}/channels/call/provision", {"phone_number_uuid": str(purchased_a.phone_number_uuid)}
    )
    assert (response.status_code, response.json()) == (404, AGENT_NOT_FOUND)
