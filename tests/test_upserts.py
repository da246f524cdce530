"""The single-statement upserts (channels_app.services.upserts) on the real database: what each
decides, and that concurrent connections never lose or double a count."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from channels_app.models import ApiToken, RequestCounter
from channels_app.services import upserts

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
