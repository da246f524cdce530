"""SIP username and password are write-only in the admin: never rendered back anywhere.

A marker password entered through the admin is stored encrypted and appears in no admin HTML:
change form, changelists, search results, history, the index's recent actions, an error page.
Blank keeps the stored value, an explicit box clears it, the page says "set / not set".
"""

from __future__ import annotations

import re

import pytest
from django.db import connection

from channels_app.models import ChannelBinding
from tests.admin_support import (
    BINDINGS_URL,
    NUMBERS_URL,
    REGISTER_URL,
    TOKENS_URL,
    change_url,
    form_errors,
    history_url,
    register_data,
    run_action,
    trunk_edit_data,
)
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.domain_asserts import raw_dump

pytestmark = pytest.mark.django_db

MARKERS = (MARKER_PASSWORD, MARKER_USERNAME)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def admin_trunk(staff_client, workspace_a, agent_a):
    """A call trunk registered through the admin form with the marker credentials."""
    response = staff_client.post(
        REGISTER_URL,
        register_data(
            workspace_a,
            agent_a,
            phone_number="+1 202 555 0143",
            sip_gateway="sip.example.com",
            sip_username=MARKER_USERNAME,
            sip_password=MARKER_PASSWORD,
        ),
    )
    assert response.status_code == 302
    return ChannelBinding.objects.select_related("phone_number").get(phone_number__number="+12025550143")


def assert_no_marker(html: str, where: str) -> None:
    for marker in MARKERS:
        assert marker not in html, f"{marker} leaked into {where}"


def admin_pages(binding) -> list[str]:
    number = binding.phone_number
    return [
        "/admin/",
        NUMBERS_URL,
        f"{NUMBERS_URL}?q=202.555.0143",
        change_url(number),
        history_url(number),
        BINDINGS_URL,
        f"{BINDINGS_URL}?q=2025550143",
        change_url(binding),
        history_url(binding),
        REGISTER_URL,
        TOKENS_URL,
    ]


def confirmation_pages(client, binding) -> dict[str, str]:
    """The reassign and unbind confirmation pages of `binding` (answers to the actions' POST)."""
    pages = {}
    for action in ("reassign_selected", "unbind_selected"):
        response = run_action(client, BINDINGS_URL, action, [binding])
        assert response.status_code == 200, action
        pages[action] = response.content.decode()
    return pages


def test_the_marker_password_appears_in_no_admin_page(staff_client, admin_trunk):
    for url in admin_pages(admin_trunk):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_no_marker(response.content.decode(), url)
    for action, html in confirmation_pages(staff_client, admin_trunk).items():
        assert_no_marker(html, action)


def test_the_marker_appears_in_no_page_after_edits_and_a_refused_edit(staff_client, admin_trunk):
    url = change_url(admin_trunk)
    staff_client.post(url, trunk_edit_data(admin_trunk, sip_password=MARKER_PASSWORD + "-2"))
    refused = staff_client.post(url, trunk_edit_data(admin_trunk, sip_password=MARKER_PASSWORD, sip_port="99999"))
    assert refused.status_code == 200
    assert_no_marker(refused.content.decode(), "a refused trunk edit")
    for page in admin_pages(admin_trunk):
        assert_no_marker(staff_client.get(page).content.decode(), page)
    for action, html in confirmation_pages(staff_client, admin_trunk).items():
        assert_no_marker(html, action)


