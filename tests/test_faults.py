"""Database faults at every query of every write: a clean 5xx, never a traceback, never a
half-written row.

For each write, the test first counts the queries it makes, then replays it once per query with a
real driver-level failure raised at that query (Django's `connection.execute_wrapper`), alternating
"database is locked" (transient: 503 + Retry-After) and a generic DatabaseError (500). After each
failed attempt every channels_app table, history included, is byte-for-byte what it was.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_app import services
from channels_app.models import IdempotencyRecord, RequestCounter
from tests.conftest import MARKER_PASSWORD

pytestmark = pytest.mark.django_db


# The API throttle's counters count every request that reached the API, a failed one included:
# that is accounting of requests, not state a write could leave half-done.
NOT_WRITE_STATE = {RequestCounter._meta.db_table}


def _dump() -> dict[str, list[tuple]]:
    tables = sorted(
        t for t in connection.introspection.table_names() if t.startswith("channels_app_") and t not in NOT_WRITE_STATE
    )
    state = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
            state[table] = [tuple(str(v) for v in row) for row in cursor.fetchall()]
    return state


@contextmanager
def _fail_at(query_number: int, error: Exception):
    seen = {"count": 0}

    def wrapper(execute, sql, params, many, context):
        seen["count"] += 1
        if seen["count"] == query_number:
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def _count_queries(send: Callable) -> int:
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            response = send()
        assert response.status_code < 400, (response.status_code, response.content[:500])
        transaction.set_rollback(True)
    return len(captured.captured_queries)


def _prove_every_query_fails_cleanly(name: str, send: Callable, *, html: bool) -> None:
    _count_queries(send)  # warm the per-process caches (content types, ...) so the count is stable
    total = _count_queries(send)
    before = _dump()
    for query_number in range(1, total + 1):
        transient = query_number % 2 == 1
        error = OperationalError("database is locked") if transient else DatabaseError("injected failure")
        with _fail_at(query_number, error):
            response = send()
        body = response.content.decode()
        assert response.status_code == (503 if transient else 500), (
            name,
            query_number,
            response.status_code,
            body[:300],
        )
        assert "Traceback" not in body and "injected failure" not in body and "database is locked" not in body
        assert MARKER_PASSWORD not in body
        if transient:
            assert response.headers.get("Retry-After")
        if not html:
            envelope = json.loads(body)
            assert envelope["success"] is False
            assert envelope["error"]["code"] == ("SERVICE_UNAVAILABLE" if transient else "INTERNAL_ERROR")
        assert _dump() == before, f"{name}: half-written state after a fault at query {query_number}"
    print(f"\n[faults] {name}: {total} queries, {total} injected faults, half-written states 0")
    response = send()
    assert response.status_code < 400, (name, response.status_code, response.content[:300])


def _api(client, token):
    def call(method: str, path: str, body: dict | None = None, *, key: str | None = None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if key is not None:
            kwargs["HTTP_IDEMPOTENCY_KEY"] = key
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


@pytest.fixture
def api(client, token_a):
    call = _api(client, token_a)
    assert call("get", "/api/v1/phone-numbers").status_code == 200  # records last_used_at up front
    return call


def test_api_trunk_register_survives_a_fault_at_every_query(api, agents_a):
    _prove_every_query_fails_cleanly(
        "API POST /phone-numbers/trunks",
        lambda: api(
            "post",
            "/api/v1/phone-numbers/trunks",
            {
                "phone_number": "+1 415 555 2671",
                "agent_uuid": str(agents_a[1].agent_uuid),
                "channel": "call",
                "sip": {"gateway": "sip.example.com", "username": "u", "password": MARKER_PASSWORD},
                "additional_settings": {"region": "eu"},
            },
        ),
        html=False,
    )


def test_an_idempotent_write_and_its_record_commit_together_or_not_at_all(api, agents_a):
    """The record of a write is stored in the write's transaction: a fault at any query, the
    record's own included, leaves neither (the dump covers the records' table), and the retry runs
    the write instead of replaying a failure."""
    body = {"phone_number": "+1 415 555 2671", "agent_uuid": str(agents_a[1].agent_uuid), "channel": "whatsapp"}
    send = functools.partial(api, "post", "/api/v1/phone-numbers/trunks", body, key="fault-key")
    _prove_every_query_fails_cleanly("API POST /phone-numbers/trunks with Idempotency-Key", send, html=False)
    first = IdempotencyRecord.objects.get()
    replay = send()
    assert (first.status, replay.status_code, replay["Idempotent-Replayed"]) == (201, 201, "true")


def test_api_trunk_update_assign_and_delete_survive_a_fault_at_every_query(api, trunk_a, agents_a):
    number = "+12345678901"
    _prove_every_query_fails_cleanly(
        "API PATCH /phone-numbers/trunks",
        lambda: api(
            "patch",
            "/api/v1/phone-numbers/trunks",
            {"phone_number": number, "channel": "call", "name": "renamed", "sip": {"password": "new-secret-x"}},
        ),
        html=False,
    )
    _prove_every_query_fails_cleanly(
        "API PUT /phone-numbers/trunks/assign",
        lambda: api(
            "put",
            "/api/v1/phone-numbers/trunks/assign",
            {"phone_number": number, "channel": "call", "agent_uuid": str(agents_a[2].agent_uuid)},
        ),
        html=False,
    )
    _prove_every_query_fails_cleanly(
        "API DELETE /phone-numbers/trunks",
        lambda: api("delete", f"/api/v1/phone-numbers/trunks?phone_number=%2B{number[1:]}&channel=call"),
        html=False,
    )


def test_api_number_writes_survive_a_fault_at_every_query(api, purchased_a, agents_a, workspace_a, command_actor):
    uuid = purchased_a.phone_number_uuid
    _prove_every_query_fails_cleanly(
        "API PATCH /phone-numbers/{uuid}",
        lambda: api("patch", f"/api/v1/phone-numbers/{uuid}", {"channel_settings": {"voice": {"channel_limit": 5}}}),
        html=False,
    )
    _prove_every_query_fails_cleanly(
        "API POST /agents/{uuid}/channels/sms",
        lambda: api("post", f"/api/v1/agents/{agents_a[0].agent_uuid}/channels/sms", {"phone_number_uuid": str(uuid)}),
        html=False,
    )
    _prove_every_query_fails_cleanly(
        "API POST /agents/{uuid}/channels/call/provision",
        lambda: api(
            "post",
            f"/api/v1/agents/{agents_a[1].agent_uuid}/channels/call/provision",
            {"phone_number_uuid": str(uuid)},
        ),
        html=False,
    )
    _prove_every_query_fails_cleanly(
        "API POST /phone-numbers/{uuid}/release",
        lambda: api("post", f"/api/v1/phone-numbers/{uuid}/release"),
        html=False,
    )


def test_self_serve_registration_survives_a_fault_at_every_query(client, customer_a, workspace_a, agents_a):
    client.force_login(customer_a)
    _prove_every_query_fails_cleanly(
        "self-serve register trunk",
        lambda: client.post(
            f"/app/{workspace_a.slug}/numbers/register/",
            {
                "phone_number": "+1 415 555 2671",
                "channel": "call",
                "agent": str(agents_a[1].agent_uuid),
                "direction": "both",
                "sip_gateway": "sip.example.com",
                "sip_username": "someone",
                "sip_password": MARKER_PASSWORD,
            },
        ),
        html=True,
    )


def test_admin_registration_survives_a_fault_at_every_query(client, staff_user, workspace_a, agents_a):
    client.force_login(staff_user)
    _prove_every_query_fails_cleanly(
        "admin register trunk",
        lambda: client.post(
            "/admin/channels_app/channelbinding/add/",
            {
                "workspace": workspace_a.pk,
                "phone_number": "+1 415 555 2671",
                "channel": "call",
                "agent": agents_a[1].pk,
                "direction": "both",
                "sip_gateway": "sip.example.com",
                "sip_username": "someone",
                "sip_password": MARKER_PASSWORD,
                "additional_settings": "",
            },
        ),
        html=True,
    )


def test_services_roll_back_whole_when_the_last_query_fails(workspace_a, agents_a, command_actor):
    """The same property one level down: a failing final INSERT leaves no external number behind."""
    before = _dump()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number="+14155552671",
            agent_uuid=agents_a[0].agent_uuid,
            channel="whatsapp",
        )
        transaction.set_rollback(True)
    sql = [query["sql"] for query in captured.captured_queries]
    last_insert = max(i for i, text in enumerate(sql, 1) if text.startswith("INSERT"))
    with _fail_at(last_insert, DatabaseError("injected failure")), pytest.raises(DatabaseError):
        services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number="+14155552671",
            agent_uuid=agents_a[0].agent_uuid,
            channel="whatsapp",
        )
    assert _dump() == before
