"""Everyday support actions: reassign, unbind, release, revoke; purchased numbers; channel settings.

The four support jobs are changelist actions with a confirmation page (as Django's own
delete_selected): the first POST shows what will happen, the page's form posts the selection back
confirmed, and the service runs for every row with the admin actor. A refusal shows the contract's
message on its row and writes nothing (several rows at once: all of them, or none).
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from channels_app import services
from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests.admin_support import (
    BINDINGS_URL,
    NUMBERS_URL,
    TOKENS_URL,
    bindings_management_form,
    change_url,
    confirm,
    form_errors,
    form_fields,
    run_action,
    trunk_edit_data,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def whatsapp_a(trunk_a, agents_a, command_actor):
    """A WhatsApp trunk on trunk_a's number, served by the second agent of A."""
    return services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- reassign ---------------------------------------------------------------------------------------


def test_reassign_gives_the_trunk_to_another_agent_and_keeps_everything_else(staff_client, trunk_a, agents_a):
    page = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a])
    assert page.status_code == 200
    assert "A agent 2" in page.content.decode()
    response = confirm(staff_client, page, "reassign-form", agent=agents_a[1].pk)
    assert response.status_code == 302
    assert response["Location"] == change_url(trunk_a.phone_number)
    trunk_a.refresh_from_db()
    assert trunk_a.agent == agents_a[1]
    assert (trunk_a.sip_gateway, trunk_a.name) == ("sip.example.com", "call_trunk_12345678901")
    record = ChannelBinding.history.latest("history_date")
    assert (record.door, record.action) == ("admin", "reassigned")


def test_the_reassign_confirmation_carries_the_selection_back_to_the_changelist(staff_client, trunk_a, whatsapp_a):
    page = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a, whatsapp_a])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/channels_app/channelbinding/reassign_selected_confirmation.html"
    assert form_fields(page.content.decode(), "reassign-form") == {
        "_selected_action": [str(trunk_a.pk), str(whatsapp_a.pk)],
        "action": ["reassign_selected"],
        "post": ["yes"],
    }
    assert ChannelBinding.history.filter(action="reassigned").count() == 0


def test_confirming_a_reassign_gives_every_selected_binding_to_the_agent(
    staff_client, trunk_a, whatsapp_a, agents_a, staff_user
):
    page = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a, whatsapp_a])
    response = confirm(staff_client, page, "reassign-form", agent=agents_a[2].pk)
    assert response.status_code == 302
    assert set(ChannelBinding.objects.values_list("agent", flat=True)) == {agents_a[2].pk}
    records = ChannelBinding.history.filter(action="reassigned")
    assert sorted(records.values_list("channel", "door", "history_user")) == [
        ("call", "admin", staff_user.pk),
        ("whatsapp", "admin", staff_user.pk),
    ]


def test_reassign_to_an_agent_already_serving_the_channel_is_refused_on_the_agent_field(
    staff_client, trunk_a, agents_a, purchased_a, command_actor
):
    services.call_provision(
        workspace=trunk_a.workspace,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    response = run_action(
        staff_client, BINDINGS_URL, "reassign_selected", [trunk_a], confirm=True, agent=agents_a[1].pk
    )
    assert response.status_code == 200
    assert form_errors(response) == {
        "agent": [
            "A agent 2 already answers call on +1 202-555-0101. "
            "An agent serves at most one number per channel: unbind it there or choose another agent."
        ]
    }
    trunk_a.refresh_from_db()
    assert trunk_a.agent == agents_a[0]


def test_reassigning_several_bindings_is_all_or_nothing(staff_client, trunk_a, whatsapp_a, agents_a, command_actor):
    services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number="+12025550188",
        agent_uuid=agents_a[2].agent_uuid,
        channel="whatsapp",
    )
    before = ChannelBinding.history.count()
    # agents_a[2] already has a WhatsApp number: the call binding could move, the WhatsApp one not.
    response = run_action(
        staff_client, BINDINGS_URL, "reassign_selected", [trunk_a, whatsapp_a], confirm=True, agent=agents_a[2].pk
    )
    assert response.status_code == 200
    html = response.content.decode()
    [refused] = re.findall(r'<tr class="row-refused">(.*?)</tr>', html, re.S)
    assert "WhatsApp" in refused and "already answers whatsapp on +1 202-555-0188." in refused
    trunk_a.refresh_from_db()
    whatsapp_a.refresh_from_db()
    assert (trunk_a.agent, whatsapp_a.agent) == (agents_a[0], agents_a[1])
    assert ChannelBinding.history.count() == before


