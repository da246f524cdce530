"""The single-statement upserts (channels_app.services.upserts) on the real database: what each
decides, and that concurrent connections never lose or double a count nor share a slot."""

from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from channels_app.errors import RateLimited
from channels_app.models import ApiToken, ProbeSlot, RequestCounter
from channels_app.services import probe_limits, upserts

pytestmark = pytest.mark.django_db

WINDOW = 1_800_000_000  # a window start, in seconds since the epoch


def test_a_token_is_counted_within_its_window_and_starts_again_in_the_next(token_a):
    token_id = ApiToken.objects.get().pk

    counts = [upserts.count_request(token_id=token_id, window_start=WINDOW) for _ in range(3)]
    later = upserts.count_request(token_id=token_id, window_start=WINDOW + 60)

    assert counts == [(1, WINDOW), (2, WINDOW), (3, WINDOW)]
    assert later == (1, WINDOW + 60)
    assert RequestCounter.objects.values_list("window_start", "requests").get() == (WINDOW + 60, 1)


def test_a_request_stamped_with_an_earlier_window_counts_in_the_current_one(token_a):
    # A server whose clock lags must not reset the count that the others keep.
    token_id = ApiToken.objects.get().pk
    upserts.count_request(token_id=token_id, window_start=WINDOW)

    assert upserts.count_request(token_id=token_id, window_start=WINDOW - 60) == (2, WINDOW)


def test_each_token_has_its_own_count(token_a, token_a_read):
    ids = list(ApiToken.objects.values_list("pk", flat=True))

    upserts.count_request(token_id=ids[0], window_start=WINDOW)
    upserts.count_request(token_id=ids[0], window_start=WINDOW)

    assert upserts.count_request(token_id=ids[1], window_start=WINDOW) == (1, WINDOW)


@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_count_every_request_exactly_once(token_a):
    token_id = ApiToken.objects.get().pk
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    seen: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                count, _ = upserts.count_request(token_id=token_id, window_start=WINDOW)
                with lock:
                    seen.append(count)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    total = threads * per_thread
    print(
        f"\n[processes] {connection.vendor}, request counter: {threads} connections x {per_thread} hits at once: "
        f"final count {RequestCounter.objects.get().requests} of {total}, "
        f"counts answered twice {sum(n - 1 for n in Counter(seen).values() if n > 1)}"
    )
    assert sorted(seen) == list(range(1, total + 1))  # every answer distinct: none lost, none doubled
    assert RequestCounter.objects.get().requests == total


@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED tables are PostgreSQL's")
def test_the_counters_live_in_an_unlogged_table_so_a_request_does_not_wait_for_the_log(db):
    # Each request's upsert would otherwise wait for the write-ahead log to reach the disk
    # (migration 0008); the other tables stay logged.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relpersistence FROM pg_class WHERE relname IN (%s, %s, %s)",
            [RequestCounter._meta.db_table, ProbeSlot._meta.db_table, ApiToken._meta.db_table],
        )
        persistence = dict(cursor.fetchall())
    assert persistence == {
        RequestCounter._meta.db_table: "u",
        ProbeSlot._meta.db_table: "p",
        ApiToken._meta.db_table: "p",
    }


def test_a_probe_slot_is_claimed_when_free_or_elapsed_and_refused_while_held(db):
    now = timezone.now()
    ProbeSlot.objects.create(key="held", until=now + timedelta(seconds=10))
    ProbeSlot.objects.create(key="elapsed", until=now - timedelta(seconds=1))

    claimed = upserts.claim_probe_slots(["new", "held", "elapsed"], now=now, until=now + timedelta(seconds=30))

    assert claimed == {"new", "elapsed"}
    until = dict(ProbeSlot.objects.values_list("key", "until"))
    assert until["held"] == now + timedelta(seconds=10)
    assert until["new"] == until["elapsed"] == now + timedelta(seconds=30)


def test_a_probe_claims_all_of_its_slots_or_none(db):
    slots = [probe_limits.address_slot("sip.example.com"), probe_limits.address_slot("backup.example.com")]
    probe_limits.claim(slots[1:], interval=30)
    before = dict(ProbeSlot.objects.values_list("key", "until"))

    with pytest.raises(RateLimited) as refused:
        probe_limits.claim(slots, interval=30)

    assert dict(ProbeSlot.objects.values_list("key", "until")) == before  # the free one was not taken
    assert refused.value.message == "This gateway was checked moments ago."
    assert 29 <= refused.value.retry_after <= 30


def test_gateway_addresses_are_one_slot_whatever_their_case_or_final_dot(db):
    assert probe_limits.address_slot("SIP.Example.COM.").key == probe_limits.address_slot("sip.example.com").key
    assert probe_limits.address_slot("sip.example.com").key != probe_limits.address_slot("sip.example.net").key


@pytest.mark.django_db(transaction=True)
def test_concurrent_probes_of_overlapping_slots_never_share_one():
    connections_at_once = 8
    start = threading.Barrier(connections_at_once)
    won: list[int] = []
    lock = threading.Lock()
    shared = probe_limits.address_slot("shared.example.com")

    def claim(index: int) -> None:
        # each claims its own trunk slot and the one shared address
        own = probe_limits.Slot(f"{index:064d}", "own", "once every %(interval)d seconds.")
        try:
            start.wait()
            probe_limits.claim([own, shared], interval=30)
            with lock:
                won.append(index)
        except RateLimited:
            pass
        finally:
            connections.close_all()

    workers = [threading.Thread(target=claim, args=(i,)) for i in range(connections_at_once)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    print(
        f"\n[probe limits] {connection.vendor}: {connections_at_once} connections claiming one shared "
        f"address at once: claimed {len(won)}, slots left held by the refused {ProbeSlot.objects.count() - 2}"
    )
    assert len(won) == 1
    assert sorted(ProbeSlot.objects.values_list("key", flat=True)) == sorted([f"{won[0]:064d}", shared.key])


def test_purge_expired_deletes_the_elapsed_probe_slots_and_keeps_the_held_ones(db):
    now = timezone.now()
    ProbeSlot.objects.create(key="held", until=now + timedelta(seconds=10))
    ProbeSlot.objects.create(key="elapsed", until=now - timedelta(seconds=1))
    out = io.StringIO()

    call_command("purge_expired", stdout=out)

    assert out.getvalue().strip() == "Deleted 0 expired idempotency record(s) and 1 elapsed probe slot(s)."
    assert list(ProbeSlot.objects.values_list("key", flat=True)) == ["held"]
