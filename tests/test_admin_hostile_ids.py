"""Ids and workspaces from the address, on every staff admin URL that reads one: a 4xx, a redirect
with a message, or ignored; never a 5xx. (The selections of actions are in test_admin_hostile_input.)"""

from __future__ import annotations

import pytest

from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests.admin_support import BINDINGS_URL, NUMBERS_URL, TOKENS_URL

pytestmark = pytest.mark.django_db

KEYS = ["²", "\u0665", "①", "1⁰", "-1", "1.5", "99999999999999999999", "%00", "\x00", "abc", ""]
CHANGELIST_FILTERS = [
    "workspace__id__exact",
    "workspace",
    "agent__id__exact",
    "phone_number__workspace__id__exact",
    "source",
    "channel",
    "ids",
    "p",
    "o",
    "q",
    "_to_field",
    "_popup",
]


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("key", KEYS)
def test_hostile_ids_in_admin_addresses_never_answer_a_5xx(staff, trunk_a, purchased_a, token_a, key):
    before = (ChannelBinding.objects.count(), PhoneNumber.objects.count(), ApiToken.objects.count())
    statuses = []
    for changelist in (BINDINGS_URL, NUMBERS_URL, TOKENS_URL, "/admin/channels_app/agent/"):
        for name in CHANGELIST_FILTERS:
            statuses.append((changelist, name, staff.get(changelist, {name: key}).status_code))
        for view in ("change/", "history/", "delete/", "explain/"):
            statuses.append((changelist, view, staff.get(f"{changelist}{key}/{view}").status_code))
    for path in ("check/", "test-call/"):
        statuses.append((BINDINGS_URL, path, staff.post(f"{BINDINGS_URL}{key}/{path}").status_code))
    for add in ("/admin/channels_app/channelbinding/add/", "/admin/channels_app/phonenumber/import/"):
        statuses.append((add, "workspace", staff.get(add, {"workspace": key}).status_code))
    server_errors = [entry for entry in statuses if entry[2] >= 500]
    print(f"[admin-ids] key {key!r}: {len(statuses)} addresses, 5xx {len(server_errors)}")
    assert server_errors == []
    assert (ChannelBinding.objects.count(), PhoneNumber.objects.count(), ApiToken.objects.count()) == before


@pytest.mark.parametrize("changelist", [BINDINGS_URL, NUMBERS_URL, TOKENS_URL, "/admin/channels_app/agent/"])
def test_a_search_longer_than_any_name_finds_nothing_and_says_so(staff, trunk_a, token_a, changelist):
    # Some 60,000 bytes: more than SQLite's LIKE accepts as a pattern (it raised, a 500).
    response = staff.get(changelist, {"q": "\u0800" * 20_000})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "A search of more than 255 characters, or with a NUL character, finds nothing." in response.content.decode()


@pytest.mark.parametrize("value", ["9" * 40, "\x00", "ws\x00a"])
def test_a_filter_no_database_can_take_leads_back_to_the_list(staff, trunk_a, value):
    # More digits than any key overflow the driver; PostgreSQL refuses NUL in any text.
    response = staff.get(BINDINGS_URL, {"workspace": value, "channel": "call"})
    assert (response.status_code, response["Location"]) == (302, BINDINGS_URL)
    assert "A filter in the address is not valid." in staff.get(BINDINGS_URL).content.decode()


@pytest.mark.parametrize("changelist", [BINDINGS_URL, NUMBERS_URL, TOKENS_URL])
def test_a_search_with_nul_is_answered_without_a_5xx(staff, trunk_a, changelist):
    # PostgreSQL refuses NUL in a LIKE pattern; a search by number spelling reads digits only.
    for search in ("call\x00", "\x00", "+1 234\x00567"):
        assert staff.get(changelist, {"q": search}).status_code == 200
