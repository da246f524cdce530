"""The test call: an INVITE through a trunk's gateways, ended at once (docs/routing.md).

For each gateway in turn (the secondary when the first one is silent, unreachable or answers
5xx), under one deadline, over UDP:

1. resolve the name and apply the trunk check's address policy (`policy.py`);
2. send the INVITE (retransmitted on RFC 3261's timer A until a first answer);
3. a 401/407 is answered once with a digest (`digest.py`; a `stale=true` nonce once more);
4. the first sign of progress (18x) is CANCELled and the 487 acknowledged: the phone rings for
   an instant, nobody can answer; a 2xx (an answer before the CANCEL landed, or a gateway that
   answers at once) is acknowledged and ended at once with BYE;
5. any other final answer ends the attempt (5xx: the next gateway).

Every message sent and received is reported (request and status lines only: no header, so no
credential), with its time since the first INVITE. The password exists in clear only in the
`Credentials` handed in; only the digest hash goes on the wire. No Django models here.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from django.views.decorators.debug import sensitive_variables

from channels_app.sip import digest, message, policy
from channels_app.sip.check import Credentials, Gateway
from channels_app.sip.transport import T1, T2, Deadline

# Outcomes, from the best news to the worst.
ANSWERED = "answered"  # 2xx, ended with BYE
RINGING = "ringing"  # 18x, ended with CANCEL
TRYING = "trying"  # only 100 Trying before the deadline, ended with CANCEL
REJECTED = "rejected"  # a final answer 3xx-6xx other than an authentication failure
AUTH_FAILED = "auth_failed"
UNREACHABLE = "unreachable"
DNS_FAILED = "dns_failed"
REFUSED = "refused"  # the address policy refuses every address of the gateway
OUTCOMES = (ANSWERED, RINGING, TRYING, REJECTED, AUTH_FAILED, UNREACHABLE, DNS_FAILED, REFUSED)
# How long the end of an attempt (a CANCEL's 487, a BYE's 200) may take, out of the deadline.
WRAP_UP_SECONDS = 1.5


@dataclass
class CallStep:
    at_ms: float  # since the first INVITE of the test call
    gateway: str  # the role: gateway or secondary_gateway
    direction: str  # "sent" or "received"
    line: str  # the request line or the status line (a reason phrase echoing a secret is masked)


@dataclass
class CallResult:
    outcome: str
    message: str
    gateway: dict[str, Any] | None = None  # {role, host, port, address} of the gateway that answered
    status_line: str | None = None  # its final answer to the INVITE (None: no final answer)
    challenge_answered: bool = False
    setup_ms: float | None = None  # first INVITE to the first answer other than 100 Trying
    ended_with: str | None = None  # "CANCEL", "BYE" or None
    steps: list[CallStep] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Attempt:
    """One gateway's INVITE transaction(s) and the dialog they may create."""

    def __init__(self, sock: socket.socket, gateway: Gateway, record, *, from_user: str, to_user: str) -> None:
        self.sock, self.gateway, self.record = sock, gateway, record
        local_host, local_port = sock.getsockname()[:2]
        self.local_host, self.local_port = str(local_host).split("%")[0], int(local_port)
        self.uri = message.user_uri(to_user, gateway.host, gateway.port)
        self.from_uri = message.user_uri(from_user, gateway.host)
        self.contact = f"<sip:test-call@{message.hostport(self.local_host, self.local_port)}>"
        self.call_id = message.new_call_id()
        self.from_tag = message.new_tag()
        self.cseq = 1
        self.branch = message.new_branch()
        self.auth_headers: list[tuple[str, str]] = []
        self.sdp = _offer(self.local_host)

    def request(self, method: str, uri: str, *, branch: str, cseq: int, to_tag=None, headers=(), body=b"") -> None:
        payload = message.build_request(
            method,
            uri,
            local_host=self.local_host,
            local_port=self.local_port,
            branch=branch,
            call_id=self.call_id,
            cseq=cseq,
            from_uri=self.from_uri,
            from_tag=self.from_tag,
            to_uri=self.uri,
            to_tag=to_tag,
            extra_headers=[("Contact", self.contact), *headers],
            body=body,
            content_type="application/sdp" if body else None,
        )
        self.sock.send(payload)
        self.record("sent", f"{method} {uri}")

    def invite(self) -> None:
        self.request("INVITE", self.uri, branch=self.branch, cseq=self.cseq, headers=self.auth_headers, body=self.sdp)

    def ack_failure(self, response: message.Response) -> None:
        """The ACK of a non-2xx final answer: the INVITE's branch, in its transaction."""
        self.request("ACK", self.uri, branch=self.branch, cseq=self.cseq, to_tag=response.to_tag)

    def cancel(self) -> None:
        self.request("CANCEL", self.uri, branch=self.branch, cseq=self.cseq)

    def in_dialog(self, method: str, response: message.Response, cseq: int) -> None:
        """ACK (of a 2xx) or BYE inside the dialog: to the remote target, along the route set."""
        target = response.contact_uri or self.uri
        routes = [("Route", route) for route in reversed(response.record_routes)]
        self.request(method, target, branch=message.new_branch(), cseq=cseq, to_tag=response.to_tag, headers=routes)


