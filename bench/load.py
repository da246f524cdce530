"""Load run: N concurrent API clients, mixed reads and writes, against gunicorn on 127.0.0.1.

The deployment shape of docs/deployment.md: several gunicorn worker processes sharing one database
(SQLite file or PostgreSQL) and, for PostgreSQL, one Redis. Bounded in clients, time and target
(loopback only). Afterwards the database is compared with what the clients were told: every
trunk answered 201 and not deleted must exist, nothing else may, and no (number, channel) twice.

    python bench/load.py --db sqlite --clients 50 --seconds 60
    python bench/load.py --db postgres --clients 50 --seconds 60
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import VAR, bench_env, gunicorn, manage, percentile, valid_numbers

AGENTS_PER_CLIENT = 12
SEEDED_NUMBERS = 200


class Client(threading.Thread):
    def __init__(self, index: int, base: str, token: str, agents: list[str], numbers: list[str], shared, deadline):
        super().__init__(daemon=True)
        self.index, self.token, self.shared, self.deadline = index, token, shared, deadline
        self.host, self.port = base.removeprefix("http://").split(":")
        self.free_agents = list(agents)
        self.spare_numbers = list(numbers)
        self.live: dict[str, str] = {}  # number -> agent holding it on call
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.by_op: Counter = Counter()
        self.rng = random.Random(index)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        finally:
            conn.close()
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            if roll < 0.30:
                self.by_op["list"] += 1
                self.request("GET", f"/api/v1/phone-numbers?per_page=15&page={self.rng.randint(1, 10)}")
            elif roll < 0.55:
                self.by_op["snapshot"] += 1
                number = self.rng.choice(list(self.live) or self.shared["seeded"])
                self.request("GET", f"/api/v1/phone-numbers/channels?number={number.replace('+', '%2B')}")
            elif roll < 0.70 and self.free_agents and self.spare_numbers:
                self.by_op["create"] += 1
                number, agent = self.spare_numbers.pop(), self.free_agents.pop()
                status, _ = self.request(
                    "POST",
                    "/api/v1/phone-numbers/trunks",
                    {
                        "phone_number": number,
                        "agent_uuid": agent,
                        "channel": "call",
                        "sip": {"gateway": "sip.example.com", "username": "load", "password": "load-secret"},
                    },
                )
                if status == 201:
                    self.live[number] = agent
                else:
                    self.free_agents.append(agent)
            elif roll < 0.75 and self.shared["all_live"]:
                # Deliberate conflict: someone else's number. 409 expected (201 if it was deleted meanwhile).
                self.by_op["conflict"] += 1
                number = self.rng.choice(self.shared["all_live"])
                if self.free_agents and number not in self.live:
                    agent = self.free_agents.pop()
                    status, _ = self.request(
                        "POST",
                        "/api/v1/phone-numbers/trunks",
                        {"phone_number": number, "agent_uuid": agent, "channel": "call"},
                    )
                    if status == 201:
                        self.live[number] = agent
                    else:
                        self.free_agents.append(agent)
            elif roll < 0.85 and self.live:
                self.by_op["update"] += 1
                number = self.rng.choice(list(self.live))
                self.request(
                    "PATCH",
                    "/api/v1/phone-numbers/trunks",
                    {"phone_number": number, "channel": "call", "sip": {"password": f"p{self.rng.random()}"}},
                )
            elif roll < 0.92 and self.live and self.free_agents:
                self.by_op["assign"] += 1
                number = self.rng.choice(list(self.live))
                agent = self.free_agents.pop()
                status, _ = self.request(
                    "PUT",
                    "/api/v1/phone-numbers/trunks/assign",
                    {"phone_number": number, "channel": "call", "agent_uuid": agent},
                )
                if status == 200:
                    self.free_agents.append(self.live[number])
                    self.live[number] = agent
                else:
                    self.free_agents.append(agent)
            elif self.live:
                self.by_op["delete"] += 1
                number = self.rng.choice(list(self.live))
                status, _ = self.request(
                    "DELETE", f"/api/v1/phone-numbers/trunks?phone_number={number.replace('+', '%2B')}&channel=call"
                )
                if status == 200:
                    self.free_agents.append(self.live.pop(number))
            with self.shared["lock"]:
                self.shared["all_live"] = [n for c in self.shared["clients"] for n in list(c.live)][:500]


def prepare(env: dict[str, str], clients: int) -> tuple[str, list[list[str]], list[str]]:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")  # as docs/deployment.md does before starting gunicorn
    script = f"""
