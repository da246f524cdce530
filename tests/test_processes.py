"""Two server processes on one database, no Redis: the guarantees that span requests hold across them.

Two gunicorn processes (the shipped gunicorn.conf.py, one worker each, as `gunicorn trunkadmin.wsgi`
runs in production) serve the database this suite runs on (the SQLite test file, or the PostgreSQL
test database) on two free ports of 127.0.0.1, without REDIS_URL. Each idempotent write is sent to
one process and retried on the other: the retry must replay the first answer byte for byte (status,
body, ETag, plus `Idempotent-Replayed: true`), never run again (409) nor be refused (422).
Duplicates sent at once to both processes execute once. A token's throttle is counted once across
both processes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from channels_app.models import ChannelBinding, IdempotencyRecord, PhoneNumber

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
RATE, LIMIT = "20/day", 20  # per day: a count that no window boundary splits during the test
STARTUP_SECONDS = 60


def database_url() -> str:
    """The database this test runs on, as DATABASE_URL for the server processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `gunicorn trunkadmin.wsgi` process on 127.0.0.1, started from the repository."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        env.update(
            DJANGO_SETTINGS_MODULE="trunkadmin.settings_test",
            DATABASE_URL=database_url(),
            BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY="1",
            API_THROTTLE_RATE=RATE,
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "trunkadmin.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if self.request("GET", "/api/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"{self.name} did not answer within {STARTUP_SECONDS} s: {self.log.read_text()[-2000:]}")

    def request(
        self, method: str, path: str, *, token: str | None = None, body: dict | None = None, key: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Connection": "close"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def servers(transactional_db, tmp_path):
    started = [Server("process-1", tmp_path), Server("process-2", tmp_path)]
    try:
        for server in started:
            server.wait_until_up()
        yield started
    finally:
        for server in started:  # before the test database is flushed
            server.stop()


def test_retries_on_another_process_replay_and_the_throttle_counts_once(
    servers, workspace_a, agents_a, purchased_a, token_a, token_a_read
):
    one, two = servers
    number = purchased_a.phone_number_uuid
    writes = [
        (one, two, "POST", "/api/v1/phone-numbers/trunks", "register", {
            "phone_number": "+12025550199",
            "agent_uuid": str(agents_a[0].agent_uuid),
            "channel": "call",
            "sip": {"gateway": "sip.example.com"},
        }),
        (two, one, "PUT", "/api/v1/phone-numbers/trunks/assign", "assign", {
            "phone_number": "+12025550199", "channel": "call", "agent_uuid": str(agents_a[1].agent_uuid),
        }),
        (one, two, "POST", f"/api/v1/agents/{agents_a[2].agent_uuid}/channels/sms", "sms", {
            "phone_number_uuid": str(number),
        }),
        (two, one, "POST", f"/api/v1/phone-numbers/{number}/release", "release", None),
    ]  # fmt: skip
    replays = []
    for first_server, retry_server, method, path, key, body in writes:
        first = first_server.request(method, path, token=token_a, body=body, key=key)
        retry = retry_server.request(method, path, token=token_a, body=body, key=key)
        replays.append((key, first, retry))

    # Four duplicates at once, two on each process.
    duplicate = {"phone_number": "+12025550198", "agent_uuid": str(agents_a[0].agent_uuid), "channel": "whatsapp"}
    barrier = threading.Barrier(4)

    def send_together(server: Server):
        barrier.wait()
        return server.request("POST", "/api/v1/phone-numbers/trunks", token=token_a, body=duplicate, key="together")

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(send_together, [one, two, one, two]))

    # The throttle: one token, requests alternating between the processes.
    day_left = 86400 - time.time() % 86400
    if day_left < 60:  # the count starts again at midnight UTC: do not straddle it
        time.sleep(day_left + 1)
    throttled = [
        (server.name, server.request("GET", "/api/v1/agents", token=token_a_read)[0])
        for server in [one, two] * ((LIMIT + 2) // 2)
    ]

    retried_statuses = Counter(retry[0] for _, _, retry in replays)
    identical = [
        key
        for key, first, retry in replays
        if (first[0], first[2], first[1].get("ETag")) == (retry[0], retry[2], retry[1].get("ETag"))
        and retry[1].get("Idempotent-Replayed") == "true"
        and "Idempotent-Replayed" not in first[1]
    ]
    executed = [headers for _, headers, _ in together if "Idempotent-Replayed" not in headers]
    allowed = sum(1 for _, status in throttled if status == 200)
    print(
        f"\n[processes] {connection.vendor}, 2 gunicorn processes, one database, no Redis: "
        f"{len(replays)} retries sent to the other process, replayed identically {len(identical)}, "
        f"409 {retried_statuses[409]}, 422 {retried_statuses[422]}; "
        f"4 duplicates at once over both: executed {len(executed)}, replayed {len(together) - len(executed)}; "
        f"throttle {RATE} over both: {allowed} x 200 then {len(throttled) - allowed} x 429 "
        f"(counted per process it would allow {2 * LIMIT})"
    )

    assert [first[0] for _, first, _ in replays] == [201, 200, 200, 200], replays
    assert identical == [key for key, _, _ in replays], replays
    assert retried_statuses[409] == retried_statuses[422] == 0
    assert [status for status, _, _ in together] == [201] * 4
    assert len(executed) == 1 and len({body for _, _, body in together}) == 1
    registered = PhoneNumber.objects.get(number="+12025550198")
    assert ChannelBinding.history.filter(phone_number_id=registered.pk).count() == 1
    assert ChannelBinding.history.filter(phone_number__number="+12025550199", history_type="+").count() == 1
    assert not PhoneNumber.objects.filter(pk=purchased_a.pk).exists()  # released once
    assert IdempotencyRecord.objects.count() == len(writes) + 1
    assert [status for _, status in throttled] == [200] * LIMIT + [429] * (len(throttled) - LIMIT)
    assert {name for name, status in throttled if status == 429} == {one.name, two.name}
