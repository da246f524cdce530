"""Real parts of the edge tests: Kamailio, SIPp peers, and an HTTP hop in front of the product.

Kamailio (Debian `kamailio`, `kamailio-utils-modules`, `kamailio-json-modules`) runs the
configuration `manage.py sip_edge` renders, on a free port of 127.0.0.2; SIPp (Debian
`sip-tester`) plays carriers, agents' media servers and gateways on other 127.0.0.x addresses.
Skipped when either is missing, unless REQUIRE_KAMAILIO=1 / REQUIRE_SIPP=1 (CI).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from channels_app.edge import config as edge_config
from tests.sip.peer import SIPP, free_udp_port, require_sipp

SECRET = "edge-test-secret-4b1d7c0a9e"


PACKAGES = "kamailio kamailio-utils-modules kamailio-json-modules kamailio-tls-modules"


def require_kamailio(*, tls: bool = False) -> None:
    needed = [
        ("kamailio", edge_config.KAMAILIO),
        ("kamailio-utils-modules (http_client)", edge_config.MODULE_PATH + "http_client.so"),
        ("kamailio-json-modules (json)", edge_config.MODULE_PATH + "json.so"),
    ]
    if tls:
        needed.append(("kamailio-tls-modules (tls)", edge_config.MODULE_PATH + "tls.so"))
    missing = [name for name, path in needed if not Path(path).exists()]
    if missing:
        message = f"missing {', '.join(missing)}: apt-get install {PACKAGES}"
        if os.environ.get("REQUIRE_KAMAILIO"):
            pytest.fail(f"Kamailio is required (REQUIRE_KAMAILIO) but {message}")
        pytest.skip(message)
    require_sipp()


def free_port(host: str) -> int:
    """A port free for UDP and TCP on `host` (Kamailio listens on both)."""
    for _ in range(50):
        port = free_udp_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def options_answered(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a SIP OPTIONS to host:port gets an answer (the edge answers its own 200)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()
        via = f"SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{time.time_ns()}"
        message = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\nVia: {via}\r\n"
            f"From: <sip:probe@{local[0]}>;tag=1\r\nTo: <sip:{host}>\r\nCall-ID: probe-{time.time_ns()}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(message.encode(), (host, port))
        sock.settimeout(timeout)
        try:
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            return False


class Kamailio:
    """The edge, as `manage.py sip_edge` would run it, with its log kept for the test to read."""

    def __init__(self, workdir: Path, *, product_url: str, host: str = "127.0.0.2", **overrides) -> None:
        self.host, self.port = host, free_port(host)
        config = edge_config.EdgeConfig(
            listen_host=host,
            port=self.port,
            product_url=product_url,
            children=overrides.pop("children", 4),
            decision_workers=overrides.pop("decision_workers", 4),
            gateway_timeout_ms=overrides.pop("gateway_timeout_ms", 600),
            **overrides,
        )
        self.config_path = workdir / f"kamailio-{self.port}.cfg"
        self.config_path.write_text(edge_config.render(config))
        runtime = workdir / f"run-{self.port}"
        runtime.mkdir()
        self.log = workdir / f"kamailio-{self.port}.log"
        env = {**os.environ, **edge_config.environment(config, SECRET)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                edge_config.command(self.config_path, runtime),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"kamailio exited: {self.log.read_text(errors='replace')[-3000:]}")
            if options_answered(host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("kamailio did not answer OPTIONS")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class Sipp:
    """One SIPp process running one scenario, as a caller (remote given) or a callee."""

    def __init__(
        self,
        xml: str,
        workdir: Path,
        *,
        host: str,
        port: int | None = None,
        remote: str | None = None,
        service: str | None = None,
        injection: list[list[str]] | None = None,
        transport: str = "u1",
        calls: int = 1,
        rate: float | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        name = f"sipp-{host}-{self.port}"
        scenario = workdir / f"{name}.xml"
        scenario.write_text(xml)
        self.log = workdir / f"{name}-messages.log"
        self.errors = workdir / f"{name}-errors.log"
        args = [SIPP, "-sf", str(scenario), "-i", host, "-p", str(self.port), "-t", transport, "-m", str(calls)]
        if rate is not None:
            args += ["-r", str(rate), "-l", str(calls)]
        args += [
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(self.log),
            "-trace_err",
            "-error_file",
            str(self.errors),
        ]
        args += ["-recv_timeout", "8000", "-timeout", "40s", "-timeout_error"]
        if injection is not None:
            data = workdir / f"{name}-injection.csv"
            data.write_text("SEQUENTIAL\n" + "".join(";".join(row) + "\n" for row in injection))
            args += ["-inf", str(data)]
        if service is not None:
            args += ["-s", service]
        if remote is not None:
            args.append(remote)
        self.process = subprocess.Popen(
            args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if remote is None:
            self._wait_bound()

    def _wait_bound(self) -> None:
        for _ in range(400):
            if self.process.poll() is not None:
                raise RuntimeError(f"sipp exited: {self.process.stderr.read().decode(errors='replace')}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((self.host, self.port))
                except OSError:
                    return
            time.sleep(0.02)
        raise RuntimeError("sipp did not bind its port")

    def wait(self, timeout: float = 45) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return -999

    def passed(self, timeout: float = 45) -> bool:
        return self.wait(timeout) == 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def messages(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def failures(self) -> str:
        return self.errors.read_text(errors="replace") if self.errors.exists() else ""

    def received(self, start: str) -> list[str]:
        """The messages SIPp received whose first line starts with `start` (e.g. "INVITE", "SIP/2.0 403")."""
        blocks = self.messages().split("----------------------------------------------- ")
        found = []
        for block in blocks:
            head, _sep, body = block.partition(" bytes :\n")
            if "message received" in head and body.lstrip().startswith(start):
                found.append(body.lstrip())
        return found


class ProductHop:
    """An HTTP hop between the edge and the product (the live server): forwards every request
    as it is, after `delay` seconds; `down` makes it close connections without an answer. It lets
    a test make the product slow or absent for the edge while the product itself runs on."""

    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        self.upstream = urlsplit(upstream)
        self.delay = 0.0
        self.down = False
        self.requests = 0
        hop = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # no access log: bodies hold call data
                return

            def do_POST(self) -> None:
                hop.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if hop.down:
                    self.close_connection = True
                    return
                if hop.delay:
                    time.sleep(hop.delay)
                connection = getattr(local, "connection", None)
                if connection is None:
                    connection = local.connection = http.client.HTTPConnection(
                        hop.upstream.hostname, hop.upstream.port, timeout=10
                    )
                headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
                try:
                    connection.request("POST", self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    payload = answer.read()
                except (OSError, http.client.HTTPException):
                    local.connection = None
                    self.send_error(502)
                    return
                # One write, without Nagle (see Handler): headers and body apart wait on delayed ACKs.
                head = [f"HTTP/1.1 {answer.status} {answer.reason}"]
                head += [
                    f"{name}: {value}"
                    for name, value in answer.getheaders()
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server")
                ]
                head.append(f"Content-Length: {len(payload)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sipp_available() -> bool:
    return shutil.which("sipp") is not None or Path(SIPP).exists()
