"""The `whatsapp` block of a WhatsApp trunk through the REST API: shapes, write-only secrets,
`whatsapp-id-once`, `update-merges`, the audit trail, and the constraints both ways."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from channels_app import selectors, services
from channels_app.models import ChannelBinding
from tests import api_support
from tests.api_support import error, validation
from tests.whatsapp.conftest import register_line
from tests.whatsapp.support import (
    ACCESS_TOKEN,
    APP_SECRET,
    BUSINESS_ACCOUNT_ID,
    NUMBER,
    PHONE_NUMBER_ID,
)

api, api_b = api_support.api, api_support.api_b
pytestmark = pytest.mark.django_db

WHATSAPP_ID_IN_USE = error(
    "WHATSAPP_ID_IN_USE",
    "This WhatsApp phone number id is already connected.",
    "A WhatsApp Business number can be connected to one trunk only.",
    "whatsapp.phone_number_id",
)


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def register_body(agent, **whatsapp):
    return {
        "phone_number": "+1 (415) 555-0123",
        "agent_uuid": str(agent.agent_uuid),
        "channel": "whatsapp",
        "whatsapp": {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": BUSINESS_ACCOUNT_ID,
            "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET,
            **whatsapp,
        },
    }


def test_a_registered_line_answers_its_whatsapp_block_without_any_secret(api, agent_a, settings):
    settings.PUBLIC_BASE_URL = "https://trunkadmin.example.com"
    response = api.post("/phone-numbers/trunks", register_body(agent_a))

    assert response.status_code == 201, response.json()
    binding = ChannelBinding.objects.get()
    trunk = response.json()["data"]["channels"]["whatsapp"]["trunk"]
    assert trunk["whatsapp"] == {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": BUSINESS_ACCOUNT_ID,
        "has_access_token": True,
        "has_app_secret": True,
        "credentials_updated_at": iso(binding.credentials_updated_at),
        "webhook_url": f"https://trunkadmin.example.com/webhooks/whatsapp/{binding.webhook_id}",
        "verify_token": binding.verify_token,
    }
    assert (trunk["sip"], trunk["direction"], trunk["health"]) == (None, None, None)
    assert len(binding.webhook_id) >= 32 and len(binding.verify_token) >= 32
    assert ACCESS_TOKEN not in response.content.decode() and APP_SECRET not in response.content.decode()
    assert (binding.wa_access_token, binding.wa_app_secret) == (ACCESS_TOKEN, APP_SECRET)
    snapshot = api.get(f"/phone-numbers/{binding.phone_number.phone_number_uuid}/channels").json()
    assert snapshot["data"]["channels"]["whatsapp"]["trunk"] == trunk


def test_a_call_trunk_has_no_whatsapp_block_and_refuses_one(api, agent_a):
    body = {"phone_number": "+14155550124", "agent_uuid": str(agent_a.agent_uuid), "channel": "call"}
    created = api.post("/phone-numbers/trunks", body)
    assert created.json()["data"]["channels"]["call"]["trunk"]["whatsapp"] is None

    refused = api.patch(
        "/phone-numbers/trunks", {"phone_number": "+14155550124", "channel": "call", "whatsapp": {"app_secret": "x"}}
    )
    assert refused.status_code == 422
    assert refused.json() == validation({"whatsapp": ["WhatsApp settings apply to the whatsapp channel only."]})


def test_a_whatsapp_trunk_refuses_sip_and_each_bad_key_is_named(api, agent_a):
    body = register_body(agent_a, phone_number_id="12ab", token="x", access_token="has space")
    body["sip"] = {"gateway": "sip.example.com"}
    response = api.post("/phone-numbers/trunks", body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "sip": ["SIP settings apply to the call channel only."],
        "whatsapp.phone_number_id": ["Digits only, at most 32 (copy it from Meta's WhatsApp Manager)."],
        "whatsapp.access_token": ["Letters, digits and punctuation only, without spaces."],
        "whatsapp.token": [
            "Unknown key. Expected one of: phone_number_id, business_account_id, access_token, app_secret."
        ],
    }
    assert not ChannelBinding.objects.exists()


def test_a_phone_number_id_is_connected_once_and_another_workspace_is_not_revealed(
    api, api_b, agent_a, agents_a, agent_b, command_actor, workspace_a
):
    first = api.post("/phone-numbers/trunks", register_body(agent_a))
    assert first.status_code == 201

    same_workspace = api.post("/phone-numbers/trunks", {**register_body(agents_a[1]), "phone_number": "+14155550125"})
    other_workspace = api_b.post("/phone-numbers/trunks", {**register_body(agent_b), "phone_number": "+14155550126"})

    assert same_workspace.status_code == other_workspace.status_code == 409
    assert same_workspace.json() == other_workspace.json() == WHATSAPP_ID_IN_USE
    assert ChannelBinding.objects.count() == 1


def test_an_update_connecting_a_taken_id_is_refused_and_changes_nothing(
    api, agent_a, agents_a, workspace_a, command_actor
):
    register_line(workspace_a, agent_a, command_actor)
    register_line(workspace_a, agents_a[1], command_actor, number="+14155550125", phone_number_id="999")

    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": "+14155550125", "channel": "whatsapp", "whatsapp": {"phone_number_id": PHONE_NUMBER_ID}},
    )

    assert response.status_code == 409
    assert response.json() == WHATSAPP_ID_IN_USE
    assert ChannelBinding.objects.get(phone_number__number="+14155550125").wa_phone_number_id == "999"


def test_an_update_merges_the_block_key_by_key_and_empty_clears(api, line_a):
    before = line_a.credentials_updated_at
    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": NUMBER, "channel": "whatsapp", "whatsapp": {"access_token": "", "business_account_id": "42"}},
    )

    assert response.status_code == 200
    block = response.json()["data"]["channels"]["whatsapp"]["trunk"]["whatsapp"]
    assert (block["phone_number_id"], block["business_account_id"]) == (PHONE_NUMBER_ID, "42")
    assert (block["has_access_token"], block["has_app_secret"]) == (False, True)
    line_a.refresh_from_db()
    assert line_a.wa_access_token is None and line_a.wa_app_secret == APP_SECRET
    assert line_a.credentials_updated_at > before
    unchanged = api.patch("/phone-numbers/trunks", {"phone_number": NUMBER, "channel": "whatsapp", "whatsapp": {}})
    assert unchanged.json()["data"] == response.json()["data"]


def test_the_audit_trail_names_the_secrets_as_changed_only(api, line_a):
    api.patch(
        "/phone-numbers/trunks",
        {"phone_number": NUMBER, "channel": "whatsapp", "whatsapp": {"app_secret": "a-new-secret"}},
    )
    number = selectors.number_get(workspace=line_a.workspace, number=NUMBER)
    events = api.get(f"/phone-numbers/{number.phone_number_uuid}/events").json()["data"]["items"]
    updated = next(event for event in events if event["action"] == "updated")
    registered = next(event for event in events if event["action"] == "registered" and event["channel"])
    assert updated["changes"] == {"whatsapp.app_secret": "changed"}
    assert registered["changes"]["whatsapp.access_token"] == "changed"
    assert registered["changes"]["whatsapp.phone_number_id"] == PHONE_NUMBER_ID
    text = str(events)
    assert APP_SECRET not in text and ACCESS_TOKEN not in text and "a-new-secret" not in text
    assert line_a.verify_token not in text


# --- the database holds the rules too ----------------------------------------------------------


def test_the_database_refuses_a_second_trunk_with_the_same_phone_number_id(
    line_a, workspace_a, agents_a, command_actor
):
    other = register_line(workspace_a, agents_a[1], command_actor, number="+14155550125", phone_number_id="77")
    other.wa_phone_number_id = PHONE_NUMBER_ID
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save()
    with pytest.raises(Exception, match="already connected"):
        other.validate_constraints()


def test_the_database_refuses_whatsapp_settings_on_a_call_trunk(trunk_a):
    trunk_a.wa_phone_number_id = "123"
    with pytest.raises(IntegrityError), transaction.atomic():
        trunk_a.save()
    with pytest.raises(Exception, match="WhatsApp settings apply to WhatsApp trunks only"):
        trunk_a.validate_constraints()


def test_the_database_refuses_a_whatsapp_trunk_without_its_webhook(line_a):
    ChannelBinding.objects.filter(pk=line_a.pk).update(health_status=None)
    line_a.webhook_id = None
    with pytest.raises(IntegrityError), transaction.atomic():
        line_a.save()


def test_a_registration_through_the_service_generates_a_fresh_webhook_per_trunk(workspace_a, agents_a, command_actor):
    first = register_line(workspace_a, agents_a[0], command_actor, phone_number_id="1")
    second = register_line(workspace_a, agents_a[1], command_actor, number="+14155550125", phone_number_id="2")
    assert first.webhook_id != second.webhook_id and first.verify_token != second.verify_token
    assert services.default_trunk_name("whatsapp", NUMBER) == first.name