import json
from channels_app import services
from channels_app.audit import Actor
from channels_app.models import Agent, Workspace
from bench.common import valid_numbers
actor = Actor.command("bench")
ws, _ = Workspace.objects.get_or_create(slug="load", defaults={{"name": "Load"}})
Agent.objects.bulk_create([Agent(workspace=ws, name=f"load agent {{i}}") for i in range({clients * AGENTS_PER_CLIENT})])
for number in valid_numbers({SEEDED_NUMBERS}, start=7_000_000):
    services.number_add_purchased(workspace=ws, actor=actor, number=number)
agents = [str(a) for a in Agent.objects.filter(workspace=ws).values_list("agent_uuid", flat=True)]
print(json.dumps(agents))
"""
    agents = json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])
    token = manage(env, "create_api_token", "load", "--name", "load run", capture=True).strip()
    groups = [agents[i * AGENTS_PER_CLIENT : (i + 1) * AGENTS_PER_CLIENT] for i in range(clients)]
    return token, groups, list(valid_numbers(SEEDED_NUMBERS, start=7_000_000))


def verify(env: dict[str, str], expected: set[str]) -> dict[str, int]:
    script = """
import json
from django.db.models import Count
from channels_app.models import ChannelBinding, PhoneNumber
rows = list(PhoneNumber.objects.filter(workspace__slug="load", source="external").values_list("number", flat=True))
dups = ChannelBinding.objects.values("phone_number", "channel").annotate(n=Count("id")).filter(n__gt=1).count()
orphans = PhoneNumber.objects.filter(source="external", bindings__isnull=True).count()
print(json.dumps({"numbers": [str(r) for r in rows], "duplicates": dups, "orphans": orphans}))
"""
    found = json.loads(manage(env, "shell", "-c", script, capture=True).strip().splitlines()[-1])
    numbers = set(found["numbers"])
    return {
        "expected_rows": len(expected),
        "rows_in_db": len(numbers),
        "lost": len(expected - numbers),
        "unexpected": len(numbers - expected),
        "duplicated": found["duplicates"],
        "orphan_external_numbers": found["orphans"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/trunkadmin_load")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    if args.db == "sqlite":
        path = VAR / "load.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env = bench_env(f"sqlite:///{path}")
    else:
        import psycopg

        admin_url = args.postgres_url.rsplit("/", 1)[0] + "/postgres"
        name = args.postgres_url.rsplit("/", 1)[1]
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        env = bench_env(args.postgres_url, redis_url=args.redis_url)

    token, agent_groups, seeded = prepare(env, args.clients)
    shared = {"lock": threading.Lock(), "seeded": seeded, "all_live": [], "clients": []}
    numbers = list(valid_numbers(args.clients * 2000, start=1_000_000))
    with gunicorn(env, workers=args.workers, threads=args.threads) as base:
        deadline = time.monotonic() + args.seconds
        clients = [
            Client(i, base, token, agent_groups[i], numbers[i * 2000 : (i + 1) * 2000], shared, deadline)
            for i in range(args.clients)
        ]
        shared["clients"] = clients
        started = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=args.seconds + 120)
        elapsed = time.monotonic() - started

    latencies = sorted(x for c in clients for x in c.latencies)
    statuses = sum((c.statuses for c in clients), Counter())
    ops = sum((c.by_op for c in clients), Counter())
    expected = {n for c in clients for n in c.live}
    integrity = verify(env, expected)
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(
        f"load run: db={args.db} clients={args.clients} seconds={args.seconds:.0f} "
        f"gunicorn workers={args.workers} threads={args.threads}"
    )
    print(
        f"requests={len(latencies)} rps={len(latencies) / elapsed:.1f} "
        f"p50={percentile(latencies, 0.5) * 1000:.1f}ms p95={percentile(latencies, 0.95) * 1000:.1f}ms "
        f"p99={percentile(latencies, 0.99) * 1000:.1f}ms"
    )
    print(f"statuses={dict(sorted(statuses.items()))} 5xx={server_errors}")
    print(f"operations={dict(sorted(ops.items()))}")
    print(f"integrity={integrity}")
    ok = server_errors == 0 and integrity["lost"] == 0 and integrity["unexpected"] == 0 and integrity["duplicated"] == 0
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
