"""Benchmark: staff admin changelists on 100,000 numbers (50,000 of them with a call trunk).

    .venv/bin/python bench/admin_changelists.py [--numbers 100000] [--database-url URL]

Fills a throwaway database (var/bench-admin.sqlite3 unless --database-url is given) in bulk, then
requests each changelist through Django's test client as a logged-in superuser and prints the
median time of 5 requests and the number of queries of one. The query count must not depend on
the table size (the suite asserts that); the time shows what "no full count, no N+1" buys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import VAR, bench_env

BATCH = 5_000


def fill(count: int) -> None:
    from django.contrib.auth import get_user_model

    from channels_app.models import Agent, ChannelBinding, PhoneNumber, Source, Workspace

    workspace = Workspace.objects.create(name="Bench admin", slug="bench-admin")
    other = Workspace.objects.create(name="Bench other", slug="bench-other")
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        numbers = PhoneNumber.objects.bulk_create(
            [
                PhoneNumber(
                    workspace=workspace if (start + i) % 10 else other,
                    number=f"+1212{2000000 + start + i:07d}",
                    source=Source.EXTERNAL if (start + i) % 2 == 0 else Source.PURCHASED,
                    monthly_fee=0,
                    country_code="US",
                    location="New York, NY",
                )
                for i in range(size)
            ],
            batch_size=1000,
        )
        trunks = [n for n in numbers if n.source == Source.EXTERNAL]
        agents = Agent.objects.bulk_create(
            [Agent(workspace_id=n.workspace_id, name=f"agent {n.number}") for n in trunks], batch_size=1000
        )
        ChannelBinding.objects.bulk_create(
            [
                ChannelBinding(
                    workspace_id=n.workspace_id,
                    phone_number=n,
                    agent=agent,
                    channel="call",
                    is_trunk=True,
                    name=f"call_trunk_{n.number}".replace("+", ""),
                    direction="both",
                )
                for n, agent in zip(trunks, agents, strict=True)
            ],
            batch_size=1000,
        )
    get_user_model().objects.create_superuser("bench-staff", "bench@example.com", "bench-password-123")


def measure(url: str) -> tuple[float, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-staff"))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(timings), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in var/")
    options = parser.parse_args()

    VAR.mkdir(exist_ok=True)
    if options.database_url:
        database_url = options.database_url
    else:
        for leftover in VAR.glob("bench-admin.sqlite3*"):
            leftover.unlink()
        database_url = f"sqlite:///{VAR / 'bench-admin.sqlite3'}"
    env = bench_env(database_url)
    env["ALLOWED_HOSTS"] = "testserver"
    env["DJANGO_SETTINGS_MODULE"] = "trunkadmin.settings_test"  # plain static storage: no collectstatic
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from channels_app.models import Agent

    call_command("migrate", "--noinput", verbosity=0)
    started = time.perf_counter()
    fill(options.numbers)
    agent = Agent.objects.order_by("id").first()
    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"admin changelists on {engine}: {options.numbers} numbers (filled in {time.perf_counter() - started:.0f} s)")
    pages = {
        "numbers, first page": "/admin/channels_app/phonenumber/",
        "numbers, page 100": "/admin/channels_app/phonenumber/?p=100",
        "numbers, search '+1 (212) 200-0042'": "/admin/channels_app/phonenumber/?q=%2B1+(212)+200-0042",
        "numbers, search '4242' (partial)": "/admin/channels_app/phonenumber/?q=4242",
        "numbers, bound on call": "/admin/channels_app/phonenumber/?channel=call",
        "numbers, one agent (UUID)": f"/admin/channels_app/phonenumber/?agent={agent.agent_uuid}",
        "numbers, agent name part": "/admin/channels_app/phonenumber/?agent=200-0042",
        "bindings, first page": "/admin/channels_app/channelbinding/",
        "bindings, search '212 200 0042'": "/admin/channels_app/channelbinding/?q=212+200+0042",
        "agents, first page": "/admin/channels_app/agent/",
    }
    for label, url in pages.items():
        seconds, queries = measure(url)
        print(f"  {label:<38} {seconds * 1000:7.0f} ms  {queries:3d} queries")
    print(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
