"""`Idempotency-Key` on POST and PUT: a retried request replays the first response.

Records are `IdempotencyRecord` rows, in the database every worker process and server shares
(with or without Redis), one per (workspace, key), kept `settings.API_IDEMPOTENCY_TTL_SECONDS`
(24 h):

- The first request inserts the row, with no answer yet and a lease of LEASE_SECONDS; the unique
  constraint settles two concurrent first requests. The other one finds the row and replays its
  answer, or waits for it while the lease runs (WAIT_SECONDS at most, then SERVICE_UNAVAILABLE),
  or takes the key over once the lease has run out (the first request died on the way).
- A write's answer is stored in the write's own transaction, so the write and its record commit
  together or not at all. A refusal (4xx) is stored on its own and replayed like a success; a 5xx
  deletes the row, so a retry runs again.
- The same key with another method, path or body is IDEMPOTENCY_KEY_REUSED.
- An expired row met on the way is deleted; `manage.py purge_expired` deletes the others.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from channels_app.errors import DomainError, ValidationFailed
from channels_app.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("ETag",)
LEASE_SECONDS = 60  # longest a request may hold a key before a retry may take it over
WAIT_SECONDS = 15  # how long a concurrent duplicate waits for the first response
POLL_SECONDS = 0.05


def key_from(request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(33 <= ord(ch) <= 126 for ch in raw):
        raise ValidationFailed.single(HEADER, f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID.")
    return raw


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class _Lease:
    """The key held by this request: its row, and the lease's end, which also names the holder."""

    pk: int
    until: datetime


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise DomainError(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used for another request",
            details="Send a new Idempotency-Key for a request with another body, method or path.",
        )
    data = json.loads(record.body) if record.body else None
    return Response(data, status=record.status, headers={**record.headers, REPLAYED_HEADER: "true"})


def _claim(workspace_id: int, key_hash: str, fingerprint: str) -> _Lease | Response:
    """Hold the key for this request, or answer with the first request's response."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = timezone.now()
        until = now + timedelta(seconds=LEASE_SECONDS)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    workspace_id=workspace_id,
                    key_hash=key_hash,
                    fingerprint=fingerprint,
                    expires_at=now + timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS),
                    leased_until=until,
                )
            return _Lease(record.pk, until)
        except IntegrityError:
            pass  # the key is taken: by whom, and how far did they get?
        record = IdempotencyRecord.objects.filter(workspace_id=workspace_id, key_hash=key_hash).first()
        if record is None:
            continue  # released (a 5xx) or purged since: claim it again
        if record.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=record.pk, expires_at__lte=now).delete()
            continue
        if record.status is not None or record.fingerprint != fingerprint:
            return _replay(record, fingerprint)
        if record.leased_until <= now:
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, status__isnull=True, leased_until=record.leased_until
            ).update(leased_until=until)
            if taken:
                return _Lease(record.pk, until)
            continue
        if time.monotonic() > deadline:
            raise DomainError(
                "SERVICE_UNAVAILABLE",
                "A request with this Idempotency-Key is still in progress",
                details="Retry shortly; the first request's response will then be replayed.",
            )
        time.sleep(POLL_SECONDS)


def _keep(lease: _Lease, response: Response) -> bool:
    """Store the answer under the key; False when another request has taken the key over."""
    body = JSONRenderer().render(response.data).decode() if response.data is not None else ""
    return bool(
        IdempotencyRecord.objects.filter(pk=lease.pk, leased_until=lease.until).update(
            status=response.status_code,
            body=body,
            headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
            leased_until=None,
        )
    )


def _release(lease: _Lease) -> None:
    IdempotencyRecord.objects.filter(pk=lease.pk, leased_until=lease.until).delete()


def _lease_lost() -> DomainError:
    return DomainError(
        "SERVICE_UNAVAILABLE",
        "This request took too long to complete",
        details="Nothing was changed; retry with the same Idempotency-Key.",
    )


def run(view, request, execute: Callable[[], Response], *, atomic: bool = True) -> Response:
    """Execute `execute()` at most once per (workspace, key) and body; replay its answer otherwise.

    With `atomic` (every write), `execute()` runs in one transaction with the storing of its
    answer. Without it (the trunk check, which must hold no transaction while it waits on the
    network), the answer is stored right after.
    """
    key = key_from(request)
    if key is None:
        return execute()
    fingerprint = _fingerprint(request)
    claimed = _claim(request.auth.workspace_id, hashlib.sha256(key.encode("ascii")).hexdigest(), fingerprint)
    if isinstance(claimed, Response):
        return claimed
    kept = in_transaction = False
    try:
        with transaction.atomic() if atomic else nullcontext():
            response = execute()
            if atomic and response.status_code < 500:
                if not _keep(claimed, response):  # held past the lease and taken over: undo, not twice
                    raise _lease_lost()
                in_transaction = True
        kept = in_transaction  # only once the transaction has committed
    except Exception as exc:  # noqa: BLE001 - answered through the API's exception handler
        response = view.handle_exception(exc)
    if not kept:
        if response.status_code < 500:
            _keep(claimed, response)
        else:
            _release(claimed)
    return response
