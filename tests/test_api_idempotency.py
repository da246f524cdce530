"""Idempotency-Key records in the database: what a record holds, expiry, a first request that died
holding its key, a duplicate that waits, and the housekeeping command.

Replays, reuse and workspaces are in test_api_trunks.py; 20 concurrent duplicates over HTTP in
test_api_race.py; a retry sent to another server process in test_processes.py; a write and its
record failing together at every query in test_faults.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from channels_app.api import idempotency
from channels_app.models import ChannelBinding, IdempotencyRecord, PhoneNumber
from tests import api_support
from tests.api_support import error

api, api_b = api_support.api, api_support.api_b
pytestmark = pytest.mark.django_db

PATH = "/phone-numbers/trunks"
KEY = "key-0199"


def register_body(agent) -> dict:
    return {"phone_number": "+12025550199", "agent_uuid": str(agent.agent_uuid), "channel": "whatsapp"}


def left_running(workspace, body: dict, *, lease_left: timedelta, fingerprint: str | None = None) -> None:
    """The row of a first request that holds KEY and has not answered (still running, or died)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    now = timezone.now()
    IdempotencyRecord.objects.create(
        workspace=workspace,
        key_hash=hashlib.sha256(KEY.encode()).hexdigest(),
        fingerprint=fingerprint or hashlib.sha256(f"POST /api/v1{PATH}\n{canonical}".encode()).hexdigest(),
        expires_at=now + timedelta(days=1),
        leased_until=now + lease_left,
    )


def test_a_record_holds_the_answer_exactly_as_it_was_sent_for_24_hours(api, agent_a, settings):
    response = api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})

    record = IdempotencyRecord.objects.get()
    assert response.status_code == 201
    assert (record.status, record.body, record.headers) == (201, response.content.decode(), {"ETag": response["ETag"]})
    assert record.leased_until is None
    assert record.key_hash == hashlib.sha256(KEY.encode()).hexdigest()  # the key itself is not stored
    ttl = timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS)
    assert ttl - timedelta(seconds=5) < record.expires_at - record.created_at <= ttl


def test_an_expired_record_is_not_replayed_it_is_deleted_and_the_request_runs_again(api, agent_a):
    assert api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY}).status_code == 201
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})

    assert again.status_code == 409  # ran again: the trunk exists now
    assert again.json()["error"]["code"] == "NUMBER_ALREADY_BOUND"
    assert not again.has_header("Idempotent-Replayed")
    record = IdempotencyRecord.objects.get()
    assert record.status == 409 and record.expires_at > timezone.now()


def test_a_key_held_by_a_request_that_died_is_taken_over_once_its_lease_has_run_out(api, agent_a, workspace_a):
    left_running(workspace_a, register_body(agent_a), lease_left=timedelta(seconds=-1))

    response = api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})

    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.get().status == 201
    assert ChannelBinding.objects.filter(phone_number__number="+12025550199").count() == 1


def test_a_duplicate_waits_for_the_first_answer_then_answers_service_unavailable(
    api, agent_a, workspace_a, monkeypatch
):
    left_running(workspace_a, register_body(agent_a), lease_left=timedelta(seconds=60))
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)  # the 15 s wait, shortened

    started = time.monotonic()
    response = api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})

    assert 0.3 <= time.monotonic() - started < 5
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == error(
        "SERVICE_UNAVAILABLE",
        "A request with this Idempotency-Key is still in progress",
        "Retry shortly; the first request's response will then be replayed.",
    )
    assert not PhoneNumber.objects.exists()
    assert IdempotencyRecord.objects.get().status is None  # still the first request's


def test_another_body_under_a_key_still_in_use_is_refused_without_waiting(api, agent_a, workspace_a):
    left_running(workspace_a, register_body(agent_a), lease_left=timedelta(seconds=60), fingerprint="0" * 64)

    started = time.monotonic()
    response = api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})

    assert time.monotonic() - started < idempotency.WAIT_SECONDS / 3
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert not PhoneNumber.objects.exists()


def test_records_are_per_workspace_rows(api, api_b, agent_a, agent_b):
    api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": KEY})
    api_b.post(PATH, register_body(agent_b), headers={"Idempotency-Key": KEY})

    assert sorted(IdempotencyRecord.objects.values_list("workspace__slug", "status")) == [
        ("ws-a", 201),
        ("ws-b", 409),
    ]


def test_purge_expired_deletes_the_expired_records_and_keeps_the_others(api, agent_a, agents_a):
    api.post(PATH, register_body(agent_a), headers={"Idempotency-Key": "old"})
    api.post(PATH, {**register_body(agents_a[1]), "phone_number": "+12025550198"}, headers={"Idempotency-Key": "new"})
    old = IdempotencyRecord.objects.filter(key_hash=hashlib.sha256(b"old").hexdigest())
    old.update(expires_at=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()

    call_command("purge_expired", stdout=out)

    assert "Deleted 1 expired idempotency record(s) and 0 elapsed probe slot(s)." in out.getvalue()
    assert IdempotencyRecord.objects.count() == 1
    assert IdempotencyRecord.objects.get().key_hash == hashlib.sha256(b"new").hexdigest()
