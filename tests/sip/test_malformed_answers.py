"""A peer that answers with malformed datagrams before its real answer: the check ignores and
counts them and reports the real answer, instead of failing the whole gateway result.

The peer is a plain UDP socket on 127.0.0.2 in a thread (it needs to send what no SIP stack would).
"""

from __future__ import annotations

import re
import socket
import threading

import pytest

from channels_app import services
from channels_app.sip import message
from tests.sip.support import NUMBER, register_trunk

pytestmark = pytest.mark.django_db

HOST = "127.0.0.2"


def _header(request: str, name: str) -> str:
    return re.search(rf"^{name}:[^\r\n]*", request, re.MULTILINE | re.IGNORECASE).group(0)


def _answer(request: str, *, cseq: str | None = None, status: str = "200") -> bytes:
    lines = [
        f"SIP/2.0 {status} OK",
        _header(request, "Via"),
        _header(request, "From"),
        _header(request, "To") + ";tag=peer1",
        _header(request, "Call-ID"),
        cseq if cseq is not None else _header(request, "CSeq"),
        "Content-Length: 0",
    ]
    return ("\r\n".join(line for line in lines if line) + "\r\n\r\n").encode()


class MalformedPeer:
    """Answers each request with the `junk` datagrams first, then a well-formed 200 OK."""

    def __init__(self, junk):
        self.junk = junk
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, source = self.sock.recvfrom(65_535)
            except TimeoutError:
                continue
            request = data.decode()
            self.requests.append(request.split("\r\n", 1)[0])
            for datagram in self.junk(request):
                self.sock.sendto(datagram, source)
            self.sock.sendto(_answer(request), source)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


def malformed_datagrams(request: str) -> list[bytes]:
    return [
        _answer(request, cseq="CSeq: \u00b9 OPTIONS"),  # superscript one: isdigit() but not int()
        _answer(request, cseq="CSeq: \u0661 OPTIONS"),  # Arabic-Indic one: int() reads it, SIP does not
        _answer(request, cseq="CSeq: 1"),  # no method
        _answer(request, cseq=""),  # no CSeq at all
        _answer(request, status="\u0662\u0660\u0660"),  # a status line in other digits
        b"\xff\xfe\x00garbage",
        b"",
    ]


@pytest.fixture
def malformed_peer(private_allowed):
    peer = MalformedPeer(malformed_datagrams)
    yield peer
    peer.stop()


def test_malformed_answers_are_ignored_and_counted_and_the_real_answer_counts(
    malformed_peer, workspace_a, agent_a, command_actor
):
    register_trunk(workspace_a, agent_a, command_actor, gateway=HOST, port=malformed_peer.port)

    binding = services.trunk_check(workspace=workspace_a, actor=command_actor, phone_number=NUMBER, channel="call")

    [gateway] = binding.health_details["gateways"]
    print(f"[sip] malformed datagrams ignored {gateway['malformed_datagrams']} of 7 sent; status {gateway['status']}")
    assert binding.health_status == "reachable"
    assert gateway["status"] == "reachable"
    assert gateway["status_line"] == "SIP/2.0 200 OK"
    assert gateway["attempts"] == 1
    assert gateway["malformed_datagrams"] == 7
    assert "failed unexpectedly" not in gateway["message"]
    assert malformed_peer.requests == [f"OPTIONS sip:{HOST}:{malformed_peer.port} SIP/2.0"]


@pytest.mark.parametrize(
    "cseq", ["\u00b9 OPTIONS", "\u0661 OPTIONS", "1", "", "1 OPTIONS extra", "99999999999 OPTIONS"]
)
def test_a_malformed_cseq_reads_as_none_and_never_raises(cseq):
    raw = f"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: {cseq}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n\r\n".encode()
    response = message.parse_response(raw)
    assert response is not None
    assert response.cseq is None
    assert response.well_formed is False


def test_a_status_line_in_other_scripts_digits_is_not_a_response():
    assert message.parse_response("SIP/2.0 \u0662\u0660\u0660 OK\r\n\r\n".encode()) is None
