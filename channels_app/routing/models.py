"""The trunk's routing choices and the index of its inbound address blocks (docs/routing.md).

`ChannelBinding` keeps the trunk's `sip_inbound_addresses` as the list its owner typed
(normalised), which the API, the pages and the audit trail show. `TrunkAddressBlock` is the index
the edge's look-up reads: one row per block, keyed by the block's network and prefix length, so
"the trunks whose blocks contain S" is an exact-key look-up of the few keys that could contain S
(`addresses.candidate_keys`), on SQLite and PostgreSQL alike, without scanning trunks.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Transport(models.TextChoices):
    UDP = "udp", _("UDP")
    TCP = "tcp", _("TCP")
    TLS = "tls", _("TLS")


class NumberFormat(models.TextChoices):
    """How the carrier writes numbers on the wire (what the edge writes; it reads all three)."""

    E164 = "e164", _("E.164 (+14155550100)")
    E164_NO_PLUS = "e164_no_plus", _("E.164 without + (14155550100)")
    NATIONAL = "national", _("National (4155550100)")


DEFAULT_TRANSPORT = Transport.UDP.value
DEFAULT_NUMBER_FORMAT = NumberFormat.E164.value


class TrunkAddressBlock(models.Model):
    """One block of a call trunk's `sip_inbound_addresses`, as the edge's look-up reads it.

    `key` is the block's network in the IPv6 address space (IPv4 mapped into ::ffff:0:0/96) as 32
    hex digits, a slash and the prefix length in that space: `00000000000000000000ffffcb007100/120`
    is 203.0.113.0/24. Written by `routing.blocks` whenever a service writes the trunk's addresses;
    deleted with the trunk.
    """

    binding = models.ForeignKey("channels_app.ChannelBinding", on_delete=models.CASCADE, related_name="address_blocks")
    key = models.CharField(max_length=36)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["binding", "key"], name="uniq_address_block_binding_key"),
        ]
        indexes = [
            # The edge's look-up: key IN (the keys that could contain S) -> the trunks, index only.
            models.Index(fields=["key", "binding"], name="address_block_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.binding_id}: {self.key}"