def test_bindings_of_two_workspaces_cannot_be_reassigned_together(staff_client, trunk_a, agent_b, command_actor):
    other = services.trunk_register(
        workspace=agent_b.workspace,
        actor=command_actor,
        phone_number="+14155550199",
        agent_uuid=agent_b.agent_uuid,
        channel="call",
    )
    response = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a, other])
    assert response.status_code == 302
    assert messages_of(staff_client.get(response["Location"])) == ["Select bindings of one workspace to reassign them."]


def test_a_binding_of_any_workspace_can_be_reassigned_by_staff(staff_client, agents_b, command_actor):
    other = services.trunk_register(
        workspace=agents_b[0].workspace,
        actor=command_actor,
        phone_number="+14155550199",
        agent_uuid=agents_b[0].agent_uuid,
        channel="call",
    )
    page = run_action(staff_client, BINDINGS_URL, "reassign_selected", [other])
    assert "B agent 2" in page.content.decode() and "A agent 1" not in page.content.decode()
    confirm(staff_client, page, "reassign-form", agent=agents_b[1].pk)
    other.refresh_from_db()
    assert other.agent == agents_b[1]


def test_an_agent_of_another_workspace_cannot_be_chosen(staff_client, trunk_a, agent_b):
    response = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a], confirm=True, agent=agent_b.pk)
    assert response.status_code == 200
    assert "agent" in form_errors(response)
    trunk_a.refresh_from_db()
    assert trunk_a.agent.workspace_id == trunk_a.workspace_id


# --- unbind -------------------------------------------------------------------------------------------


def test_unbinding_the_last_trunk_takes_the_external_number_out_of_the_inventory(staff_client, trunk_a):
    page = run_action(staff_client, BINDINGS_URL, "unbind_selected", [trunk_a])
    assert "leaves the inventory" in page.content.decode()
    assert PhoneNumber.objects.filter(number="+12345678901").exists()
    response = confirm(staff_client, page, "unbind-form")
    assert not PhoneNumber.objects.filter(number="+12345678901").exists()
    assert response["Location"] == BINDINGS_URL  # the number's page is gone with it
    assert "+12345678901 left the inventory with the last trunk." in " ".join(
        messages_of(staff_client.get(response["Location"]))
    )
    record = ChannelBinding.history.latest("history_date")
    assert (record.door, record.action, record.history_type) == ("admin", "deleted", "-")


def test_unbinding_one_of_two_trunks_keeps_the_number(staff_client, trunk_a, whatsapp_a):
    response = run_action(staff_client, BINDINGS_URL, "unbind_selected", [whatsapp_a], confirm=True)
    assert response["Location"] == change_url(trunk_a.phone_number)
    assert list(ChannelBinding.objects.values_list("channel", flat=True)) == ["call"]


