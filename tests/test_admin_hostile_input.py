"""Hostile strings in every text field of the staff admin's forms, its search and its action
selections: refused or escaped, never a 5xx, never reflected unescaped, never a half-written row."""

from __future__ import annotations

import pytest

from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests.admin_support import BINDINGS_URL, NUMBERS_URL, TOKENS_URL, change_url
from tests.conftest import MARKER_PASSWORD

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "nul\x00inside",
    "x" * 10_000,
    "\u202eevil\u202c",
    "😀📞",
    "<script>alert(1)</script>",
    "'; DROP TABLE channels_app_phonenumber; --",
    '{"a": "\\u0000"}',
]
SCRIPT = b"<script>alert(1)</script>"


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_in_every_admin_field_is_refused_or_escaped(
    client, staff_user, workspace_a, agents_a, trunk_a, value
):
    client.force_login(staff_user)
    numbers_before = PhoneNumber.objects.count()
    register = {
        "workspace": workspace_a.pk,
        "phone_number": value,
        "channel": "call",
        "agent": agents_a[1].pk,
        "name": value,
        "direction": "both",
        "sip_gateway": value,
        "sip_port": value,
        "sip_secondary_gateway": value,
        "sip_username": value,
        "sip_password": value,
        "additional_settings": value,
    }
    edit = {
        "name": value,
        "direction": "both",
        "sip_gateway": value,
        "sip_port": value,
        "sip_secondary_gateway": value,
        "sip_username": value,
        "sip_password": value,
        "additional_settings": value,
    }
    purchased = {"workspace": workspace_a.pk, "number": value, "voice": "on", "monthly_fee": "1.00", "currency": value}
    posts = [
        ("/admin/channels_app/channelbinding/add/", register),
        ("/admin/channels_app/channelbinding/add/", {**register, "phone_number": "+14155552671", "channel": value}),
        (f"/admin/channels_app/channelbinding/{trunk_a.pk}/change/", edit),
        ("/admin/channels_app/phonenumber/add/", purchased),
        ("/admin/channels_app/apitoken/add/", {"workspace": workspace_a.pk, "name": value, "scope": value}),
    ]
    for path, data in posts:
        response = client.post(path, data)
        assert response.status_code in (200, 302), (path, value[:20], response.status_code)
        assert SCRIPT not in response.content
    for path in (
        "/admin/channels_app/phonenumber/",
        "/admin/channels_app/channelbinding/",
        "/admin/channels_app/apitoken/",
        "/admin/channels_app/agent/",
    ):
        response = client.get(path, {"q": value})
        assert response.status_code == 200, (path, response.status_code)
        assert SCRIPT not in response.content
    assert PhoneNumber.objects.count() == numbers_before
    trunk_a.refresh_from_db()
    assert trunk_a.sip_password == MARKER_PASSWORD
    assert all("\x00" not in name for name in ChannelBinding.objects.values_list("name", flat=True))


HOSTILE_KEYS = ["²", "abc", "\u0665", "1e3", "-1", " 1", "1.0", "99999999999999999999", "\x00", "<script>", ""]
CHANGELISTS = {
    BINDINGS_URL: ["reassign_selected", "unbind_selected"],
    NUMBERS_URL: ["release_selected"],
    TOKENS_URL: ["revoke_selected"],
    "/admin/channels_app/workspace/": ["delete_selected"],
    "/admin/channels_app/agent/": ["delete_selected"],
    "/admin/channels_app/membership/": ["delete_selected"],
}


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_a_hostile_selection_is_refused_by_every_action_without_a_5xx_or_a_write(
    client, staff_user, trunk_a, purchased_a, token_a, customer_a, key
):
    client.force_login(staff_user)
    client.raise_request_exception = False
    before = (ChannelBinding.objects.count(), PhoneNumber.objects.count(), ApiToken.history.count())
    for url, actions in CHANGELISTS.items():
        for action in actions:
            for extra in ({"index": "0"}, {"post": "yes"}):
                # The hostile value alone, and next to a real row's key.
                for selected in ([key], [key, str(trunk_a.pk)]):
                    response = client.post(url, {"action": action, "_selected_action": selected, **extra})
                    assert response.status_code == 302, (url, action, key, response.status_code)
                    assert response["Location"] == url
                    assert SCRIPT not in response.content
    assert (ChannelBinding.objects.count(), PhoneNumber.objects.count(), ApiToken.history.count()) == before
    assert "The selection is not valid." in client.get(BINDINGS_URL).content.decode()


def test_a_history_page_or_a_check_of_an_id_that_names_nothing_says_so_without_a_5xx(client, staff_user, trunk_a):
    client.force_login(staff_user)
    client.raise_request_exception = False
    for changelist, key in ((BINDINGS_URL, "²"), (NUMBERS_URL, "abc"), (TOKENS_URL, "99999999999999999999")):
        response = client.get(f"{changelist}{key}/history/")
        assert (response.status_code, response["Location"]) == (302, changelist)
        [message] = [str(message) for message in client.get(changelist).context["messages"]]
        assert message.endswith(f"with ID “{key}” doesn’t exist. Perhaps it was deleted?")  # noqa: RUF001
    response = client.post(f"{BINDINGS_URL}²/check/")
    assert (response.status_code, response["Location"]) == (302, BINDINGS_URL)
    assert client.get(change_url(trunk_a)).status_code == 200


def test_a_hostile_workspace_in_the_register_page_address_is_ignored(client, staff_user, agents_a):
    client.force_login(staff_user)
    client.raise_request_exception = False
    for value in ("²", "\u0665", "99999999999999999999", "abc"):
        response = client.get("/admin/channels_app/channelbinding/add/", {"workspace": value})
        assert response.status_code == 200, value
        assert "A agent 1" in response.content.decode()  # every workspace's agents, as without one
