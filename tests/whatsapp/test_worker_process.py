"""`manage.py run_worker` as a real process: killed mid-delivery it loses nothing, and a burst of
1,000 messages through the webhook of a real server (gunicorn, two processes) reaches a
de-duplicating agent with none lost, while the agent fails for a while and the worker is killed
and replaced mid-run."""

from __future__ import annotations

import concurrent.futures
import statistics
import time

import pytest
from django.db import connection

from channels_app.models import MessageDelivery
from tests.whatsapp.support import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    notification,
    path_of,
    post_webhook,
    start_server,
    start_worker,
    stop,
    text_message,
    wait_for,
    worker_env,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

BURST = 1_000
CLIENTS = 8


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_receiver_processes_it_once(live_server, line_a, agent):
    agent.hold(1)  # the first POST waits at the agent: the worker is mid-delivery
    post_webhook(
        live_server.url, path_of(line_a), notification(PHONE_NUMBER_ID, [text_message("wamid.k")]), secret=APP_SECRET
    )
    env = worker_env(agent.message_url)
    first = start_worker(env)
    try:
        assert agent.state.held.wait(30), "the worker never posted"
    finally:
        stop(first, kill=True)  # SIGKILL while the agent holds the request
    agent.state.release.set()
    assert MessageDelivery.objects.get().status == "pending"

    second = start_worker(env)
    try:
        assert wait_for(lambda: MessageDelivery.objects.get().status == "delivered", timeout=30)
    finally:
        out = stop(second)

    delivery = MessageDelivery.objects.get()
    assert delivery.attempts == 2, out
    assert len(agent.unique) == 1, "processed once by the de-duplicating receiver"
    assert agent.duplicates <= 1  # the held request, if the agent answered it before it saw the worker gone


def test_a_burst_of_a_thousand_messages_is_delivered_with_none_lost(line_a, agent, tmp_path):
    agent.fail(50, status=503)  # the agent is down for the first 50 attempts, then recovers
    env = worker_env(agent.message_url)
    server, base_url = start_server(env, tmp_path / "gunicorn.log")
    worker = start_worker(env, "--concurrency", "8")
    accepted_at: dict[str, float] = {}

    def send(index: int) -> int:
        message_id = f"wamid.burst-{index:04d}"
        document = notification(PHONE_NUMBER_ID, [text_message(message_id, text=f"message {index}")])
        status, _ = post_webhook(base_url, path_of(line_a), document, secret=APP_SECRET)
        accepted_at[message_id] = time.monotonic()
        return status

    replaced = None
    try:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            statuses = list(pool.map(send, range(BURST)))
        accepting = time.monotonic() - started
        # Kill the worker outright once part of the burst is through, and start another.
        agent.wait_until(lambda peer: len(peer.unique) >= BURST // 3, timeout=60)
        stop(worker, kill=True)
        replaced = start_worker(env, "--concurrency", "8")
        done = agent.wait_until(lambda peer: len(peer.unique) >= BURST, timeout=120)
    finally:
        stop(worker, kill=True)
        if replaced is not None:
            stop(replaced)
        stop(server)

    assert statuses.count(200) == BURST
    lags = sorted(agent.unique[key].at - accepted_at[key] for key in accepted_at if key in agent.unique)
    lost = BURST - len(agent.unique)
    # The line goes to the run's figures section (tests/conftest.py).
    print(
        f"[delivery] {connection.vendor}: {BURST} messages in {accepting:.1f} s "
        f"({BURST / accepting:.0f} messages/s accepted by the webhook, gunicorn 2x4, {CLIENTS} clients); "
        f"delivery lag p50 {statistics.median(lags) * 1000:.0f} ms, "
        f"p99 {lags[int(len(lags) * 0.99) - 1] * 1000:.0f} ms; lost {lost}; "
        f"duplicates to the de-duplicating receiver: {agent.duplicates} redelivered, each recognised by its "
        f"message id and processed once (agent down for 50 attempts, worker killed after {BURST // 3} and "
        "replaced)"
    )
    assert done and lost == 0
    assert MessageDelivery.objects.filter(status="delivered").count() == BURST
    assert agent.duplicates <= 8 * 4  # at most one claim of the killed worker (concurrency x rounds)
