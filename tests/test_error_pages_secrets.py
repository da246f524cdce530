"""No credential on any error page or error report, DEBUG on or off.

A failure is injected after the password was read, through a documented hook (a database
execute wrapper raising when the trunk row is written), while a marker password (and username, token, app secret) is
submitted through each door. With DEBUG=True the self-serve and admin doors answer Django's
technical 500 page (frame locals, POST data, settings); the API answers its JSON envelope. For
every door the error report Django would mail (`ExceptionReporter`, HTML and text) is rendered
as well, from each logged failure.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.views.debug import get_exception_reporter_class

from tests import api_support
from tests.admin_support import REGISTER_URL, change_url, trunk_edit_data
from tests.admin_support import register_data as admin_register_data
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.test_pages_numbers import register_data

api = api_support.api
pytestmark = pytest.mark.django_db

MARKER_TOKEN = "MARKER-token-EAAB9c2d-do-not-leak"
MARKER_APP_SECRET = "MARKER-appsecret-55e1-do-not-leak"
MARKERS = (MARKER_PASSWORD, MARKER_USERNAME, MARKER_TOKEN, MARKER_APP_SECRET)


class InjectedFailure(RuntimeError):
    """Raised when the trunk row is written: the request fails after every credential was read."""


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def failing_save(request, settings):
    """DEBUG on, and every write of a trunk row fails (through `connection.execute_wrapper`, a
    documented hook) with an error that is not a database error, so nothing turns it into a
    friendly page before Django's own 500 handling."""
    settings.DEBUG = request.param

    def fail(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")) and "channels_app_channelbinding" in sql:
            raise InjectedFailure("injected failure while saving the trunk")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield request.param


def error_reports(records) -> list[str]:
    """The error report of every logged failure, HTML and text, as Django's AdminEmailHandler
    builds it from the record (the request, when the record carries one, and the exception)."""
    rendered = []
    for record in records:
        if record.exc_info:
            request = getattr(record, "request", None)
            reporter = get_exception_reporter_class(request)(request, *record.exc_info, is_email=True)
            rendered.extend([reporter.get_traceback_html(), reporter.get_traceback_text()])
    return rendered


def occurrences(texts) -> int:
    return sum(text.count(marker) for text in texts for marker in MARKERS)


def door_requests(client, api_client, customer_a, staff_user, workspace_a, agents_a, trunk_a, whatsapp_trunk):
    """(door, response) for a write with credentials through each door, each failing on save."""
    client.raise_request_exception = False
    sip = {"gateway": "sip.example.com", "username": MARKER_USERNAME, "password": MARKER_PASSWORD}
    # Updates send new values (each contains a marker): the same values would change nothing.
    new_sip = {"gateway": "sip.example.com", "username": f"{MARKER_USERNAME}-2", "password": f"{MARKER_PASSWORD}-2"}
    answers = [
        (
            "api register",
            api_client.post(
                "/phone-numbers/trunks",
                {
                    "phone_number": "+12025550147",
                    "agent_uuid": str(agents_a[1].agent_uuid),
                    "channel": "call",
                    "sip": sip,
                },
            ),
        ),
        (
            "api update",
            api_client.patch(
                "/phone-numbers/trunks", {"phone_number": trunk_a.phone_number.e164, "channel": "call", "sip": new_sip}
            ),
        ),
        (
            "api whatsapp update",
            api_client.patch(
                "/phone-numbers/trunks",
                {
                    "phone_number": whatsapp_trunk.phone_number.e164,
                    "channel": "whatsapp",
                    "whatsapp": {"access_token": MARKER_TOKEN, "app_secret": MARKER_APP_SECRET},
                },
            ),
        ),
    ]
    client.force_login(customer_a)
    answers.append(("self-serve register", client.post("/app/ws-a/numbers/register/", register_data(agents_a[1]))))
    edit_url = f"/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/call/edit/"
    answers.append(
        (
            "self-serve edit",
            client.post(
                edit_url,
                {
                    "name": "x",
                    "direction": "both",
                    "sip_gateway": "sip.example.com",
                    "sip_username": MARKER_USERNAME,
                    "sip_password": MARKER_PASSWORD,
                },
            ),
        )
    )
    client.force_login(staff_user)
    answers.append(
        (
            "admin register",
            client.post(
                REGISTER_URL,
                admin_register_data(
                    workspace_a,
                    agents_a[2],
                    phone_number="+1 202 555 0148",
                    sip_gateway="sip.x.net",
                    sip_username=MARKER_USERNAME,
                    sip_password=MARKER_PASSWORD,
                ),
            ),
        )
    )
    answers.append(
        (
            "admin edit",
            client.post(
                change_url(trunk_a),
                trunk_edit_data(trunk_a, sip_username=f"{MARKER_USERNAME}-2", sip_password=f"{MARKER_PASSWORD}-2"),
            ),
        )
    )
    return answers


@pytest.fixture
def whatsapp_trunk(workspace_a, agents_a, command_actor):
    from channels_app import services

    return services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+12025550149",
        agent_uuid=agents_a[0].agent_uuid,
        channel="whatsapp",
    )


def test_a_failure_after_the_password_was_read_shows_it_nowhere_with_debug_on_or_off(
    client, api, customer_a, staff_user, workspace_a, agents_a, trunk_a, whatsapp_trunk, caplog, failing_save
):
    caplog.set_level(logging.DEBUG)
    request_log = logging.getLogger("django.request")  # does not propagate to the root logger
    request_log.addHandler(caplog.handler)
    try:
        answers = door_requests(client, api, customer_a, staff_user, workspace_a, agents_a, trunk_a, whatsapp_trunk)
    finally:
        request_log.removeHandler(caplog.handler)

    statuses = {door: response.status_code for door, response in answers}
    assert set(statuses.values()) == {500}, statuses
    pages = [response.content.decode(errors="replace") for _door, response in answers]
    technical = [page for page in pages if "Traceback" in page or "Local vars" in page]
    # With DEBUG on, the self-serve and admin answers are Django's technical 500 page.
    assert len(technical) == (4 if failing_save else 0)
    assert all("InjectedFailure" in page for page in technical)
    reports = error_reports(caplog.records)
    assert len(reports) == 2 * len(answers)  # every failure is logged with its exception: its report
    log = [record.getMessage() for record in caplog.records]
    log += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    found = {"pages": occurrences(pages), "reports": occurrences(reports), "log": occurrences(log)}
    print(
        f"[secrets] DEBUG={failing_save} failure after the credentials were read, {len(answers)} requests over API, "
        f"self-serve and admin: marker in pages {found['pages']}, in {len(reports)} error reports "
        f"{found['reports']}, in {len(log)} log entries {found['log']}"
    )
    assert found == {"pages": 0, "reports": 0, "log": 0}
