"""Deeply nested and oversized JSON on every door that reads JSON: refused while parsing, with
400 INVALID_JSON on an API body and a validation error on a form field or CSV cell, never a
500, never a traceback in the log (a RecursionError's traceback was ~143 KB per request)."""

from __future__ import annotations

import html
import json
import logging

import pytest

from channels_app import imports, inputs, services
from channels_app.errors import DomainError
from channels_app.models import ChannelBinding, PhoneNumber
from tests import api_support
from tests.admin_support import REGISTER_URL, change_url, csv_text, form_errors, row, trunk_edit_data
from tests.admin_support import register_data as admin_register_data
from tests.test_import_trunks import run
from tests.test_pages_numbers import edit, field_errors, register_data

api = api_support.api
pytestmark = pytest.mark.django_db

DEPTHS = [33, 400, 1_200, 100_000]
TOO_DEEP = "JSON is nested more than 32 levels deep."


def nested(depth: int, *, kind: str = "object") -> str:
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def written() -> tuple[int, int, int]:
    return PhoneNumber.objects.count(), ChannelBinding.objects.count(), ChannelBinding.history.count()


@pytest.fixture
def quiet_log(caplog):
    """Every log record of the test: none may carry a traceback, and all of them stay small."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert [r.getMessage()[:200] for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert sum(len(r.getMessage()) for r in caplog.records) < 10_000


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", ["object", "list"])
def test_a_deep_api_body_is_invalid_json_on_every_body_reading_endpoint(
    api, agents_a, trunk_a, purchased_a, depth, kind, quiet_log
):
    before = written()
    inner = nested(depth - 1, kind=kind)
    bodies = [
        ("POST", "/phone-numbers/trunks", '{"phone_number": "+12025550111", "additional_settings": ' + inner + "}"),
        ("PATCH", "/phone-numbers/trunks", '{"phone_number": "+12345678901", "channel": "call", "sip": ' + inner + "}"),
        ("PUT", "/phone-numbers/trunks/assign", '{"agent_uuid": ' + inner + "}"),
        ("PATCH", f"/phone-numbers/{purchased_a.phone_number_uuid}", '{"channel_settings": ' + inner + "}"),
        ("POST", "/routing/explain", '{"direction": ' + inner + "}"),
        ("POST", f"/agents/{agents_a[1].agent_uuid}/channels/sms", '{"phone_number_uuid": ' + inner + "}"),
    ]
    for method, path, body in bodies:
        response = api.request(method, path, raw=body)
        assert response.status_code == 400, (path, response.content[:300])
        assert response.json() == api_support.error("INVALID_JSON", "Invalid JSON", TOO_DEEP)
    assert written() == before


def test_32_levels_are_read_and_then_judged_by_the_rules(api, trunk_a):
    body = {"phone_number": "+12345678901", "channel": "call", "additional_settings": json.loads(nested(31))}
    response = api.patch("/phone-numbers/trunks", body)
    assert response.status_code == 200, response.content
    trunk_a.refresh_from_db()
    assert inputs.value_depth(trunk_a.additional_settings) == 31


def test_a_body_larger_than_the_limit_is_invalid_json_before_it_is_parsed(api, trunk_a, quiet_log):
    body = '{"phone_number": "+12345678901", "channel": "call", "name": "' + "x" * inputs.MAX_JSON_BYTES + '"}'
    response = api.patch("/phone-numbers/trunks", raw=body)
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] == "INVALID_JSON"


@pytest.mark.parametrize("depth", DEPTHS)
def test_the_self_serve_forms_show_deep_json_next_to_the_field(client, customer_a, agents_a, trunk_a, depth, quiet_log):
    client.force_login(customer_a)
    before = written()
    registered = client.post(
        "/app/ws-a/numbers/register/", register_data(agents_a[1], additional_settings=nested(depth))
    )
    edited = edit(client, trunk_a, additional_settings=nested(depth))
    for response in (registered, edited):
        assert response.status_code == 200
        assert field_errors(response.content.decode(), "additional_settings") == [TOO_DEEP]
    assert written() == before


@pytest.mark.parametrize("depth", DEPTHS)
def test_the_admin_forms_show_deep_json_next_to_the_field_and_keep_what_was_typed(
    client, staff_user, workspace_a, agents_a, trunk_a, depth, quiet_log
):
    client.force_login(staff_user)
    before = written()
    typed = nested(depth)
    registered = client.post(REGISTER_URL, admin_register_data(workspace_a, agents_a[1], additional_settings=typed))
    edited = client.post(change_url(trunk_a), trunk_edit_data(trunk_a, additional_settings=typed))
    for response in (registered, edited):
        assert response.status_code == 200
        assert form_errors(response)["additional_settings"] == [TOO_DEEP]
        assert html.escape(typed) in response.content.decode()
    assert written() == before


@pytest.mark.parametrize("depth", DEPTHS[:-1])
def test_a_deep_csv_cell_is_an_error_on_its_row(workspace_a, agents_a, depth, quiet_log):
    text = csv_text(
        row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0142", agents_a[1], additional_settings=nested(depth))
    )
    report = run(workspace_a, text)
    assert (report.valid_count, report.refused_count) == (1, 1)
    [refused] = [r for r in report.rows if r.errors]
    assert [(e.column, e.code, e.message) for e in refused.errors] == [
        ("additional_settings", "VALIDATION_ERROR", TOO_DEEP)
    ]


def test_a_csv_cell_beyond_the_csv_readers_limit_is_a_clear_file_error(workspace_a, agents_a, quiet_log):
    text = csv_text(row("+1 202 555 0142", agents_a[1], additional_settings=nested(100_000)))
    with pytest.raises(imports.CsvFormatError) as refused:
        run(workspace_a, text)
    assert str(refused.value) == "Line 2 cannot be read as CSV: field larger than field limit (131072)"
    assert written() == (0, 0, 0)


def test_a_service_handed_a_deep_value_refuses_it_without_recursing(workspace_a, agent_a, command_actor):
    deep: dict = {}
    for _level in range(5_000):
        deep = {"a": deep}
    with pytest.raises(DomainError) as refused:
        services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number="+12025550141",
            agent_uuid=agent_a.agent_uuid,
            channel="whatsapp",
            additional_settings=deep,
        )
    assert refused.value.messages() == [("additional_settings", TOO_DEEP)]
    assert written() == (0, 0, 0)


@pytest.mark.parametrize(
    "text",
    ['"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["', '{"k": "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\\"{{{{"}'],
)
def test_brackets_inside_strings_do_not_count_as_depth(text):
    assert inputs.json_depth_problem(text) is None
    assert inputs.parse_json(text) == json.loads(text)


@pytest.mark.parametrize("text", ['"\\ud800"', '{"\\udfff": 1}', "NaN", "[Infinity]", "{"])
def test_unstorable_or_invalid_json_is_refused_by_the_one_path(text):
    with pytest.raises(inputs.InputError):
        inputs.parse_json(text)
