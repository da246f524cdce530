"""The benchmark's generated inventory obeys the model's constraints: `make bench` fills its
databases with `bulk_create`, which skips the services, so a new constraint the generator does not
know about would only show on the next benchmark run. Here it shows in the suite."""

from __future__ import annotations

import pytest

from bench import data as bench_data
from channels_app.models import ChannelBinding


@pytest.mark.django_db
def test_the_generated_inventory_passes_every_database_constraint():
    info = bench_data.generate(300, progress=lambda line: None)

    assert info.counts["numbers"] == 300
    assert info.counts["call_trunks"] > 0 and info.counts["whatsapp_trunks"] > 0
    assert ChannelBinding.objects.count() == info.counts["bindings"]
