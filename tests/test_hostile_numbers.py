# ruff: noqa: RUF001 - the confusable digits are the point of these tests
"""Digits that are not ASCII in numeric input, on every door: a validation error on the field,
never a 500, never read as a number (`str.isdigit()` is true for "⁵⁰⁶⁰", `int()` reads "٥٠٦٠")."""

from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError

from channels_app import inputs
from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.admin_support import REGISTER_URL, change_url, csv_text, form_errors, row, trunk_edit_data
from tests.admin_support import register_data as admin_register_data
from tests.test_import_trunks import command, csv_file  # noqa: F401 - the fixture
from tests.test_pages_numbers import detail_url, edit, field_errors, register_data

api = api_support.api
pytestmark = pytest.mark.django_db

# superscripts, a circled digit, Arabic-Indic, Devanagari, fullwidth, a mix with ASCII
PORTS = ["⁵⁰⁶⁰", "①", "²", "٥٠٦٠", "५०६०", "５０６０", "50⁶0", "5060\x00", "+5060", "5e3", "0x13c4"]
PORT_ERROR = "Must be a whole number from 1 to 65535."
FORM_PORTS = [port for port in PORTS if "\x00" not in port]  # forms refuse NUL first, in Django's words


def written() -> tuple[int, int, int]:
    return PhoneNumber.objects.count(), ChannelBinding.objects.count(), ChannelBinding.history.count()


@pytest.fixture
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield caplog
    assert [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("port", PORTS)
def test_the_api_refuses_other_digits_in_sip_port_on_create_and_update(api, agents_a, trunk_a, port, no_tracebacks):
    before = written()
    created = api.post(
        "/phone-numbers/trunks",
        {
            "phone_number": "+12025550111",
            "agent_uuid": str(agents_a[1].agent_uuid),
            "channel": "call",
            "sip": {"port": port},
        },
    )
    updated = api.patch(
        "/phone-numbers/trunks", {"phone_number": "+12345678901", "channel": "call", "sip": {"port": port}}
    )
    for response in (created, updated):
        assert response.status_code == 422, response.content
        assert response.json() == api_support.validation({"sip.port": [PORT_ERROR]})
    assert written() == before
    trunk_a.refresh_from_db()
    assert trunk_a.sip_port is None


@pytest.mark.parametrize("port", FORM_PORTS)
def test_the_self_serve_forms_show_the_port_error_next_to_the_field(client, customer_a, agents_a, trunk_a, port):
    client.force_login(customer_a)
    before = written()
    registered = client.post("/app/ws-a/numbers/register/", register_data(agents_a[1], sip_port=port))
    edited = edit(client, trunk_a, sip_port=port)
    for response in (registered, edited):
        assert response.status_code == 200
        assert field_errors(response.content.decode(), "sip_port") == [PORT_ERROR]
    assert written() == before
    assert client.get(detail_url(trunk_a.phone_number)).status_code == 200


@pytest.mark.parametrize("port", FORM_PORTS)
def test_the_admin_forms_show_the_port_error_next_to_the_field(
    client, staff_user, workspace_a, agents_a, trunk_a, port
):
    client.force_login(staff_user)
    before = written()
    registered = client.post(REGISTER_URL, admin_register_data(workspace_a, agents_a[1], sip_port=port))
    edited = client.post(change_url(trunk_a), trunk_edit_data(trunk_a, sip_port=port))
    for response in (registered, edited):
        assert response.status_code == 200
        assert form_errors(response)["sip_port"] == [PORT_ERROR]
    assert written() == before


@pytest.mark.parametrize("limit", ["²", "٥", "①0", "10⁰"])
def test_the_admin_channel_limits_take_ascii_digits_only(client, staff_user, purchased_a, limit):
    client.force_login(staff_user)
    response = client.post(
        change_url(purchased_a),
        {"voice_enabled": "on", "voice_channel_limit": limit, "voice_whitelisted_destinations": "US"},
    )
    assert response.status_code == 200
    assert "voice_channel_limit" in form_errors(response)
    purchased_a.refresh_from_db()
    assert purchased_a.channel_settings == PhoneNumber.objects.get(pk=purchased_a.pk).channel_settings


@pytest.mark.parametrize("port", ["⁵⁰⁶⁰", "①", "²", "٥٠٦٠"])
def test_the_csv_import_reports_the_row_instead_of_a_traceback(workspace_a, agents_a, csv_file, port):  # noqa: F811
    path = csv_file(csv_text(row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0142", agents_a[1], sip_port=port)))
    with pytest.raises(CommandError) as failed:
        command(workspace_a.slug, path)
    assert "Registered 1 of 2 rows, 1 refused." in str(failed.value)
    assert list(PhoneNumber.objects.values_list("number", flat=True)) == ["+12025550141"]


@pytest.mark.parametrize("page", ["²", "٥", "①", "1⁰", "0", "-1", "99999999999"])
def test_api_pagination_takes_ascii_digits_only(api, page):
    response = api.get("/phone-numbers", query={"page": page, "per_page": page})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "page"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5060", 5060), (" 5060 ", 5060), (5060, 5060), ("65535", 65535), ("1", 1)],
)
def test_whole_numbers_in_ascii_digits_are_read(value, expected):
    assert inputs.whole_number(value, minimum=1, maximum=65535) == expected


@pytest.mark.parametrize("value", [*PORTS, "", " ", True, 5060.0, None, [], "0", "65536", "9" * 10_000])
def test_anything_else_is_refused_before_int_runs(value):
    with pytest.raises(inputs.InputError):
        inputs.whole_number(value, minimum=1, maximum=65535)
