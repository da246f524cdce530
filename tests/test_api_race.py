"""Over real HTTP: 20 simultaneous identical `POST /phone-numbers/trunks`, 20 rounds.

Each round must give one 201 and nineteen 409 NUMBER_ALREADY_BOUND, never a 5xx, and leave one
binding. Runs on SQLite and on PostgreSQL (whichever DATABASE_URL selects) against pytest-django's
threaded live server on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.client
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
from django.db import connection

from channels_app.models import Agent, ChannelBinding, PhoneNumber
from tests.conftest import MARKER_PASSWORD

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CLIENTS = 20
ROUNDS = 20


def post_together(url: str, token: str, body: bytes, barrier: threading.Barrier) -> tuple[int, dict]:
    """Connect, wait until every client is connected, then send: the requests really overlap."""
    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port)
    try:
        conn.connect()
        barrier.wait()
        conn.request(
            "POST",
            "/api/v1/phone-numbers/trunks",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "close"},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_twenty_identical_registrations_give_one_201_and_nineteen_409_per_round(
    live_server, workspace_a, token_a, settings, capsys
):
    settings.API_THROTTLE_RATE = None  # 200 requests in seconds from one token is the point here
    agents = [Agent.objects.create(workspace=workspace_a, name=f"race agent {i}") for i in range(ROUNDS)]
    per_round = []
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for round_no, agent in enumerate(agents):
            body = json.dumps(
                {
                    "phone_number": f"+1 202 555 {300 + round_no:04d}",
                    "agent_uuid": str(agent.agent_uuid),
                    "channel": "call",
                    "sip": {"gateway": "sip.example.com", "password": MARKER_PASSWORD},
                }
            ).encode()
            barrier = threading.Barrier(CLIENTS)
            send = functools.partial(post_together, live_server.url, token_a, body, barrier)
            results = [future.result() for future in [pool.submit(send) for _ in range(CLIENTS)]]
            per_round.append(results)

    tally = [Counter(status for status, _ in results) for results in per_round]
    conflicts = [Counter(body["error"]["code"] for status, body in results if status == 409) for results in per_round]
    with capsys.disabled():
        total = sum(tally, Counter())
        print(
            f"\n[api race, {connection.vendor}] {ROUNDS} rounds x {CLIENTS} clients: "
            f"201={total[201]} 409={total[409]} 5xx={sum(n for s, n in total.items() if s >= 500)} "
            f"other={sum(n for s, n in total.items() if s not in (201, 409) and s < 500)}"
        )
    assert all(counts == Counter({201: 1, 409: CLIENTS - 1}) for counts in tally), tally
    assert all(codes == Counter({"NUMBER_ALREADY_BOUND": CLIENTS - 1}) for codes in conflicts), conflicts
    for round_no in range(ROUNDS):
        number = PhoneNumber.objects.get(number=f"+1202555{300 + round_no:04d}")
        assert ChannelBinding.objects.filter(phone_number=number).count() == 1
    for results in per_round:
        for _, body in results:
            assert MARKER_PASSWORD not in json.dumps(body)


def test_concurrent_requests_with_one_idempotency_key_execute_once(live_server, workspace_a, token_a, settings):
    settings.API_THROTTLE_RATE = None
    agent = Agent.objects.create(workspace=workspace_a, name="idempotent agent")
    body = json.dumps(
        {"phone_number": "+12025550400", "agent_uuid": str(agent.agent_uuid), "channel": "whatsapp"}
    ).encode()
    target = urlparse(live_server.url)
    barrier = threading.Barrier(CLIENTS)

    def send() -> tuple[int, str | None, dict]:
        conn = http.client.HTTPConnection(target.hostname, target.port)
        try:
            conn.connect()
            barrier.wait()
            conn.request(
                "POST",
                "/api/v1/phone-numbers/trunks",
                body=body,
                headers={
                    "Authorization": f"Bearer {token_a}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": "same-key-for-all",
                },
            )
            response = conn.getresponse()
            return response.status, response.getheader("Idempotent-Replayed"), json.loads(response.read())
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [future.result() for future in [pool.submit(send) for _ in range(CLIENTS)]]
    assert Counter(status for status, _, _ in results) == Counter({201: CLIENTS})
    assert Counter(replayed for _, replayed, _ in results) == Counter({None: 1, "true": CLIENTS - 1})
    assert len({json.dumps(data, sort_keys=True) for _, _, data in results}) == 1
    number = PhoneNumber.objects.get(number="+12025550400")
    assert ChannelBinding.history.filter(phone_number_id=number.pk).count() == 1


def _send_all(live_server, token: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(bodies))
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        futures = [
            pool.submit(post_together, live_server.url, token, json.dumps(body).encode(), barrier) for body in bodies
        ]
        return [future.result() for future in futures]


def test_one_agent_on_twenty_numbers_at_once_gets_one_binding(live_server, workspace_a, token_a, settings, capsys):
    settings.API_THROTTLE_RATE = None
    agent = Agent.objects.create(workspace=workspace_a, name="contended agent")
    bodies = [
        {"phone_number": f"+1 312 555 {100 + i:04d}", "agent_uuid": str(agent.agent_uuid), "channel": "call"}
        for i in range(CLIENTS)
    ]
    results = _send_all(live_server, token_a, bodies)
    tally = Counter(status for status, _ in results)
    codes = Counter(body["error"]["code"] for status, body in results if status == 409)
    with capsys.disabled():
        print(f"\n[api race, {connection.vendor}] one agent x {CLIENTS} numbers: {dict(tally)} {dict(codes)}")
    assert tally == Counter({201: 1, 409: CLIENTS - 1})
    assert codes == Counter({"AGENT_CHANNEL_IN_USE": CLIENTS - 1})
    assert ChannelBinding.objects.filter(agent=agent).count() == 1
    assert PhoneNumber.objects.filter(source="external").count() == 1  # the losers left no number behind


SPELLINGS = ["+14155552671", "14155552671", "+1 415 555 2671", "+1 (415) 555-2671", "1.415.555.2671", "+1-415-555-2671"]


def test_one_number_in_six_spellings_at_once_is_one_row(live_server, workspace_a, token_a, settings, capsys):
    settings.API_THROTTLE_RATE = None
    agents = [Agent.objects.create(workspace=workspace_a, name=f"spelling agent {i}") for i in range(len(SPELLINGS))]
    bodies = [
        {"phone_number": spelling, "agent_uuid": str(agent.agent_uuid), "channel": "call"}
        for spelling, agent in zip(SPELLINGS, agents, strict=True)
    ]
    results = _send_all(live_server, token_a, bodies)
    tally = Counter(status for status, _ in results)
    with capsys.disabled():
        print(f"\n[api race, {connection.vendor}] one number in {len(SPELLINGS)} spellings: {dict(tally)}")
    assert tally == Counter({201: 1, 409: len(SPELLINGS) - 1})
    assert PhoneNumber.objects.filter(number="+14155552671").count() == 1
    assert ChannelBinding.objects.filter(phone_number__number="+14155552671").count() == 1
