"""Property: generated hostile text in every field of the self-serve pages, the staff admin (forms,
actions, changelist addresses) and the CSV import answers a form error, a 4xx or a success for
valid input, never a 5xx, writes nothing on refusal, and logs no traceback.

In process (Django's test client, the import engine), each example inside a savepoint rolled
back afterwards, so every example starts from the same rows. Table-driven: one line per field.
The API door, over real HTTP, is tests/test_property_hostile_input.py.
"""

from __future__ import annotations

import csv
import io
import time
from urllib.parse import urlencode

import pytest
from django.db import transaction

from channels_app import imports
from channels_app.audit import Actor
from tests.admin_support import (
    BINDINGS_URL,
    NUMBERS_URL,
    REGISTER_URL,
    TOKENS_URL,
    bindings_management_form,
    change_url,
    csv_text,
    trunk_edit_data,
)
from tests.admin_support import register_data as admin_register_data
from tests.hostile_values import TOTALS, door_total, hostile_text, rows, run_examples
from tests.test_pages_numbers import register_data

pytestmark = pytest.mark.django_db

ERROR_MARKS = (b"field-errors", b"errorlist", b"errornote", b"data-error-summary", b"messagelist")

# --- the tables: (form, field) ---------------------------------------------------------------------

PAGE_FORMS = [
    *[
        ("register", field)
        for field in (
            "phone_number", "channel", "agent", "name", "direction", "sip_gateway", "sip_port",
            "sip_secondary_gateway", "sip_username", "sip_password", "sip_transport", "sip_inbound_addresses",
            "sip_number_format", "additional_settings", "wa_phone_number_id", "wa_business_account_id",
            "wa_access_token",
        )
    ],
    *[
        ("edit", field)
        for field in ("name", "direction", "sip_gateway", "sip_port", "sip_password", "additional_settings",
                      "clear_password", "sip_inbound_addresses")
    ],
    ("assign", "agent"),
    ("tokens", "name"),
    ("tokens", "expires_in"),
    ("tokens", "nonce"),
]  # fmt: skip
PAGE_QUERIES = [
    *[("numbers", name) for name in ("search", "page", "agent", "channel", "source")],
    ("explain", "to"),
    ("register", "phone_number"),
    ("activity", "page"),
]
ADMIN_FORMS = [
    *[
        ("register", field)
        for field in ("workspace", "phone_number", "channel", "agent", "name", "direction", "sip_gateway",
                      "sip_port", "sip_username", "sip_password", "additional_settings")
    ],
    *[("edit", field) for field in ("name", "direction", "sip_port", "sip_password", "additional_settings")],
    *[
        ("settings", field)
        for field in ("voice_channel_limit", "voice_whitelisted_destinations", "inbound_channel_limit")
    ],
    *[("purchased", field) for field in ("workspace", "number", "monthly_fee", "currency")],
    ("token", "name"),
    ("token", "workspace"),
    *[("action", action) for action in ("unbind_selected", "reassign_selected")],
    ("action", "release_selected"),
    ("action", "revoke_selected"),
]  # fmt: skip
ADMIN_QUERIES = [
    *[(BINDINGS_URL, name) for name in ("q", "workspace__id__exact", "channel", "agent", "p", "o", "workspace")],
    *[(NUMBERS_URL, name) for name in ("q", "source", "p")],
    (TOKENS_URL, "q"),
    (REGISTER_URL, "workspace"),
]
CSV_COLUMNS = list(imports.COLUMNS)


