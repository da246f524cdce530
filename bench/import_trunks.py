"""Benchmark: `manage.py import_trunks` on a generated CSV (default 10,000 rows, SQLite).

    .venv/bin/python bench/import_trunks.py [--rows 10000] [--database-url URL]

Builds a throwaway database (var/bench-import.sqlite3 unless --database-url is given), a
workspace with one agent per row, and a CSV of the contract's columns: 80% call trunks with a
gateway, port, username and password, 20% WhatsApp trunks, some with additional settings. Then
times the real command, as an operator runs it, twice: --dry-run (the preview) and the commit.
Prints rows per second of wall-clock and of CPU time (the second does not depend on what else the
machine is running); both include process start-up and the per-row report.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYTHON, ROOT, VAR, bench_env, valid_numbers

SLUG = "bench-import"


def prepare(env: dict[str, str], rows: int, csv_path: Path) -> None:
    """Migrate, create the workspace and agents, write the CSV (in this process, then let go)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from channels_app.imports import COLUMNS  # the import's columns
    from channels_app.models import Agent, Workspace

    call_command("migrate", "--noinput", verbosity=0)
    workspace = Workspace.objects.create(name="Bench import", slug=SLUG)
    agents = Agent.objects.bulk_create(
        [Agent(workspace=workspace, name=f"agent {i:05d}") for i in range(rows)], batch_size=1000
    )
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i, (number, agent) in enumerate(zip(valid_numbers(rows), agents, strict=True)):
            spelled = f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}" if i % 2 else number
            if i % 5 == 4:
                writer.writerow([spelled, "whatsapp", agent.agent_uuid, "", "", "", "", "", "", "", ""])
                continue
            settings = json.dumps({"region": "eu", "tier": i % 3}) if i % 4 == 0 else ""
            writer.writerow(
                [
                    spelled,
                    "call",
                    agent.agent_uuid,
                    f"trunk {i}" if i % 3 == 0 else "",
                    ("inbound", "outbound", "both")[i % 3],
                    f"sip{i % 7}.example.net",
                    str(5060 + i % 3),
                    f"user-{i}",
                    f"pw-{i:08d}-bench-secret",
                    "10.0.0.2" if i % 2 else "",
                    settings,
                ]
            )


def timed_command(env: dict[str, str], *args: str) -> tuple[float, float, int, str]:
    """Wall-clock and CPU seconds (user + system) of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "manage.py", "import_trunks", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.returncode, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in var/")
    options = parser.parse_args()

    VAR.mkdir(exist_ok=True)
    csv_path = VAR / "bench-import.csv"
    if options.database_url:
        database_url = options.database_url
    else:
        db_path = VAR / "bench-import.sqlite3"
        for leftover in VAR.glob("bench-import.sqlite3*"):
            leftover.unlink()
        database_url = f"sqlite:///{db_path}"
    env = bench_env(database_url)

    pid = os.fork()
    if pid == 0:  # set up in a child, so this process keeps no database connection open
        prepare(env, options.rows, csv_path)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        sys.exit("setup failed")

    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"import_trunks on {engine}, {options.rows} rows ({csv_path.stat().st_size // 1024} KiB CSV)")
    for label, args in (("dry run (preview)", ("--dry-run",)), ("commit", ())):
        wall, cpu, code, stderr = timed_command(env, SLUG, str(csv_path), *args)
        if code != 0:
            sys.exit(f"{label} failed (exit {code}):\n{stderr[-2000:]}")
        print(
            f"  {label:<18} {wall:6.1f} s wall ({options.rows / wall:5.0f} rows/s)"
            f"   {cpu:6.1f} s CPU ({options.rows / cpu:5.0f} rows/s)"
        )
    print(f"  load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