def test_confirming_an_unbind_removes_every_selected_binding(
    staff_client, trunk_a, whatsapp_a, purchased_a, agent_a, command_actor
):
    services.sms_assign(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    selected = list(ChannelBinding.objects.all())
    assert len(selected) == 3
    page = run_action(staff_client, BINDINGS_URL, "unbind_selected", selected)
    response = confirm(staff_client, page, "unbind-form")
    assert response.status_code == 302
    assert not ChannelBinding.objects.exists()
    assert list(PhoneNumber.objects.values_list("number", flat=True)) == [purchased_a.number]
    assert ChannelBinding.history.filter(action="deleted", door="admin").count() == 3


def test_unbinding_a_purchased_binding_keeps_the_purchased_number(staff_client, purchased_a, agent_a, command_actor):
    services.sms_assign(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    binding = ChannelBinding.objects.get()
    run_action(staff_client, BINDINGS_URL, "unbind_selected", [binding], confirm=True)
    assert not ChannelBinding.objects.exists()
    assert PhoneNumber.objects.filter(pk=purchased_a.pk).exists()


def test_a_binding_is_never_deleted_around_the_unbind_service(staff_client, trunk_a):
    assert staff_client.get(f"{BINDINGS_URL}{trunk_a.pk}/delete/").status_code == 403
    assert staff_client.post(f"{BINDINGS_URL}{trunk_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert f"{trunk_a.pk}/delete/" not in staff_client.get(change_url(trunk_a)).content.decode()
    assert ChannelBinding.objects.filter(pk=trunk_a.pk).exists()


def test_the_bindings_changelist_offers_no_bulk_delete_that_would_skip_the_rules(staff_client, trunk_a):
    html = staff_client.get(BINDINGS_URL).content.decode()
    assert 'value="delete_selected"' not in html
    assert 'value="unbind_selected"' in html and 'value="reassign_selected"' in html
    response = run_action(staff_client, BINDINGS_URL, "delete_selected", [trunk_a], confirm=True)
    assert response.status_code == 302
    assert ChannelBinding.objects.filter(pk=trunk_a.pk).exists()


# --- release --------------------------------------------------------------------------------------------


def test_release_takes_a_purchased_number_and_its_bindings_out_of_the_inventory(
    staff_client, purchased_a, agent_a, command_actor
):
    services.sms_assign(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    page = run_action(staff_client, NUMBERS_URL, "release_selected", [purchased_a])
    assert "sms → A agent 1" in page.content.decode()
    response = confirm(staff_client, page, "release-form")
    assert response.status_code == 302
    assert response["Location"] == NUMBERS_URL
    assert not PhoneNumber.objects.exists() and not ChannelBinding.objects.exists()
    record = PhoneNumber.history.latest("history_date")
    assert (record.door, record.action) == ("admin", "released")


def test_an_external_number_is_not_releasable_and_nothing_is_released(staff_client, purchased_a, trunk_a):
    response = run_action(
        staff_client, NUMBERS_URL, "release_selected", [purchased_a, trunk_a.phone_number], confirm=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    [refused] = re.findall(r'<tr class="row-refused">(.*?)</tr>', html, re.S)
    assert "+12345678901" in refused and "External numbers cannot be released." in refused
    assert "Nothing was released" in html
    assert PhoneNumber.objects.count() == 2
    assert not PhoneNumber.history.filter(action="released").exists()


def test_the_number_page_offers_release_only_for_purchased_numbers(staff_client, purchased_a, trunk_a):
    html = staff_client.get(change_url(purchased_a)).content.decode()
    assert "release_selected" in html
    assert "release_selected" not in staff_client.get(change_url(trunk_a.phone_number)).content.decode()


def test_numbers_have_no_delete_that_would_skip_the_rules(staff_client, purchased_a):
    assert staff_client.get(f"{NUMBERS_URL}{purchased_a.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in staff_client.get(NUMBERS_URL).content.decode()


# --- purchased numbers and channel settings ------------------------------------------------------------


def test_staff_add_a_purchased_number_in_any_spelling(staff_client, workspace_a, staff_user):
    response = staff_client.post(
        f"{NUMBERS_URL}add/",
        {
            "workspace": workspace_a.pk,
            "number": "+1 (202) 555-0177",
            "voice": "on",
            "sms": "on",
            "monthly_fee": "2.50",
            "currency": "usd",
        },
    )
    number = PhoneNumber.objects.get()
    assert response["Location"] == change_url(number)
    assert (number.e164, number.source, number.sms_capable, number.mms_capable, str(number.monthly_fee)) == (
        "+12025550177",
        "purchased",
        True,
        False,
        "2.50",
    )
    assert number.currency == "USD"
    record = PhoneNumber.history.get()
    assert (record.door, record.history_user, record.action) == ("admin", staff_user, "purchased")


def test_a_number_already_in_the_inventory_cannot_be_added_again(staff_client, workspace_b, purchased_a):
    response = staff_client.post(
        f"{NUMBERS_URL}add/",
        {"workspace": workspace_b.pk, "number": "+1 202-555-0101", "monthly_fee": "1", "currency": "USD"},
    )
    assert response.status_code == 200
    assert form_errors(response) == {
        "number": ["This number is already in the inventory. A number belongs to one workspace at a time."]
    }
    assert PhoneNumber.objects.count() == 1


def test_channel_settings_change_only_what_was_edited(staff_client, purchased_a):
    data = {
        **bindings_management_form(),
        "voice_enabled": "on",
        "voice_channel_limit": "5",
        "voice_whitelisted_destinations": "us, ca",
        "sms_enabled": "on",
        "sms_channel_limit": "",
        "sms_whitelisted_destinations": "",
        "inbound_enabled": "on",
        "inbound_channel_limit": "",
    }
    response = staff_client.post(change_url(purchased_a), data)
    assert response.status_code == 302
    purchased_a.refresh_from_db()
    assert purchased_a.channel_settings["voice"] == {
        "enabled": True,
        "channel_limit": 5,
        "whitelisted_destinations": ["CA", "US"],
    }
    assert purchased_a.channel_settings["sms"]["enabled"] is True
    record = PhoneNumber.history.latest("history_date")
    assert (record.door, record.action) == ("admin", "settings_updated")


def test_a_bad_channel_setting_is_shown_on_its_field_and_nothing_changes(staff_client, purchased_a):
    before = purchased_a.channel_settings
    data = {
        **bindings_management_form(),
        "voice_enabled": "",
        "voice_channel_limit": "0",
        "voice_whitelisted_destinations": "US, XX",
        "inbound_enabled": "on",
    }
    response = staff_client.post(change_url(purchased_a), data)
    assert response.status_code == 200
    assert form_errors(response) == {
        "voice_channel_limit": ["Must be a whole number from 1 to 10000, or null."],
        "voice_whitelisted_destinations": ["Unknown country code(s): XX."],
    }
    purchased_a.refresh_from_db()
    assert purchased_a.channel_settings == before


# --- tokens ------------------------------------------------------------------------------------------------


def test_a_token_created_by_staff_is_shown_once_and_only_its_hash_is_stored(staff_client, workspace_a, staff_user):
    response = staff_client.post(f"{TOKENS_URL}add/", {"workspace": workspace_a.pk, "name": "support", "scope": "read"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    plaintext = response.context["plaintext"]
    assert plaintext.startswith(token.prefix) and plaintext in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert (token.name, token.scope, token.created_by) == ("support", "read", staff_user)
    assert plaintext not in str(ApiToken.objects.values().get())
    for url in (TOKENS_URL, change_url(token), f"{TOKENS_URL}{token.pk}/history/"):
        assert plaintext not in staff_client.get(url).content.decode()


def test_a_token_with_an_expiry_in_the_past_is_refused(staff_client, workspace_a):
    response = staff_client.post(
        f"{TOKENS_URL}add/",
        {
            "workspace": workspace_a.pk,
            "name": "old",
            "scope": "read",
            "expires_at_0": "2001-01-01",
            "expires_at_1": "00:00",
        },
    )
    assert form_errors(response) == {"expires_at": ["Must be in the future."]}
    assert not ApiToken.objects.exists()


def test_revoke_stops_a_token_and_is_recorded(staff_client, token_a):
    token = ApiToken.objects.get()
    page = run_action(staff_client, TOKENS_URL, "revoke_selected", [token])
    assert page.status_code == 200 and token.revoked_at is None
    response = confirm(staff_client, page, "revoke-form")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_at <= timezone.now()
    record = ApiToken.history.latest("history_date")
    assert (record.door, record.action) == ("admin", "revoked")
    history = staff_client.get(f"{TOKENS_URL}{token.pk}/history/").content.decode()
    assert "revoked" in history and "staff-person" in history


def test_confirming_a_revoke_revokes_every_selected_token(staff_client, token_a, token_a_read):
    tokens = list(ApiToken.objects.order_by("pk"))
    page = run_action(staff_client, TOKENS_URL, "revoke_selected", tokens)
    assert form_fields(page.content.decode(), "revoke-form")["_selected_action"] == [
        str(token.pk) for token in sorted(tokens, key=lambda t: (t.created_at, t.pk), reverse=True)
    ]
    confirm(staff_client, page, "revoke-form")
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert ApiToken.history.filter(action="revoked", door="admin").count() == 2


def test_a_token_page_is_read_only(staff_client, token_a):
    token = ApiToken.objects.get()
    html = staff_client.get(change_url(token)).content.decode()
    assert 'name="_save"' not in html
    assert "Revoke" in html
    assert token.token_hash not in html
    assert staff_client.post(change_url(token), {"name": "renamed"}).status_code == 403


# --- editing a trunk ----------------------------------------------------------------------------------


def test_a_whatsapp_trunk_is_edited_without_any_sip_field(staff_client, whatsapp_a):
    page = staff_client.get(change_url(whatsapp_a)).content.decode()
    assert 'name="sip_gateway"' not in page and 'name="direction"' not in page
    response = staff_client.post(
        change_url(whatsapp_a), {"name": "WhatsApp line", "additional_settings": '{"lang": "en"}'}
    )
    assert response.status_code == 302
    whatsapp_a.refresh_from_db()
    assert (whatsapp_a.name, whatsapp_a.additional_settings, whatsapp_a.direction) == (
        "WhatsApp line",
        {"lang": "en"},
        None,
    )


def test_editing_a_trunk_merges_sip_and_replaces_settings_as_the_api_does(staff_client, trunk_a):
    url = change_url(trunk_a)
    staff_client.post(url, trunk_edit_data(trunk_a, sip_port="5080", additional_settings='{"a": 1}'))
    trunk_a.refresh_from_db()
    assert (trunk_a.sip_gateway, trunk_a.sip_port, trunk_a.additional_settings) == ("sip.example.com", "5080", {"a": 1})
    # Emptying the gateway clears it; emptying the settings clears them; an empty name is the default.
    staff_client.post(url, trunk_edit_data(trunk_a, sip_gateway="", additional_settings="", name=""))
    trunk_a.refresh_from_db()
    assert (trunk_a.sip_gateway, trunk_a.sip_port, trunk_a.additional_settings, trunk_a.name) == (
        None,
        "5080",
        {},
        "call_trunk_12345678901",
    )


def test_a_refused_trunk_edit_changes_nothing(staff_client, trunk_a):
    before = ChannelBinding.history.count()
    response = staff_client.post(
        change_url(trunk_a), trunk_edit_data(trunk_a, name="Renamed", sip_gateway="http://bad/")
    )
    assert response.status_code == 200
    assert list(form_errors(response)) == ["sip_gateway"]
    trunk_a.refresh_from_db()
    assert (trunk_a.name, trunk_a.sip_gateway) == ("call_trunk_12345678901", "sip.example.com")
    assert ChannelBinding.history.count() == before


def test_a_number_added_from_a_popup_window_is_kept(staff_client, workspace_a):
    """The admin answers a popup with a page, not a redirect: the write must stay all the same."""
    response = staff_client.post(
        f"{NUMBERS_URL}add/?_popup=1",
        {"_popup": "1", "workspace": workspace_a.pk, "number": "+12025550178", "monthly_fee": "1", "currency": "USD"},
    )
    assert response.status_code == 200
    assert PhoneNumber.objects.filter(number="+12025550178").exists()
