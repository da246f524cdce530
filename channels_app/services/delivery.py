"""WhatsApp messages: received once per trunk, then delivered to the agent through the outbox
(docs/whatsapp.md).

`messages_receive` writes each new message with its `MessageDelivery` row in one transaction.
Workers (`manage.py run_worker`, any number, on any machine sharing the database) claim due rows,
post them and record the outcome: at-least-once, retried with back-off, dead after the last
attempt. A claimed row carries a lease; when a worker dies its lease runs out and the row is due
again. Claiming uses `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers take
different rows without waiting; on SQLite the claim's transaction is IMMEDIATE (settings), which
serialises it against every other writer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import ChannelBinding, MessageDelivery, WhatsappMessage
from channels_app.whatsapp import signatures
from channels_app.whatsapp.agent_client import Outcome
from channels_app.whatsapp.payload import Inbound
from channels_app.whatsapp.status import DeliveryStatus

logger = logging.getLogger(__name__)

DEAD_BODY_RETENTION = timedelta(days=7)


# --- receiving -----------------------------------------------------------------------------------


@transaction.atomic
def messages_receive(*, binding: ChannelBinding, messages: list[Inbound]) -> int:
    """Store each message not stored yet for this trunk, with its delivery row, in one
    transaction. Returns how many were new (Meta's retries of a webhook store nothing)."""
    now = timezone.now()
    stored = 0
    for inbound in messages:
        if WhatsappMessage.objects.filter(binding=binding, wa_message_id=inbound.message_id).exists():
            continue
        try:
            with transaction.atomic():
                message = WhatsappMessage.objects.create(
                    binding=binding,
                    workspace_id=binding.workspace_id,
                    wa_message_id=inbound.message_id,
                    agent_uuid=binding.agent.agent_uuid,
                    sender=inbound.sender,
                    message_type=inbound.type,
                    sent_at=inbound.sent_at,
                    body={"message": inbound.message, "contact": inbound.contact},
                )
                MessageDelivery.objects.create(message=message, binding=binding, next_attempt_at=now)
        except IntegrityError:
            continue  # the same message, stored meanwhile by a concurrent retry of the webhook
        stored += 1
    return stored


# --- delivering ----------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the base, doubling, up to the cap."""
    seconds = settings.AGENT_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, min(attempts - 1, 30)))
    return timedelta(seconds=min(seconds, settings.AGENT_DELIVERY_MAX_BACKOFF_SECONDS))


