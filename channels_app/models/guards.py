"""Short-lived state behind the guarantees that span requests (docs/reliability.md, "processes").

Kept in the database so they hold across worker processes and servers that share it, with or
without Redis: idempotency records, the API's per-token request counters and the SIP probes'
rate-limit slots. None of it is domain data: records and slots expire (`manage.py purge_expired`
deletes them), and a token has one counter row, reused window after window.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .inventory import Workspace
from .tokens import ApiToken


class IdempotencyRecord(models.Model):
    """The first answer to an API request sent with an `Idempotency-Key`, replayed to its retries.

    One row per (workspace, key): the unique constraint settles two concurrent first requests, and
    the loser waits for the winner's answer. While the first request runs, `status` is NULL and
    `leased_until` bounds how long it may hold the key (a crashed request's key is taken over after
    it). A successful write's answer is stored in the write's own transaction; a refusal (4xx) is
    stored on its own; a 5xx deletes the row so a retry runs again (channels_app.api.idempotency).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the key as sent: keys are the client's, up to 255 characters of any shape.
    key_hash = models.CharField(max_length=64)
    # SHA-256 of method, path and JSON body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)  # the JSON answer, exactly as it was sent
    headers = models.JSONField(default=dict, blank=True)  # the answer's headers worth replaying (ETag)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key_hash"], name="uniq_idempotency_record_key"),
            # Answered, or still running under a lease: never neither.
            models.CheckConstraint(
                condition=Q(status__isnull=False, leased_until__isnull=True)
                | Q(status__isnull=True, leased_until__isnull=False),
                name="idempotency_record_answered_or_leased",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_idx")]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.key_hash[:12]}: {self.status or 'running'}"


class RequestCounter(models.Model):
    """The API throttle's fixed-window count for one token, when REDIS_URL is not set.

    One row per token, counted by a single upsert per request (channels_app.services.upserts):
    `requests` made since `window_start` (seconds since the epoch, a multiple of the rate's
    period). A request in a later window starts the count again, so the row never grows.
    """

    token = models.OneToOneField(ApiToken, primary_key=True, on_delete=models.CASCADE, related_name="+")
    window_start = models.BigIntegerField()
    requests = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.token_id}: {self.requests} since {self.window_start}"


class ProbeSlot(models.Model):
    """A SIP probe's rate-limit slot (channels_app.services.probe_limits): held until `until`.

    A trunk check claims one slot for its trunk and one per gateway address it will probe, all
    or none, with one upsert. `key` is an HMAC (under SECRET_KEY) of what the slot limits, so the
    table names no number and no gateway (gateways are encrypted at rest on the trunk).
    """

    key = models.CharField(max_length=64, primary_key=True)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]} until {self.until:%Y-%m-%d %H:%M:%S}"
