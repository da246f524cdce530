"""How often the product may send SIP to a trunk's gateways: the rate limits every probe shares.

A probe (the trunk check's OPTIONS and REGISTER; the test call will use the same slots) runs only
when it claims, for `SIP_CHECK_MIN_INTERVAL_SECONDS`, every slot it needs (docs/sip-check.md):

- its trunk's, keyed by workspace, number and channel, not by the binding row: deleting and
  re-registering the trunk, or pointing it at another gateway, does not free it;
- one per gateway address it sends to, across the whole installation: several trunks, several
  workspaces or a re-registration cannot drive one address faster than once per interval. This
  covers a workspace's own trunks on one address too.

The slots are claimed all or none, by one statement the database settles
(`services.upserts.claim_probe_slots`), so the limits hold across worker processes and servers.
A refusal is RATE_LIMITED with the seconds until every slot is free; its message says which limit
refused, never who holds the slot.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.audit import Actor, Door
from channels_app.errors import RateLimited
from channels_app.models import ChannelBinding, ProbeSlot, Workspace
from channels_app.services import upserts


@dataclass(frozen=True)
class Slot:
    """One limit a probe must clear: its key, and what a refusal on it says."""

    key: str
    message: str
    rule: str  # "... once every %(interval)d seconds."


def _key(*parts: object) -> str:
    """An HMAC of what the slot limits: the table names no number and no (encrypted) gateway."""
    text = "\x1f".join(str(part) for part in parts)
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def trunk_slot(*, workspace: Workspace, number: str, channel: str) -> Slot:
    return Slot(
        _key("trunk", workspace.pk, number, channel),
        _("This trunk was checked moments ago."),
        _("A trunk can be checked once every %(interval)d seconds."),
    )


def address_slot(host: str) -> Slot:
    return Slot(
        _key("address", host.strip().rstrip(".").lower()),
        _("This gateway was checked moments ago."),
        _("A gateway address can be checked once every %(interval)d seconds, from any trunk."),
    )


def trunk_probe_slots(*, workspace: Workspace, binding: ChannelBinding, actor: Actor) -> list[Slot]:
    """The slots a probe of this call trunk needs: the trunk's, and each gateway address's.

    An operator's run (`check_trunks`, door `command`) is bound by the trunk's slot only: it checks
    every trunk behind a carrier's gateway on purpose, at its own `--concurrency`, and is not a
    door a customer can drive.
    """
    slots = [trunk_slot(workspace=workspace, number=binding.phone_number.e164, channel=binding.channel)]
    if actor.door != Door.COMMAND:
        hosts = dict.fromkeys(host for host in (binding.sip_gateway, binding.sip_secondary_gateway) if host)
        slots += [address_slot(host) for host in hosts]
    return slots


def claim(slots: Sequence[Slot], *, interval: int) -> None:
    """Claim every slot for `interval` seconds, or none: RATE_LIMITED (with `retry_after`) when one
    is held, naming the first of them in `slots` order."""
    now = timezone.now()
    by_key = {slot.key: slot for slot in slots}
    with transaction.atomic():
        claimed = upserts.claim_probe_slots(list(by_key), now=now, until=now + timedelta(seconds=interval))
        held = [slot for slot in by_key.values() if slot.key not in claimed]
        if not held:
            return
        transaction.set_rollback(True)  # free again what this claim took
    until = ProbeSlot.objects.filter(key__in=[slot.key for slot in held]).aggregate(until=Max("until"))["until"]
    retry_after = max(1, math.ceil((until - now).total_seconds())) if until else 1
    raise RateLimited(
        held[0].message,
        retry_after=retry_after,
        details=(held[0].rule + " " + _("Try again in %(wait)d seconds."))
        % {"interval": interval, "wait": retry_after},
    )
