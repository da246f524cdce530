"""`default-region`: a workspace's default country decides how a number typed without + is read,
through every door (the parser, the API, the pages, CSV, search); its admins set it on a
settings page, staff in the admin."""

from __future__ import annotations

import pytest

from channels_app import numbers, services
from channels_app.audit import Actor
from channels_app.errors import ValidationFailed
from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.admin_support import csv_text, row
from tests.test_import_trunks import run
from tests.test_pages_numbers import REGISTER, field_errors, register_data

pytestmark = pytest.mark.django_db
api = api_support.api
SETTINGS = "/app/ws-a/settings/"
ADD_COUNTRY_CODE = (
    "National formats are not accepted without a country code: add it. Enter the number in international "
    "format with its country code, e.g. +1 202 555 0123, or set the workspace's default country."
)


@pytest.fixture
def us_workspace(workspace_a):
    services.workspace_update_settings(workspace=workspace_a, actor=Actor.command("tests"), default_region="US")
    workspace_a.refresh_from_db()
    return workspace_a


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("475-234-5678", "+14752345678"),  # never Norway (+47)
        ("(202) 555-0143", "+12025550143"),
        ("1 202 555 0143", "+12025550143"),
        ("+44 20 7183 8750", "+442071838750"),  # with + it is read as typed
    ],
)
def test_a_us_region_reads_national_spellings_as_us_numbers(typed, e164):
    assert numbers.to_e164(typed, "US") == e164


def test_a_gb_region_reads_the_national_trunk_prefix():
    assert numbers.to_e164("020 7183 8750", "GB") == "+442071838750"


@pytest.mark.parametrize("typed", ["(202) 555-0143", "202-555-0143", "020 7183 8750"])
def test_without_a_region_a_nationally_valid_spelling_says_to_add_the_country_code(typed):
    with pytest.raises(numbers.InvalidNumber) as refused:
        numbers.to_e164(typed)
    assert str(refused.value) == ADD_COUNTRY_CODE


def test_without_a_region_digits_are_read_as_international_as_before():
    assert numbers.to_e164("475-234-5678") == "+4752345678"  # a valid Norwegian number


@pytest.mark.parametrize("typed", ["tel:2025550143", "202 555 0143 ext. 4", "2025550143x4"])
def test_extensions_and_tel_uris_are_refused_with_a_region_too(typed):
    with pytest.raises(numbers.InvalidNumber):
        numbers.to_e164(typed, "US")


def test_a_spelling_not_valid_in_the_region_says_so_and_how_to_write_another_country():
    with pytest.raises(numbers.InvalidNumber) as refused:
        numbers.to_e164("442071838750", "US")
    assert str(refused.value).startswith("This is not a valid number in United States. For a number of another")


def test_the_api_registers_a_national_number_in_a_us_workspace(api, us_workspace, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        {"phone_number": "475-234-5678", "channel": "call", "agent_uuid": str(agent_a.agent_uuid)},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["number"] == "+14752345678"
    assert api.get("/phone-numbers/channels?number=(475) 234-5678").status_code == 200


def test_the_api_refuses_a_national_number_without_a_region(api, workspace_a, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        {"phone_number": "(202) 555-0143", "channel": "call", "agent_uuid": str(agent_a.agent_uuid)},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"phone_number": [ADD_COUNTRY_CODE]}
    assert PhoneNumber.objects.count() == 0


def test_csv_rows_are_read_in_the_workspace_region(us_workspace, agents_a):
    report = run(us_workspace, csv_text(row("(202) 555-0143", agents_a[0]), row("202.555.0144", agents_a[1])))
    assert [r.e164 for r in report.rows] == ["+12025550143", "+12025550144"]


def test_the_register_page_says_which_country_it_assumes(client, customer_a, us_workspace, agent_a):
    client.force_login(customer_a)
    html = client.get(REGISTER).content.decode()
    assert "we read it as a number of United States" in html
    response = client.post(REGISTER, register_data(agent_a, phone_number="475-234-5678"))
    assert response.status_code == 302
    assert ChannelBinding.objects.get().phone_number.e164 == "+14752345678"


def test_the_register_page_refuses_a_national_number_without_a_region(client, customer_a, agent_a):
    client.force_login(customer_a)
    html = client.post(REGISTER, register_data(agent_a, phone_number="(202) 555-0143")).content.decode()
    assert field_errors(html, "phone_number") == [ADD_COUNTRY_CODE]


def test_search_finds_a_number_by_its_national_spelling_with_the_leading_zero(api, workspace_a, agent_a):
    services.workspace_update_settings(workspace=workspace_a, actor=Actor.command("tests"), default_region="GB")
    services.trunk_register(
        workspace=workspace_a,
        actor=Actor.command("tests"),
        phone_number="+44 20 7183 8750",
        agent_uuid=agent_a.agent_uuid,
        channel="call",
    )
    items = api.get("/phone-numbers?search=020 7183 8750").json()["data"]["items"]
    assert [item["number"] for item in items] == ["+442071838750"]


# --- who sets it -----------------------------------------------------------------------------------


def test_a_workspace_admin_sets_the_default_country_on_the_settings_page(client, customer_a, workspace_a):
    client.force_login(customer_a)
    assert 'href="/app/ws-a/settings/"' in client.get("/app/ws-a/numbers/").content.decode()
    response = client.post(SETTINGS, {"default_region": "US"}, follow=True)
    assert "Numbers typed without a country code are now read as numbers of United States." in (
        response.content.decode()
    )
    workspace_a.refresh_from_db()
    assert workspace_a.default_region == "US"
    client.post(SETTINGS, {"default_region": ""})
    workspace_a.refresh_from_db()
    assert workspace_a.default_region == ""


@pytest.mark.parametrize("member", ["developer_a", "viewer_a"])
def test_developers_and_viewers_cannot_change_the_settings(client, member, request, workspace_a):
    client.force_login(request.getfixturevalue(member))
    assert 'href="/app/ws-a/settings/"' not in client.get("/app/ws-a/numbers/").content.decode()
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, {"default_region": "US"}).status_code == 403
    workspace_a.refresh_from_db()
    assert workspace_a.default_region == ""


def test_another_workspaces_settings_are_not_found(client, customer_b, workspace_a):
    client.force_login(customer_b)
    assert client.get(SETTINGS).status_code == 404
    assert client.post(SETTINGS, {"default_region": "US"}).status_code == 404


def test_an_unknown_country_is_refused(client, customer_a, workspace_a):
    client.force_login(customer_a)
    html = client.post(SETTINGS, {"default_region": "ZZ"}).content.decode()
    assert "Select a valid choice." in html
    with pytest.raises(ValidationFailed):
        services.workspace_update_settings(workspace=workspace_a, actor=Actor.command("tests"), default_region="ZZ")


def test_staff_set_the_default_country_in_the_admin(client, staff_user, workspace_a):
    client.force_login(staff_user)
    url = f"/admin/channels_app/workspace/{workspace_a.pk}/change/"
    assert 'name="default_region"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": workspace_a.name,
            "default_region": "GB",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "agents-TOTAL_FORMS": "0",
            "agents-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workspace_a.refresh_from_db()
    assert workspace_a.default_region == "GB"


def test_the_database_refuses_a_malformed_region(workspace_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        type(workspace_a).objects.filter(pk=workspace_a.pk).update(default_region="us")
