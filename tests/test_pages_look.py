"""Pages that explain: the staff workspace overview, reassigning to the same agent, the audit
trail's before -> after, the carrier panel, health lights, password reset mail settings, and the
API docs' descriptions."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from channels_app import selectors, services
from channels_app.event_display import change_lines
from channels_app.models import ChannelBinding
from tests.admin_support import BINDINGS_URL, NUMBERS_URL, run_action
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db

OVERVIEW_URL = "/admin/channels_app/workspace/overview/"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_view_site_leads_staff_to_every_workspace_with_links_into_the_admin(staff_client, trunk_a, workspace_b):
    html = staff_client.get("/admin/").content.decode()
    assert f'href="{OVERVIEW_URL}"' in html
    page = staff_client.get(OVERVIEW_URL).content.decode()
    assert "Workspace A" in page and "Workspace B" in page
    assert f"{NUMBERS_URL}?workspace__id__exact={trunk_a.workspace_id}" in page
    assert f"{BINDINGS_URL}?workspace__id__exact={trunk_a.workspace_id}" in page


def test_the_workspace_overview_is_the_admins_own_page(client, customer_a):
    client.force_login(customer_a)  # a customer, not staff: the admin's login answers
    response = client.get(OVERVIEW_URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_in_no_workspace_are_sent_from_the_customer_pages_to_the_overview(staff_client):
    response = staff_client.get("/app/")
    assert (response.status_code, response["Location"]) == (302, OVERVIEW_URL)


def test_reassigning_the_agent_that_answers_says_nothing_changed(client, customer_a, trunk_a):
    client.force_login(customer_a)
    number = trunk_a.phone_number
    before = len(selectors.number_events(number=number))
    url = f"/app/ws-a/numbers/{number.phone_number_uuid}/call/assign/"
    page = client.post(url, {"agent": str(trunk_a.agent.agent_uuid)}, follow=True).content.decode()
    assert f"Nothing changed: {trunk_a.agent.name} already answers Call." in page
    assert "is now answered by" not in page
    assert len(selectors.number_events(number=number)) == before


def test_the_admin_reassign_action_says_which_bindings_did_not_change(staff_client, trunk_a, agents_a):
    confirm = run_action(staff_client, BINDINGS_URL, "reassign_selected", [trunk_a], confirm=True, agent=agents_a[0].pk)
    page = staff_client.get(confirm["Location"]).content.decode()
    assert f"Nothing changed for +1 234-567-8901 · Call: {agents_a[0].name} already answers it." in page
    assert "Reassigned" not in page


def test_a_binding_is_named_by_its_number_and_channel(trunk_a):
    assert str(ChannelBinding.objects.get(pk=trunk_a.pk)) == "+1 234-567-8901 · Call"


def test_an_update_reads_before_and_after_in_words_and_secrets_only_as_changed(trunk_a, agents_a, command_actor):
    services.trunk_update(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        channel="call",
        direction="outbound",
        sip={"password": "another-secret-9", "transport": "tcp", "inbound_addresses": ["192.0.2.1"]},
        additional_settings={"tier": 2},
    )
    event = selectors.number_events(number=trunk_a.phone_number)[0]
    lines = {line.label: line for line in change_lines(event)}
    assert (lines["Direction"].before, lines["Direction"].after) == ("Both", "Outbound")
    assert (lines["Transport"].before, lines["Transport"].after) == ("—", "TCP")
    assert (lines["Inbound addresses"].before, lines["Inbound addresses"].after) == ("—", "192.0.2.1")
    assert (lines["Additional settings"].before, lines["Additional settings"].after) == ("—", "tier: 2")
    assert (lines["SIP password"].after, lines["SIP password"].before, lines["SIP password"].secret) == (
        "changed",
        None,
        True,
    )
    text = repr(lines)
    assert "another-secret-9" not in text and MARKER_PASSWORD not in text and MARKER_USERNAME not in text


def test_channel_settings_changes_read_one_setting_each(purchased_a, command_actor):
    services.number_update_settings(
        workspace=purchased_a.workspace,
        actor=command_actor,
        phone_number_uuid=purchased_a.phone_number_uuid,
        channel_settings={"voice": {"channel_limit": 5}},
    )
    event = selectors.number_events(number=purchased_a)[0]
    lines = [(line.label, line.before, line.after) for line in change_lines(event)]
    assert ("Voice: channel limit", "—", "5") in lines, lines
    assert all("{" not in after for _label, _before, after in lines)


def test_the_number_list_shows_a_health_light_per_call_trunk_with_the_time(
    client, customer_a, trunk_a, django_assert_max_num_queries
):
    from django.utils import timezone

    ChannelBinding.objects.filter(pk=trunk_a.pk).update(health_status="ok", health_checked_at=timezone.now())
    client.force_login(customer_a)
    html = client.get("/app/ws-a/numbers/").content.decode()
    assert 'data-health-light="ok"' in html and "checked <time" in html
    admin_html = client.get(NUMBERS_URL)
    assert admin_html.status_code in (302, 403)  # customers never see the admin


def test_the_carrier_panel_names_every_address_the_carrier_needs(client, customer_a, trunk_a, settings):
    client.force_login(customer_a)
    html = client.get(f"/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/").content.decode()
    assert "Connect your carrier" in html
    assert f"sip:+12345678901@{settings.SIP_EDGE_PUBLIC_ADDRESS}" in html
    assert ", ".join(settings.SIP_SIGNALLING_ADDRESSES) in html
    assert html.count("data-copy=") == 4 and "This trunk accepts no inbound call" in html


def test_the_api_docs_describe_operations_without_the_base_views_note(client):
    schema = client.get("/api/v1/schema").content.decode()
    assert "Base of every authenticated endpoint" not in schema
    assert schema.count('"example":"external"') + schema.count('"example": "external"') >= 2


def test_the_api_docs_name_no_module_of_the_product(client):
    """Descriptions in the schema come from docstrings; a reader of the docs never sees a module path."""
    schema = client.get("/api/v1/schema").content.decode()
    modules = ("selectors.", "services.", "routing.decision", "channels_app.", "health_details")
    assert [name for name in modules if name in schema] == []


@pytest.mark.django_db
def test_a_mistyped_new_password_is_listed_with_its_field(client, customer_a):
    """The reset pages share the product's error summary: each problem named and linked to its field."""
    uid = urlsafe_base64_encode(force_bytes(customer_a.pk))
    token = default_token_generator.make_token(customer_a)
    form_url = client.get(f"/accounts/reset/{uid}/{token}/", follow=True).redirect_chain[-1][0]
    mistyped = {"new_password1": "x1-Unusual-pass", "new_password2": "x2-Other-pass"}
    html = client.post(form_url, mistyped).content.decode()
    assert "data-error-summary" in html and 'href="#id_new_password2"' in html
