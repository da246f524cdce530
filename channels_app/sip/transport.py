"""One SIP transaction over UDP: send, retransmit on RFC 3261 timers, wait for the final answer.

Every wait is bounded by a `Deadline` shared by the whole check, so no step can run past it.
The socket is *connected* to the gateway: the kernel drops datagrams from any other address, and
an ICMP "port unreachable" surfaces at once as ConnectionRefusedError instead of a long silence.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from channels_app.sip.message import Response, parse_response

T1 = 0.5  # RFC 3261 §17.1.2.2: first retransmission after T1, doubling...
T2 = 4.0  # ...up to T2 (and every T2 once a provisional answer came).


class Deadline:
    """A point in time every step of a check respects. `clock` is injectable for tests."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def now(self) -> float:
        return self._clock()

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass
class Exchange:
    """What one transaction gave: the final response (or None), timing and attempts."""

    response: Response | None
    attempts: int
    rtt_ms: float | None = None
    error: str | None = None  # "timeout", "port_unreachable", "network_error"
    detail: str = ""
    malformed: int = 0  # datagrams ignored because they are not a readable SIP response

    @property
    def answered(self) -> bool:
        return self.response is not None


def retransmit_schedule(budget: float) -> list[float]:
    """Offsets (seconds from the first send) of every transmission that fits in `budget`."""
    offsets, at, interval = [0.0], T1, T1
    while at < budget:
        offsets.append(at)
        interval = min(interval * 2, T2)
        at += interval
    return offsets


def exchange(
    sock: socket.socket,
    payload: bytes,
    *,
    matches: Callable[[Response], bool],
    deadline: Deadline,
) -> Exchange:
    """Send `payload` until a final response that `matches` arrives or the deadline passes."""
    if deadline.expired:
        return Exchange(response=None, attempts=0, error="timeout")
    first_sent = deadline.now()
    interval = T1
    next_send = first_sent
    attempts = 0
    provisional = False
    malformed = 0
    while True:
        now = deadline.now()
        if now >= next_send:
            try:
                sock.send(payload)
            except OSError as exc:
                return _network_failure(exc, attempts)
            attempts += 1
            # On schedule (not from `now`), so the transmissions land where retransmit_schedule says.
            next_send += T2 if provisional else interval
            interval = min(interval * 2, T2)
        wait = min(next_send - deadline.now(), deadline.remaining())
        if wait <= 0:
            if deadline.expired:
                return Exchange(response=None, attempts=attempts, error="timeout", malformed=malformed)
            continue
        sock.settimeout(wait)
        try:
            data = sock.recv(65_535)
        except TimeoutError:
            continue
        except OSError as exc:
            return _network_failure(exc, attempts)
        try:
            response = parse_response(data)
            readable = response is not None and response.well_formed
        except ValueError:  # belt and braces: whatever a peer sends, one datagram never ends the check
            response, readable = None, False
        if not readable:
            malformed += 1  # junk, a request, or a response without a readable Call-ID, CSeq or Via
            continue
        if not matches(response):
            continue  # a late answer to an earlier transaction
        if not response.is_final:
            if not provisional:  # RFC 3261 §17.1.2.2: from now on retransmit every T2
                provisional = True
                next_send = deadline.now() + T2
            continue
        rtt_ms = round((deadline.now() - first_sent) * 1000, 1)
        return Exchange(response=response, attempts=attempts, rtt_ms=rtt_ms, malformed=malformed)


def _network_failure(exc: OSError, attempts: int) -> Exchange:
    if isinstance(exc, ConnectionRefusedError):
        return Exchange(response=None, attempts=attempts, error="port_unreachable")
    name = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
    return Exchange(response=None, attempts=attempts, error="network_error", detail=name)