def test_the_credentials_are_stored_encrypted_and_nowhere_in_clear(admin_trunk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT sip_username, sip_password FROM channels_app_channelbinding")
        username, password = cursor.fetchone()
    assert username.startswith("gAAAAA") and password.startswith("gAAAAA")
    dump = repr(raw_dump())
    for marker in MARKERS:
        assert marker not in dump


def test_the_change_form_shows_set_and_when_never_the_values(staff_client, admin_trunk):
    html = staff_client.get(change_url(admin_trunk)).content.decode()
    assert "username set, password set" in html
    assert admin_trunk.credentials_updated_at.strftime("%Y-%m-%d %H:%M") in html
    for name in ("sip_username", "sip_password"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'type="password"' in tag and "value=" not in tag
    assert 'name="clear_sip_username"' in html and 'name="clear_sip_password"' in html
    assert 'value="sip.example.com"' in html  # the gateway is not a secret


def test_blank_credentials_keep_the_stored_values(staff_client, admin_trunk):
    changed_at = admin_trunk.credentials_updated_at
    response = staff_client.post(change_url(admin_trunk), trunk_edit_data(admin_trunk, name="Renamed"))
    assert response.status_code == 302
    admin_trunk.refresh_from_db()
    assert (admin_trunk.name, admin_trunk.sip_username, admin_trunk.sip_password) == (
        "Renamed",
        MARKER_USERNAME,
        MARKER_PASSWORD,
    )
    assert admin_trunk.credentials_updated_at == changed_at


def test_a_new_password_replaces_the_stored_one_and_is_recorded_as_changed(staff_client, admin_trunk):
    changed_at = admin_trunk.credentials_updated_at
    staff_client.post(change_url(admin_trunk), trunk_edit_data(admin_trunk, sip_password="new-secret-value"))
    admin_trunk.refresh_from_db()
    assert (admin_trunk.sip_username, admin_trunk.sip_password) == (MARKER_USERNAME, "new-secret-value")
    assert admin_trunk.credentials_updated_at > changed_at
    record = ChannelBinding.history.latest("history_date")
    assert (record.door, record.action, record.secrets_changed) == ("admin", "updated", ["sip_password"])


def test_the_clear_boxes_clear_the_stored_credentials(staff_client, admin_trunk):
    response = staff_client.post(
        change_url(admin_trunk), trunk_edit_data(admin_trunk, clear_sip_username="on", clear_sip_password="on")
    )
    assert response.status_code == 302
    admin_trunk.refresh_from_db()
    assert (admin_trunk.sip_username, admin_trunk.sip_password) == (None, None)
    assert "username not set, password not set" in staff_client.get(change_url(admin_trunk)).content.decode()


def test_a_new_value_and_clear_together_are_refused_and_nothing_changes(staff_client, admin_trunk):
    response = staff_client.post(
        change_url(admin_trunk), trunk_edit_data(admin_trunk, sip_password="other", clear_sip_password="on")
    )
    assert response.status_code == 200
    assert form_errors(response) == {"sip_password": ["Enter a new value or tick the clear box, not both."]}
    admin_trunk.refresh_from_db()
    assert admin_trunk.sip_password == MARKER_PASSWORD


def test_the_history_shows_the_secrets_only_as_changed(staff_client, admin_trunk):
    staff_client.post(change_url(admin_trunk), trunk_edit_data(admin_trunk, sip_username="someone-else"))
    html = staff_client.get(history_url(admin_trunk.phone_number)).content.decode()
    assert '<span class="changes__key">SIP username</span>: <em>changed</em>' in html
    assert '<span class="changes__key">SIP password</span>: <em>changed</em>' in html
    assert "someone-else" not in html
    assert "Staff admin" in html and "staff-person" in html


def test_the_trunk_change_form_takes_credentials_as_sensitive_post_parameters(staff_client, admin_trunk):
    response = staff_client.post(change_url(admin_trunk), trunk_edit_data(admin_trunk, sip_password="x"))
    assert response.wsgi_request.sensitive_post_parameters == (
        "sip_username",
        "sip_password",
        "wa_access_token",
        "wa_app_secret",
    )


def test_a_trunk_registered_elsewhere_shows_only_its_status_in_the_admin(staff_client, trunk_a):
    for url in (change_url(trunk_a), change_url(trunk_a.phone_number), BINDINGS_URL, NUMBERS_URL):
        html = staff_client.get(url).content.decode()
        assert_no_marker(html, url)
    assert "username set, password set" in staff_client.get(change_url(trunk_a)).content.decode()
