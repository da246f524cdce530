"""The index of inbound address blocks, kept in step with each trunk's `sip_inbound_addresses`.

The trunk services call these inside their transaction, right after writing the trunk, so the
index never disagrees with what the trunk shows (a trunk deleted takes its blocks with it:
the foreign key cascades). `tests/test_routing_blocks.py` holds every door to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from channels_app.routing.addresses import block_key
from channels_app.routing.models import TrunkAddressBlock


def keys_of(binding) -> set[str]:
    return {block_key(block) for block in binding.sip_inbound_addresses or []}


def store_new(bindings: Iterable) -> None:
    """Index the blocks of trunks just inserted (they have none yet)."""
    rows = [
        TrunkAddressBlock(binding_id=binding.pk, key=key) for binding in bindings for key in sorted(keys_of(binding))
    ]
    if rows:
        TrunkAddressBlock.objects.bulk_create(rows, batch_size=1000)


def replace(binding) -> None:
    """Make the trunk's indexed blocks its current `sip_inbound_addresses`."""
    wanted = keys_of(binding)
    stored = set(TrunkAddressBlock.objects.filter(binding_id=binding.pk).values_list("key", flat=True))
    if stored - wanted:
        TrunkAddressBlock.objects.filter(binding_id=binding.pk, key__in=sorted(stored - wanted)).delete()
    if wanted - stored:
        TrunkAddressBlock.objects.bulk_create(
            [TrunkAddressBlock(binding_id=binding.pk, key=key) for key in sorted(wanted - stored)]
        )
