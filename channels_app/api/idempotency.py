"""`Idempotency-Key` on POST and PUT: a retried request replays the first response.

The record lives in the default cache (Redis when REDIS_URL is set) for
`settings.API_IDEMPOTENCY_TTL_SECONDS` (24 h), keyed by workspace and key. `cache.add` is the lock:
of two concurrent requests with one key only one executes; the other waits for its response and
replays it. The same key with another method, path or body is IDEMPOTENCY_KEY_REUSED. Responses of
5xx are not kept, so a retry after a server error runs again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.response import Response

from channels_app.errors import DomainError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("ETag",)
LOCK_SECONDS = 60  # longest a request may hold a key; the lock expires by itself after a crash
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


def _replay(record: dict[str, Any], fingerprint: str) -> Response:
    if record["fingerprint"] != fingerprint:
        raise DomainError(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used for another request",
            details="Send a new Idempotency-Key for a request with another body, method or path.",
        )
    headers = {**record["headers"], REPLAYED_HEADER: "true"}
    return Response(record["data"], status=record["status"], headers=headers)


def run(view, request, execute: Callable[[], Response]) -> Response:
    """Execute `execute()` at most once per (workspace, key) and body; replay it otherwise."""
    key = key_from(request)
    if key is None:
        return execute()
    fingerprint = _fingerprint(request)
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()
    record_key = f"api:idempotency:{request.auth.workspace_id}:{digest}"
    lock_key = f"{record_key}:lock"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = cache.get(record_key)
        if record is not None:
            return _replay(record, fingerprint)
        if cache.add(lock_key, "1", timeout=LOCK_SECONDS):
            break
        if time.monotonic() > deadline:
            raise DomainError(
                "SERVICE_UNAVAILABLE",
                "A request with this Idempotency-Key is still in progress",
                details="Retry shortly; the first request's response will then be replayed.",
            )
        time.sleep(POLL_SECONDS)
    try:
        record = cache.get(record_key)  # the first request may have finished just before our lock
        if record is not None:
            return _replay(record, fingerprint)
        try:
            response = execute()
        except Exception as exc:  # noqa: BLE001 - answered through the API's exception handler
            response = view.handle_exception(exc)
        if response.status_code < 500:
            cache.set(
                record_key,
                {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "data": response.data,
                    "headers": {name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
                },
                timeout=settings.API_IDEMPOTENCY_TTL_SECONDS,
            )
        return response
    finally:
        cache.delete(lock_key)
