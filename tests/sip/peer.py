"""A real SIP peer for the trunk check tests: SIPp (Debian's `sip-tester`) on 127.0.0.x.

Each peer runs one scenario of tests/sip_scenarios/ on a free UDP port and logs every message it
receives, so a test can count what reached the peer and prove what never did. The credentials a
registrar expects go in an injection file (-inf), read by the scenario's `verifyauth`.
Skipped when sipp is missing, unless REQUIRE_SIPP=1 (CI), where a missing sipp is a failure.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parents[1] / "sip_scenarios"
_BLOCK_SEPARATOR = re.compile(r"^-{20,}.*$", re.MULTILINE)


def require_sipp() -> None:
    if not Path(SIPP).exists():
        if os.environ.get("REQUIRE_SIPP"):
            pytest.fail("sipp is required (REQUIRE_SIPP) but missing: apt-get install sip-tester")
        pytest.skip("sipp not installed (apt-get install sip-tester)")


def _bound(host: str, port: int) -> bool:
    """True when something already holds host:port/udp (trying to bind it sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def free_udp_port(*hosts: str) -> int:
    """A UDP port free on every one of `hosts`, below the ephemeral range that client sockets
    (ours and other test runs') draw from, so it is less likely to be taken before sipp binds it."""
    for _ in range(200):
        port = random.randint(20_000, 32_000)
        if not any(_bound(host, port) for host in hosts):
            return port
    raise RuntimeError("no free UDP port")


class PortTaken(RuntimeError):
    """Another process bound the port between our probe and sipp's start."""


class SippPeer:
    """One sipp process answering as a SIP gateway on host:port."""

    def __init__(self, scenario: str, workdir: Path, *, host: str, port: int, username: str, password: str):
        self.host, self.port = host, port
        self.workdir = workdir
        self.log = workdir / f"sipp-{host}-{port}-messages.log"
        self.errors = workdir / f"sipp-{host}-{port}-errors.log"
        injection = workdir / f"sipp-{host}-{port}-credentials.csv"
        injection.write_text(f"SEQUENTIAL\n{username};{password}\n")
        self.process = subprocess.Popen(
            [
                SIPP,
                "-sf",
                str(SCENARIOS / scenario),
                "-inf",
                str(injection),
                "-i",
                host,
                "-p",
                str(port),
                "-t",
                "u1",
                "-nostdin",
                "-trace_msg",
                "-message_file",
                str(self.log),
                "-trace_err",
                "-error_file",
                str(self.errors),
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(400):  # until sipp holds its port (or has died)
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")
                raise (PortTaken if "Address already in use" in error else RuntimeError)(f"sipp exited: {error}")
            if _bound(host, port):
                return
            time.sleep(0.025)
        raise RuntimeError("sipp did not bind its port")

    def _settle(self, quiet: float = 0.2, at_most: float = 3.0) -> None:
        deadline = time.monotonic() + at_most
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline and self.process.poll() is None:
            size = self.log.stat().st_size if self.log.exists() else 0
            if size != last:
                last, quiet_since = size, time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def wire(self) -> str:
        """Every message the peer received and sent, as sipp logged them (stops the peer first,
        once its log has stopped growing: sipp logs a message it sent just after sending it)."""
        self._settle()
        self.stop()
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def received(self) -> list[str]:
        """The request lines of every datagram the peer received (retransmissions included)."""
        blocks = _BLOCK_SEPARATOR.split(self.wire())
        lines = []
        for block in blocks:
            if "message received" in block:
                body = block.split(":", 1)[1].strip() if ":" in block else ""
                lines.append(body.splitlines()[0] if body else "")
        return lines

    def received_requests(self, method: str) -> list[str]:
        """Full text of every `method` request the peer received."""
        blocks = _BLOCK_SEPARATOR.split(self.wire())
        return [b for b in blocks if "message received" in b and re.search(rf"^{method} sip:", b, re.MULTILINE)]
