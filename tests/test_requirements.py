"""The lock files that `make` installs agree with the pins people edit (`make lock` regenerates them):
every pin of requirements*.txt is locked at its version, every locked package carries its hashes,
and the three locks agree on the packages they share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "requirements.lock": ["requirements.txt"],
    "requirements-dev.lock": ["requirements.txt", "requirements-dev.txt"],
    "requirements-bench.lock": ["requirements.txt", "requirements-dev.txt", "requirements-bench.txt"],
}
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(filename: str) -> dict[str, str]:
    lines = (ROOT / filename).read_text().splitlines()
    return {normalized(m[1]): m[2] for line in lines if (m := PIN.match(line))}


def locked(filename: str) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of a lock file."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / filename).read_text().splitlines():
        if m := PIN.match(line):
            name = normalized(m[1])
            entries[name] = (m[2], 0)
        elif line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
    return entries


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_is_locked_at_its_version(lock):
    entries = locked(lock)
    for source in LOCKS[lock]:
        for name, version in pins(source).items():
            assert name in entries, f"{name} ({source}) is not in {lock}: run make lock"
            assert entries[name][0] == version, f"{name}: {version} in {source}, {entries[name][0]} in {lock}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_carries_its_hashes(lock):
    entries = locked(lock)
    assert len(entries) > len(pins(LOCKS[lock][-1])), "transitive dependencies are locked too"
    assert [name for name, (_, hashes) in entries.items() if hashes == 0] == []


def test_the_locks_agree_on_the_packages_they_share():
    runtime, dev, bench = (locked(lock) for lock in LOCKS)
    assert {name: dev[name][0] for name in runtime} == {name: version for name, (version, _) in runtime.items()}
    assert {name: bench[name][0] for name in dev} == {name: version for name, (version, _) in dev.items()}


def test_the_postgresql_driver_is_locked_with_its_binary_wheel():
    assert locked("requirements.lock")["psycopg-binary"][0] == pins("requirements.txt")["psycopg"]