def deliveries_claim(*, worker: str, limit: int) -> list[MessageDelivery]:
    """Lease up to `limit` due deliveries to `worker` and count the attempt: pending rows whose
    time has come and that no live lease holds (a dead worker's lease has run out)."""
    now = timezone.now()
    due = MessageDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        MessageDelivery.objects.filter(id__in=ids).update(
            lease_until=now + timedelta(seconds=settings.AGENT_DELIVERY_LEASE_SECONDS),
            leased_by=worker,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    return list(
        MessageDelivery.objects.filter(id__in=ids, leased_by=worker, status=DeliveryStatus.PENDING)
        .select_related("message", "binding__phone_number", "binding__workspace")
        .order_by("next_attempt_at", "id")
    )


@dataclass(frozen=True)
class Request:
    """One delivery as it goes on the wire."""

    url: str
    body: bytes
    headers: dict[str, str]


def delivery_request(delivery: MessageDelivery) -> Request:
    """The POST of a delivery: the message as JSON, signed, with the X-Trunkadmin-* headers."""
    message, binding = delivery.message, delivery.binding
    number = binding.phone_number.e164
    stored = message.body or {}
    document: dict[str, Any] = {
        "message_id": message.wa_message_id,
        "channel": "whatsapp",
        "phone_number": number,
        "agent_uuid": str(message.agent_uuid),
        "binding_uuid": str(binding.uuid),
        "workspace": binding.workspace.slug,
        "from": message.sender,
        "type": message.message_type,
        "sent_at": _iso(message.sent_at),
        "received_at": _iso(message.received_at),
        "message": stored.get("message"),
        "contact": stored.get("contact"),
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "trunkadmin-delivery",
        "X-Trunkadmin-Agent": str(message.agent_uuid),
        "X-Trunkadmin-Number": number,
        "X-Trunkadmin-Binding": str(binding.uuid),
        "X-Trunkadmin-Message-Id": message.wa_message_id,
        "X-Trunkadmin-Attempt": str(delivery.attempts),
        "X-Trunkadmin-Signature": signatures.sign(body, settings.AGENT_MESSAGE_SECRET),
    }
    url = settings.AGENT_MESSAGE_URL.replace("{agent_uuid}", str(message.agent_uuid))
    return Request(url=url, body=body, headers=headers)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def deliveries_record(*, worker: str, outcomes: list[tuple[MessageDelivery, Outcome]]) -> list[str]:
    """Record the outcomes of a round of attempts in one transaction; returns each delivery's
    status now. A delivered message's body is deleted in the same transaction. A failure is
    recorded only while `worker` still holds the row (a worker whose lease ran out and whose row
    was taken over records nothing)."""
    now = timezone.now()
    statuses = []
    with transaction.atomic():
        for delivery, outcome in outcomes:
            statuses.append(_record(delivery, worker, outcome, now))
    return statuses


def _record(delivery: MessageDelivery, worker: str, outcome: Outcome, now: datetime) -> str:
    mine = MessageDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
    if outcome.delivered:
        if mine.update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None, lease_until=None, leased_by=""
        ):
            WhatsappMessage.objects.filter(pk=delivery.message_id).update(body=None, body_deleted_at=now)
        return DeliveryStatus.DELIVERED
    failure = {"lease_until": None, "leased_by": "", "last_error": outcome.error[:255], "last_error_at": now}
    if delivery.attempts >= settings.AGENT_DELIVERY_MAX_ATTEMPTS:
        mine.filter(leased_by=worker).update(status=DeliveryStatus.DEAD, dead_at=now, next_attempt_at=None, **failure)
        logger.warning(
            "delivery %s of message %s is dead after %d attempts", delivery.pk, delivery.message_id, delivery.attempts
        )
        return DeliveryStatus.DEAD
    mine.filter(leased_by=worker).update(next_attempt_at=now + backoff(delivery.attempts), **failure)
    return DeliveryStatus.PENDING


def bodies_purge() -> int:
    """Privacy: delete the bodies of messages whose delivery died more than 7 days ago
    (delivered messages lose theirs at delivery). Returns how many."""
    now = timezone.now()
    return WhatsappMessage.objects.filter(
        body__isnull=False, delivery__status=DeliveryStatus.DEAD, delivery__dead_at__lte=now - DEAD_BODY_RETENTION
    ).update(body=None, body_deleted_at=now)


@transaction.atomic
def deliveries_retry(*, actor: Actor, deliveries: list[MessageDelivery]) -> int:
    """Staff's "retry": dead (or waiting) deliveries due again now with a fresh set of attempts.
    Refused for a delivered message and for one whose body was deleted (nothing left to send)."""
    ids = [delivery.pk for delivery in deliveries]
    rows = list(MessageDelivery.objects.select_for_update().select_related("message").filter(pk__in=ids))
    for row in rows:
        if row.status == DeliveryStatus.DELIVERED:
            raise DomainError("VALIDATION_ERROR", _("Delivery %(id)s was delivered already.") % {"id": row.pk})
        if row.message.body is None:
            raise DomainError(
                "VALIDATION_ERROR",
                _("The message of delivery %(id)s was deleted 7 days after its delivery died.") % {"id": row.pk},
            )
    now = timezone.now()
    count = MessageDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, dead_at=None, lease_until=None, leased_by=""
    )
    logger.info("%d deliveries retried by %s (%s)", count, actor.label, actor.door)
    return count
