"""Shared pieces of the benchmarks: valid unique numbers, environments, a gunicorn runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import phonenumbers

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
BENCH_KEYS = "aW2FZmlwVqYhQ0dBc2lG1m3oZ7a1qH6yDk5mRz8cTnE="  # bench-only key for throwaway data
PYTHON = sys.executable


def valid_numbers(
    count: int, *, start: int = 0, area_codes: tuple[int, ...] = (212, 312, 415, 617, 713)
) -> Iterator[str]:
    """`count` distinct valid E.164 numbers (US), deterministic for a given `start`."""
    produced = 0
    index = start
    while produced < count:
        area = area_codes[(index // 8_000_000) % len(area_codes)]
        rest = index % 8_000_000
        exchange = 200 + rest // 10_000
        line = rest % 10_000
        candidate = f"+1{area}{exchange:03d}{line:04d}"
        index += 1
        if exchange > 999:
            continue
        parsed = phonenumbers.parse(candidate, None)
        if phonenumbers.is_valid_number(parsed):
            produced += 1
            yield candidate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str, *, redis_url: str = "") -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-for-throwaway-local-data-only-0123456789abcdef",
        "FIELD_ENCRYPTION_KEY": BENCH_KEYS,
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "1000000/minute",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 1) -> Iterator[str]:
    """Serve the project with gunicorn on a free loopback port; yields the base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "trunkadmin.wsgi",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            os.devnull,
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=2).read()
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]
