"""The self-serve "Why would this call fail?" form: the explainer's answer in words, for every role,
never about another workspace."""

from __future__ import annotations

import pytest

from tests import routing_scenarios as world

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(settings, workspace_a, workspace_b, command_actor):
    settings.AGENT_SOURCE_ADDRESSES = [world.MEDIA_SERVERS]
    return world.build_world(workspace_a, workspace_b, command_actor)


def explain_url(workspace, binding) -> str:
    return f"/app/{workspace.slug}/numbers/{binding.phone_number.phone_number_uuid}/explain/"


def test_the_number_page_offers_the_question(client, viewer_a, workspace_a, routing):
    client.force_login(viewer_a)
    binding = routing[world.N_E164]
    page = client.get(f"/app/{workspace_a.slug}/numbers/{binding.phone_number.phone_number_uuid}/").content.decode()
    assert "Why would this call fail?" in page
    assert f'action="{explain_url(workspace_a, binding)}#answer"' in page


def test_a_viewer_learns_why_an_inbound_call_fails_in_words(client, viewer_a, workspace_a, routing):
    client.force_login(viewer_a)
    binding = routing[world.N_OUTBOUND_ONLY]
    response = client.get(
        explain_url(workspace_a, binding),
        {"direction": "inbound", "source_ip": world.CARRIER_E164, "to": "4155550104"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-decision="reject"' in page and "403 DIRECTION_NOT_ALLOWED" in page
    assert "Call trunk call_trunk_14155550104 is outbound only: it takes no inbound call." in page
    assert response.context["decision"].reason_code == "DIRECTION_NOT_ALLOWED"


def test_an_outbound_question_is_about_this_number(client, customer_a, workspace_a, routing):
    client.force_login(customer_a)
    binding = routing[world.N_E164]
    response = client.get(explain_url(workspace_a, binding), {"direction": "outbound", "to": "+14155550142"})
    decision = response.context["decision"]
    assert decision.relay and decision.binding.number == world.N_E164
    assert "sip:+14155550142@127.0.0.31:5060" in response.content.decode()


def test_a_bad_question_is_shown_next_to_its_field(client, customer_a, workspace_a, routing):
    client.force_login(customer_a)
    response = client.get(explain_url(workspace_a, routing[world.N_E164]), {"direction": "inbound", "to": "1"})
    assert response.context["decision"] is None
    assert response.context["form"].errors == {"source_ip": ["Must be an IPv4 or IPv6 address, e.g. 203.0.113.10."]}


def test_another_workspace_cannot_ask_about_a_number_of_a(client, customer_b, workspace_a, routing):
    client.force_login(customer_b)
    response = client.get(explain_url(workspace_a, routing[world.N_E164]), {"direction": "inbound", "to": "1"})
    assert response.status_code == 404


def test_asking_about_another_tenants_number_from_a_page_of_a_reveals_nothing(client, customer_a, workspace_a, routing):
    client.force_login(customer_a)
    response = client.get(
        explain_url(workspace_a, routing[world.N_E164]),
        {"direction": "inbound", "source_ip": world.CARRIER_OF_B, "to": world.N_OF_B},
    )
    page = response.content.decode()
    assert "is not a number of yours" in page
    assert str(routing[world.N_OF_B].agent.agent_uuid) not in page and "agent of B" not in page


def test_the_admin_explains_a_call_in_words(client, staff_user, routing):
    client.force_login(staff_user)
    number = routing[world.N_AGENT_INACTIVE].phone_number
    page = client.get(f"/admin/channels_app/phonenumber/{number.pk}/change/").content.decode()
    assert f"/admin/channels_app/phonenumber/{number.pk}/explain/" in page
    response = client.get(
        f"/admin/channels_app/phonenumber/{number.pk}/explain/",
        {"direction": "inbound", "source_ip": world.CARRIER_E164, "to": "+14155550106"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "480 AGENT_UNAVAILABLE" in text
    assert "The agent agent of +14155550106 is inactive: it answers no call." in text


def test_the_admin_explainer_needs_the_view_permission(client, routing):
    from tests.conftest import make_user

    user = make_user("plain-staff", is_staff=True)
    client.force_login(user)
    number = routing[world.N_E164].phone_number
    assert client.get(f"/admin/channels_app/phonenumber/{number.pk}/explain/").status_code == 403
    missing = client.get("/admin/channels_app/phonenumber/999999/explain/")
    assert missing.status_code == 302
