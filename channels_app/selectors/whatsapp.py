"""WhatsApp trunks as the webhook and the pages read them (docs/whatsapp.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from channels_app.models import Channel, ChannelBinding, MessageDelivery
from channels_app.whatsapp.status import DeliveryStatus

WEBHOOK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def trunk_for_webhook(*, webhook_id: str) -> ChannelBinding | None:
    """The WhatsApp trunk whose webhook is `webhook_id`, with its number, agent and app secret
    (the one read that decrypts it: the webhook checks signatures with it). The id is the trunk's
    credential to this URL: no workspace is involved, and an unknown id is None."""
    if not WEBHOOK_ID.fullmatch(webhook_id):
        return None
    return (
        ChannelBinding.objects.select_related("phone_number", "agent")
        .only(
            "id",
            "uuid",
            "workspace_id",
            "channel",
            "is_trunk",
            "webhook_id",
            "verify_token",
            "wa_phone_number_id",
            "wa_app_secret",
            "phone_number__id",
            "phone_number__number",
            "agent__id",
            "agent__agent_uuid",
        )
        .filter(webhook_id=webhook_id, channel=Channel.WHATSAPP, is_trunk=True)
        .first()
    )


@dataclass(frozen=True)
class Counters:
    """A WhatsApp trunk's messages on the number page."""

    received: int
    delivered: int
    pending: int
    dead: int
    last_error: str
    last_error_at: datetime | None


def trunk_counters(binding: ChannelBinding) -> Counters:
    """How many messages the trunk received, delivered, has pending and dead; the last delivery
    error in plain words (two queries)."""
    by_status = dict(
        MessageDelivery.objects.filter(binding=binding).values_list("status").annotate(n=Count("id")).order_by()
    )
    last = (
        MessageDelivery.objects.filter(binding=binding, last_error_at__isnull=False)
        .order_by("-last_error_at")
        .values_list("last_error", "last_error_at")
        .first()
    )
    return Counters(
        received=sum(by_status.values()),
        delivered=by_status.get(DeliveryStatus.DELIVERED, 0),
        pending=by_status.get(DeliveryStatus.PENDING, 0),
        dead=by_status.get(DeliveryStatus.DEAD, 0),
        last_error=last[0] if last else "",
        last_error_at=last[1] if last else None,
    )