def _offer(local_host: str) -> bytes:
    """A minimal audio offer (PCMU); no media is ever sent."""
    family = "IP6" if ":" in local_host else "IP4"
    session = secrets.randbelow(10**9)
    port = 20_000 + 2 * secrets.randbelow(5_000)
    lines = [
        "v=0",
        f"o=trunkadmin {session} {session} IN {family} {local_host}",
        "s=trunkadmin test call",
        f"c=IN {family} {local_host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class _Limits:
    deadline: Deadline
    first_answer_timeout: float
    allow_private: bool
    resolver: policy.Resolver
    origin: float  # the clock at the test call's start: every step's time counts from it


@sensitive_variables("credentials")
def place_test_call(
    gateways: list[Gateway],
    credentials: Credentials | None,
    *,
    from_user: str,
    to_user: str,
    timeout: float,
    first_answer_timeout: float,
    allow_private: bool,
    resolver: policy.Resolver = socket.getaddrinfo,
) -> CallResult:
    """Call `to_user` from `from_user` through `gateways` in order; returns within `timeout`."""
    if not gateways:
        raise ValueError("a test call needs at least one gateway")
    deadline = Deadline(timeout)
    limits = _Limits(deadline, first_answer_timeout, allow_private, resolver, deadline.now())
    steps: list[CallStep] = []
    result = CallResult(outcome=UNREACHABLE, message="No gateway was tried.")
    for gateway in gateways:
        if deadline.expired:
            break
        result = _through(gateway, credentials, limits, steps, from_user=from_user, to_user=to_user)
        failed_over = result.outcome in (UNREACHABLE, DNS_FAILED, REFUSED) or (
            result.outcome == REJECTED and (result.status_line or "").startswith("SIP/2.0 5")
        )
        if not failed_over:
            break
    result.steps = steps
    return result


@sensitive_variables("credentials")
def _through(gateway, credentials, limits: _Limits, steps: list[CallStep], *, from_user: str, to_user: str):
    where = f"{gateway.host}:{gateway.port}"
    described = {"role": gateway.role, "host": gateway.host, "port": gateway.port, "address": None}
    try:
        targets = policy.resolve(gateway.host, gateway.port, resolver=limits.resolver)
    except policy.ResolutionFailed as exc:
        return CallResult(DNS_FAILED, f"{gateway.host} does not resolve ({exc}).", gateway=described)
    target, reason = policy.pick(targets, allow_private=limits.allow_private)
    described["address"] = targets[0].ip if target is None else target.ip
    if target is None:
        return CallResult(
            REFUSED,
            f"{gateway.host} is a {reason} ({targets[0].ip}): this installation only calls publicly routable gateways.",
            gateway=described,
        )

    def record(direction: str, line: str) -> None:
        text = credentials.mask(line) if credentials is not None else line
        at_ms = round((limits.deadline.now() - limits.origin) * 1000, 1)
        steps.append(CallStep(at_ms, gateway.role, direction, message.clean_reason(text)))

    with socket.socket(target.family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(target.sockaddr)
            attempt = _Attempt(sock, gateway, record, from_user=from_user, to_user=to_user)
            return _run(attempt, credentials, limits, CallResult(UNREACHABLE, "", gateway=described))
        except OSError as exc:
            return CallResult(UNREACHABLE, f"Cannot send to {where} ({type(exc).__name__}).", gateway=described)


@sensitive_variables("credentials", "authorization")
def _run(attempt: _Attempt, credentials, limits: _Limits, result: CallResult) -> CallResult:
    """The INVITE's life at one gateway, to its end (see the module docstring)."""
    deadline, clock = limits.deadline, limits.deadline.now
    where = f"{attempt.gateway.host}:{attempt.gateway.port}"
    challenged = False
    cancelled = False
    final: message.Response | None = None

    def send_invite() -> tuple[float, float, float]:
        attempt.invite()
        now = clock()
        return now, now + T1, 2 * T1  # sent at, next retransmission, the interval after it

    sent_at, next_send, interval = send_invite()
    answered = False  # the current INVITE got an answer: no more retransmissions
    while deadline.remaining() > 0:
        now = clock()
        if not answered and now - sent_at >= limits.first_answer_timeout:
            result.message = f"No answer from {where} within {limits.first_answer_timeout:g} s."
            return result
        if not answered and now >= next_send:
            attempt.invite()
            next_send, interval = now + interval, min(interval * 2, T2)
        if answered and final is None and not cancelled and deadline.remaining() < WRAP_UP_SECONDS:
            attempt.cancel()  # only "trying" so far, and time runs out: end it
            cancelled = True
            result.outcome, result.ended_with = TRYING, "CANCEL"
            result.message = f"{where} took the call ({result.status_line or '100 Trying'}) but showed no progress."
        wait = (next_send - clock()) if not answered else 0.25
        attempt.sock.settimeout(max(0.001, min(wait, deadline.remaining())))
        try:
            data = attempt.sock.recv(65_535)
        except TimeoutError:
            continue
        except ConnectionRefusedError:
            result.message = f"Nothing listens on {where} (ICMP port unreachable)."
            return result
        response = message.parse_response(data)
        if response is None or response.call_id != attempt.call_id:
            continue
        record_line = response.status_line
        attempt.record("received", record_line)
        cseq = response.cseq
        if cseq is not None and cseq[1] == "BYE":
            if response.is_final:
                return result  # the call is over
            continue
        if cseq != (attempt.cseq, "INVITE") or response.branch != attempt.branch:
            continue  # the CANCEL's 200, or a late answer to an earlier INVITE
        answered = True
        status = response.status
        if result.setup_ms is None and status != 100:
            result.setup_ms = round((clock() - limits.origin) * 1000, 1)
        if status < 200:
            if status >= 180 and not cancelled:
                attempt.cancel()
                cancelled = True
                result.outcome, result.ended_with = RINGING, "CANCEL"
                result.message = f"{where} put the call through ({response.status_line}); it was cancelled at once."
            continue
        if final is not None:  # a retransmitted final answer: acknowledged again
            if 200 <= status < 300:
                attempt.in_dialog("ACK", response, attempt.cseq)
            else:
                attempt.ack_failure(response)
            continue
        final = response
        result.status_line = response.status_line
        if 200 <= status < 300:
            attempt.in_dialog("ACK", response, attempt.cseq)
            attempt.in_dialog("BYE", response, attempt.cseq + 1)
            result.outcome, result.ended_with = ANSWERED, "BYE"
            result.message = f"{where} answered the call ({response.status_line}); it was hung up at once."
            continue  # until the BYE's answer
        attempt.ack_failure(response)
        if cancelled and status == 487:
            return result  # the CANCEL took
        if status in (401, 407) and credentials is not None:
            name = "www-authenticate" if status == 401 else "proxy-authenticate"
            challenges = digest.parse_challenges(response.all(name))
            stale = any(challenge.params.get("stale", "").lower() == "true" for challenge in challenges)
            if not challenged or stale:
                try:
                    challenge = digest.choose(challenges)
                except digest.UnsupportedChallenge as exc:
                    result.outcome = REJECTED
                    result.message = f"{where} asked for an authentication the test call does not support ({exc})."
                    return result
                attempt.cseq += 1
                attempt.branch = message.new_branch()
                authorization = digest.answer(
                    challenge,
                    method="INVITE",
                    uri=attempt.uri,
                    username=credentials.username,
                    password=credentials.password,
                    body=attempt.sdp,
                )
                attempt.auth_headers = [("Authorization" if status == 401 else "Proxy-Authorization", authorization)]
                del authorization
                challenged = result.challenge_answered = True
                final, answered = None, False
                sent_at, next_send, interval = send_invite()
                continue
        if status in (401, 407) and credentials is None:
            result.outcome = REJECTED
            result.message = f"{where} asks for credentials ({response.status_line}); this trunk stores none."
        elif status in (401, 407) or (status == 403 and challenged):
            result.outcome = AUTH_FAILED
            result.message = (
                f"{where} refused the credentials ({response.status_line}). Check the username and password."
            )
        else:
            result.outcome = REJECTED
            result.message = f"{where} refused the call: {response.status_line}."
        return result
    if not result.message:
        result.message = f"No final answer from {where} within {deadline.seconds:g} s."
    return result