def csv_line(cells: dict[str, str]) -> str:
    """One data line; a cell with a line break is quoted (the writer's terminator says which are)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cells.get(column, "") for column in imports.COLUMNS])
    return out.getvalue().removesuffix("\r\n")


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", errors="surrogatepass")  # what a client can send: any bytes


def in_savepoint(send):
    """Run `send()` inside a savepoint rolled back afterwards: (status, refused, wrote)."""
    with transaction.atomic():
        before = rows()
        status, refused = send()
        wrote = rows() != before
        transaction.set_rollback(True)
    return status, refused, wrote


def form_outcome(response) -> tuple[int, bool]:
    content = response.content if response.status_code == 200 else b""
    refused = response.status_code >= 400 or any(mark in content for mark in ERROR_MARKS)
    return response.status_code, refused


# --- the self-serve pages --------------------------------------------------------------------------


def test_self_serve_forms_and_addresses_answer_hostile_values_without_a_5xx(
    client, customer_a, agents_a, trunk_a, log_watch
):
    client.force_login(customer_a)
    client.raise_request_exception = False
    detail = f"/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/"
    tokens_page = client.get("/app/ws-a/tokens/").content.decode()
    nonce = tokens_page.split('name="nonce" value="', 1)[1].split('"', 1)[0] if 'name="nonce"' in tokens_page else ""
    forms = {
        "register": ("/app/ws-a/numbers/register/", register_data(agents_a[1])),
        "edit": (f"{detail}call/edit/", {"name": trunk_a.name, "direction": "both", "sip_gateway": "sip.example.com"}),
        "assign": (f"{detail}call/assign/", {"agent": str(agents_a[1].agent_uuid)}),
        "tokens": ("/app/ws-a/tokens/", {"name": "ci", "scope": "read", "expires_in": "90", "nonce": nonce}),
    }
    addresses = {
        "numbers": "/app/ws-a/numbers/",
        "explain": f"{detail}explain/",
        "register": "/app/ws-a/numbers/register/",
        "activity": detail,
    }
    started, before = time.monotonic(), TOTALS["examples"]
    for form, field in PAGE_FORMS:
        url, data = forms[form]

        def check(value, url=url, data=data, field=field):
            def send():
                mark = log_watch.mark()
                body = urlencode({**data, field: _bytes(value)})
                response = client.post(url, body, content_type="application/x-www-form-urlencoded")
                check.tracebacks = log_watch.tracebacks_since(mark)
                return form_outcome(response)

            return (*in_savepoint(send), check.tracebacks)

        run_examples(hostile_text(), f"self-serve {form}", field, check)
    for page, name in PAGE_QUERIES:

        def check(value, url=addresses[page], name=name):
            mark = log_watch.mark()
            response = client.get(f"{url}?{urlencode({name: _bytes(value)})}")
            return response.status_code, response.status_code >= 400, False, log_watch.tracebacks_since(mark)

        run_examples(hostile_text(), f"self-serve {page} address", f"?{name}", check)
    door_total("self-serve", len(PAGE_FORMS) + len(PAGE_QUERIES), TOTALS["examples"] - before, started)


# --- the staff admin -------------------------------------------------------------------------------


def test_admin_forms_actions_and_addresses_answer_hostile_values_without_a_5xx(
    client, staff_user, workspace_a, agents_a, trunk_a, purchased_a, token_a, log_watch
):
    client.force_login(staff_user)
    client.raise_request_exception = False
    settings_data = {"voice_enabled": "on", "voice_channel_limit": "", "voice_whitelisted_destinations": "US",
                     **bindings_management_form()}  # fmt: skip
    forms = {
        "register": (REGISTER_URL, admin_register_data(workspace_a, agents_a[1], phone_number="+1 202 555 0170")),
        "edit": (change_url(trunk_a), trunk_edit_data(trunk_a)),
        "settings": (change_url(purchased_a), settings_data),
        "purchased": (
            "/admin/channels_app/phonenumber/add/",
            {"workspace": workspace_a.pk, "number": "+1 202 555 0180", "voice": "on", "monthly_fee": "1.00",
             "currency": "USD", **bindings_management_form()},
        ),
        "token": ("/admin/channels_app/apitoken/add/", {"workspace": workspace_a.pk, "name": "t", "scope": "read"}),
    }  # fmt: skip
    changelists = {
        "unbind_selected": BINDINGS_URL,
        "reassign_selected": BINDINGS_URL,
        "release_selected": NUMBERS_URL,
        "revoke_selected": TOKENS_URL,
    }
    started, before = time.monotonic(), TOTALS["examples"]
    for form, field in ADMIN_FORMS:
        if form == "action":
            url, data, target = changelists[field], {"action": field, "index": "0"}, "_selected_action"
        else:
            (url, data), target = forms[form], field

        def check(value, url=url, data=data, target=target):
            def send():
                mark = log_watch.mark()
                body = urlencode({**data, target: _bytes(value)})
                response = client.post(url, body, content_type="application/x-www-form-urlencoded")
                check.tracebacks = log_watch.tracebacks_since(mark)
                status, refused = form_outcome(response)
                return status, refused or (target == "_selected_action" and status == 302)

            return (*in_savepoint(send), check.tracebacks)

        run_examples(hostile_text(), f"admin {form}", field, check)
    for url, name in ADMIN_QUERIES:

        def check(value, url=url, name=name):
            mark = log_watch.mark()
            response = client.get(f"{url}?{urlencode({name: _bytes(value)})}")
            return response.status_code, response.status_code >= 400, False, log_watch.tracebacks_since(mark)

        run_examples(hostile_text(), f"admin {url}", f"?{name}", check)
    door_total("admin", len(ADMIN_FORMS) + len(ADMIN_QUERIES), TOTALS["examples"] - before, started)


# --- the CSV import --------------------------------------------------------------------------------


def test_csv_cells_answer_hostile_values_with_a_row_or_file_error_never_an_exception(
    workspace_a, agents_a, trunk_a, log_watch
):
    actor = Actor.command("property test")
    started, before = time.monotonic(), TOTALS["examples"]
    for column in CSV_COLUMNS:

        def check(value, column=column):
            cells = {"phone_number": "+1 202 555 0190", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid)}
            text = csv_text(csv_line({**cells, column: value}))

            def send():
                mark = log_watch.mark()
                try:
                    result = imports.import_csv(workspace=workspace_a, actor=actor, source=_bytes(text), dry_run=False)
                    refused = result.refused_count > 0
                except imports.CsvFormatError:
                    refused = True
                check.tracebacks = log_watch.tracebacks_since(mark)
                return 200, refused

            return (*in_savepoint(send), check.tracebacks)

        run_examples(hostile_text(), "csv cell", column, check)
    door_total("csv", len(CSV_COLUMNS), TOTALS["examples"] - before, started)
