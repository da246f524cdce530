"""Real HTTP peers on 127.0.0.1 for the WhatsApp tests: Meta's Graph API and the agent's message
endpoint, each a threaded HTTP server of the standard library started by the test.

The Graph peer answers the documented shapes: a phone number read
(`GET /{phone-number-id}?fields=...` -> `{"verified_name", "display_phone_number",
"quality_rating", "code_verification_status", "id"}`), an invalid token
(`{"error": {"type": "OAuthException", "code": 190, ...}}`, HTTP 401) and an unknown object
(`{"error": {"type": "GraphMethodException", "code": 100, "error_subcode": 33}}`, HTTP 400).

The agent peer records every POST it receives (headers, raw body, time), can fail the next N
requests or hold one until released, and de-duplicates by `X-Trunkadmin-Message-Id` as a careful
receiver does: `unique` is what it processed, `duplicates` what it recognised and skipped.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status: int, document: Any) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Peer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.peer = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the Graph API -----------------------------------------------------------------------------


class _GraphHandler(_Quiet):
    def do_GET(self):
        graph: GraphPeer = self.server.peer
        url = urlparse(self.path)
        number_id = url.path.rsplit("/", 1)[-1]
        authorization = self.headers.get("Authorization", "")
        graph.requests.append({"path": url.path, "query": parse_qs(url.query), "authorization": authorization})
        if graph.silent:
            time.sleep(graph.silent)
        line = graph.lines.get(number_id)
        if authorization != f"Bearer {graph.token}":
            self.reply(
                401,
                {
                    "error": {
                        "message": "Invalid OAuth access token - Cannot parse access token",
                        "type": "OAuthException",
                        "code": 190,
                        "fbtrace_id": "Aj3kE1uJ8qYb",
                    }
                },
            )
        elif line is None:
            self.reply(
                400,
                {
                    "error": {
                        "message": f"Unsupported get request. Object with ID '{number_id}' does not exist, cannot be "
                        "loaded due to missing permissions, or does not support this operation.",
                        "type": "GraphMethodException",
                        "code": 100,
                        "error_subcode": 33,
                        "fbtrace_id": "B7cQ0mLr2Tzx",
                    }
                },
            )
        else:
            self.reply(200, {**line, "code_verification_status": "VERIFIED", "id": number_id})


class GraphPeer(Peer):
    """Meta's Graph API for one access token and the numbers it can read."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.lines: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.silent = 0.0  # seconds to wait before answering
        super().__init__(_GraphHandler)

    def add_line(self, number_id: str, display: str, name: str = "Acme Support", rating: str = "GREEN") -> None:
        self.lines[number_id] = {"display_phone_number": display, "verified_name": name, "quality_rating": rating}


# --- the agent's endpoint ----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class _AgentState:
    fail_next: int = 0
    fail_status: int = 503
    hold_next: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class _AgentHandler(_Quiet):
    def do_POST(self):
        agent: AgentPeer = self.server.peer
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with agent.lock:
            state = agent.state
            hold = state.hold_next > 0
            if hold:
                state.hold_next -= 1
            fail = state.fail_next > 0
            if fail:
                state.fail_next -= 1
        if hold:
            state.held.set()
            state.release.wait(30)
        status = state.fail_status if fail else 200
        record = Received(self.path, dict(self.headers.items()), body, time.monotonic(), status)
        with agent.lock:
            agent.received.append(record)
            message_id = record.headers.get("X-Trunkadmin-Message-Id", "")
            if status == 200:
                if message_id in agent.unique:
                    agent.duplicates += 1
                else:
                    agent.unique[message_id] = record
        with contextlib.suppress(OSError):  # the worker went away while we held its request
            self.reply(status, {"ok": status == 200})


class AgentPeer(Peer):
    """The agent's message endpoint: records, fails or holds on demand, de-duplicates."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = _AgentState()
        self.received: list[Received] = []
        self.unique: dict[str, Received] = {}
        self.duplicates = 0
        super().__init__(_AgentHandler)

    @property
    def message_url(self) -> str:
        return self.url + "/agents/{agent_uuid}/messages"

    def fail(self, count: int, status: int = 503) -> None:
        with self.lock:
            self.state.fail_next, self.state.fail_status = count, status

    def hold(self, count: int = 1) -> None:
        with self.lock:
            self.state.hold_next = count
            self.state.held.clear()
            self.state.release.clear()

    def wait_until(self, predicate, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.02)
        return False
