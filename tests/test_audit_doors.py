"""The audit trail through each door: a change via an API token, the self-serve pages and the staff
admin each leave one event with its actor and door, and credentials only as "changed"."""

from __future__ import annotations

import json

import pytest

from channels_app import selectors
from channels_app.models import ChannelBinding, PhoneNumber
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db

NUMBER = "+12345678901"


def _events():
    number = PhoneNumber.objects.get(number=NUMBER)
    return selectors.number_events(number=number)


def _assert_no_secret_anywhere_in_history():
    for model in (PhoneNumber, ChannelBinding):
        for record in model.history.all():
            text = json.dumps([str(getattr(record, f.attname)) for f in record._meta.concrete_fields])
            assert MARKER_PASSWORD not in text and MARKER_USERNAME not in text


def test_a_change_through_an_api_token_records_the_token_and_the_api_door(client, trunk_a, token_a):
    response = client.patch(
        "/api/v1/phone-numbers/trunks",
        data=json.dumps({"phone_number": NUMBER, "channel": "call", "sip": {"password": MARKER_PASSWORD + "-2"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_a}",
    )
    assert response.status_code == 200
    event = _events()[0]
    assert event.door == "api"
    assert event.actor.startswith("token test token (tka_")
    assert event.action == "updated"
    assert event.changes == {"sip.password": "changed"}
    _assert_no_secret_anywhere_in_history()


def test_a_change_through_the_self_serve_pages_records_the_user_and_the_self_serve_door(
    client, trunk_a, customer_a, workspace_a
):
    client.force_login(customer_a)
    number = PhoneNumber.objects.get(number=NUMBER)
    response = client.post(
        f"/app/{workspace_a.slug}/numbers/{number.phone_number_uuid}/call/edit/",
        {
            "name": "Front door",
            "direction": "inbound",
            "sip_gateway": "sip.example.com",
            "sip_port": "",
            "sip_secondary_gateway": "",
            "sip_username": "",
            "sip_password": MARKER_PASSWORD + "-3",
            "additional_settings": "",
        },
    )
    assert response.status_code == 302, response.content[:500]
    event = _events()[0]
    assert (event.door, event.actor, event.action) == ("self_serve", customer_a.username, "updated")
    assert event.changes["name"] == "Front door"
    assert event.changes["direction"] == "inbound"
    assert event.changes["sip.password"] == "changed"
    _assert_no_secret_anywhere_in_history()


def test_a_change_through_the_staff_admin_records_the_staff_user_and_the_admin_door(
    client, trunk_a, staff_user, agents_a
):
    client.force_login(staff_user)
    binding = ChannelBinding.objects.get(phone_number__number=NUMBER, channel="call")
    response = client.post(
        "/admin/channels_app/channelbinding/",
        {"action": "reassign_selected", "_selected_action": [binding.pk], "post": "yes", "agent": agents_a[2].pk},
    )
    events = _events()
    reassigned = [e for e in events if e.action == "reassigned"]
    assert response.status_code == 302, response.content[:500]
    assert len(reassigned) == 1, events[:2]
    assert (reassigned[0].door, reassigned[0].actor) == ("admin", staff_user.username)
    assert reassigned[0].changes == {"agent_uuid": str(agents_a[2].agent_uuid)}
