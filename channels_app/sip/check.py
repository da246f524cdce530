"""The trunk check: is each gateway reachable, and does it accept the stored credentials?

For each gateway (primary and secondary, in parallel, under one deadline):

1. resolve the name; refuse addresses the policy forbids (`policy.py`);
2. send `OPTIONS` over UDP: any answer means the gateway is reachable;
3. when a username and password are stored, send a `REGISTER` *without a Contact header*: a
   registrar treats that as a query of the current bindings (RFC 3261 §10.2.3), so the check
   proves the credentials without adding or removing a registration (it never steals the
   customer's inbound calls). A 401/407 challenge is answered with a digest (`digest.py`).

The password exists in clear only in the `Credentials` object handed in, never in a result,
message, log record or exception, and a peer's reason phrase that echoes the username or
password is masked before it is kept.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django.views.decorators.debug import sensitive_variables

from channels_app.sip import digest, message, policy
from channels_app.sip.status import HealthStatus, overall
from channels_app.sip.transport import Deadline, Exchange, exchange

logger = logging.getLogger("channels_app.sip")

# Extra time the orchestrator gives a gateway's thread past the deadline to hand in its result.
# Sockets never wait past the deadline; only a name lookup (which cannot be interrupted) can, and
# then it is abandoned.
HANDOFF_GRACE_SECONDS = 0.25
MASK = "********"
DEFAULT_SIP_PORT = 5060


@dataclass(frozen=True)
class Gateway:
    """Where to send: `role` is the trunk field it came from (`gateway`, `secondary_gateway`)."""

    role: str
    host: str
    port: int = DEFAULT_SIP_PORT


class Credentials:
    """A username and password, kept out of repr(), logs and error reports."""

    __slots__ = ("password", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    def mask(self, text: str) -> str:
        """`text` with any occurrence of the username or password replaced."""
        for secret in (self.password, self.username):
            if secret:
                text = text.replace(secret, MASK)
        return text


@dataclass
class GatewayResult:
    """The outcome for one gateway, as stored in `ChannelBinding.health_details`."""

    role: str
    host: str
    port: int
    status: str = HealthStatus.UNREACHABLE
    address: str | None = None
    status_line: str | None = None  # the answer to OPTIONS
    rtt_ms: float | None = None  # first OPTIONS transmission to its final answer
    attempts: int = 0  # OPTIONS transmissions (retransmissions included)
    register: dict[str, Any] | None = None  # {status_line, rtt_ms, attempts}, None when not tried
    malformed_datagrams: int = 0  # unreadable datagrams from the peer, ignored (never a failure)
    message: str = ""
    phase: str = field(default="dns", repr=False)

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["phase"]
        data["status"] = str(self.status)
        return data


@dataclass
class CheckResult:
    """The trunk's status (its least advanced gateway's) and every gateway's details."""

    status: str
    gateways: list[GatewayResult]
    timeout_seconds: float
    credentials_checked: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "timeout_seconds": self.timeout_seconds,
            "credentials_checked": self.credentials_checked,
            "gateways": [gateway.as_json() for gateway in self.gateways],
        }


def check_trunk(
    gateways: list[Gateway],
    credentials: Credentials | None,
    *,
    timeout: float,
    allow_private: bool,
    resolver: policy.Resolver = socket.getaddrinfo,
) -> CheckResult:
    """Check every gateway in parallel; returns within `timeout` (+ a short hand-off grace)."""
    if not gateways:
        raise ValueError("a trunk check needs at least one gateway")
    deadline = Deadline(timeout)
    results = [GatewayResult(role=g.role, host=g.host, port=g.port) for g in gateways]
    pool = ThreadPoolExecutor(max_workers=len(gateways), thread_name_prefix="sip-check")
    try:
        futures = [
            pool.submit(
                _check_gateway,
                gateway,
                credentials,
                result,
                deadline=deadline,
                allow_private=allow_private,
                resolver=resolver,
            )
            for gateway, result in zip(gateways, results, strict=True)
        ]
        wait(futures, timeout=deadline.remaining() + HANDOFF_GRACE_SECONDS)
    finally:
        # Never wait for a straggler: a lookup still running is abandoned, not awaited.
        pool.shutdown(wait=False, cancel_futures=True)

    final: list[GatewayResult] = []
    for future, result in zip(futures, results, strict=True):
        if not future.done():
            final.append(_timed_out(result, timeout))
        elif future.exception() is not None:
            logger.error("trunk check of %s:%s failed: %s", result.host, result.port, type(future.exception()).__name__)
            final.append(
                dataclasses.replace(
                    result, status=HealthStatus.UNREACHABLE, message="The check failed unexpectedly; try again."
                )
            )
        else:
            final.append(future.result())
    for result in final:
        logger.info("trunk check %s %s:%s -> %s", result.role, result.host, result.port, result.status)
    return CheckResult(
        status=overall([result.status for result in final]),
        gateways=final,
        timeout_seconds=timeout,
        credentials_checked=credentials is not None,
    )


def _timed_out(result: GatewayResult, timeout: float) -> GatewayResult:
    """A copy (the abandoned thread may still write to the original) saying where time ran out."""
    if result.phase == "dns":
        return dataclasses.replace(
            result,
            status=HealthStatus.DNS_FAILED,
            message=f"The name lookup of {result.host} did not finish within {timeout:g} s.",
        )
    return dataclasses.replace(
        result,
        status=HealthStatus.UNREACHABLE,
        message=f"No answer from {result.host}:{result.port} within {timeout:g} s.",
    )


@sensitive_variables("credentials")
def _check_gateway(
    gateway: Gateway,
    credentials: Credentials | None,
    result: GatewayResult,
    *,
    deadline: Deadline,
    allow_private: bool,
    resolver: policy.Resolver,
) -> GatewayResult:
    """Resolve, apply the address policy, OPTIONS, then REGISTER when credentials are stored."""
    where = f"{gateway.host}:{gateway.port}"
    try:
        targets = policy.resolve(gateway.host, gateway.port, resolver=resolver)
    except policy.ResolutionFailed as exc:
        result.status = HealthStatus.DNS_FAILED
        result.message = f"{gateway.host} does not resolve ({exc})."
        return result
    target, reason = policy.pick(targets, allow_private=allow_private)
    if target is None:
        result.status = HealthStatus.REFUSED
        result.address = targets[0].ip
        article = "an" if str(reason)[0] in "aeiou" else "a"
        result.message = (
            f"{gateway.host} is {article} {reason} ({targets[0].ip}). This installation only checks publicly "
            "routable gateways."
        )
        return result
    result.address = target.ip
    result.phase = "sip"

    with socket.socket(target.family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(target.sockaddr)
        except OSError as exc:
            result.message = f"Cannot send to {where} ({type(exc).__name__})."
            return result
        peer = _Peer(sock=sock, gateway=gateway, deadline=deadline)
        try:
            return _options_then_register(peer, credentials, result, where)
        finally:
            result.malformed_datagrams = peer.malformed


def _options_then_register(
    peer: _Peer, credentials: Credentials | None, result: GatewayResult, where: str
) -> GatewayResult:
    """OPTIONS, then REGISTER when credentials are stored."""
    gateway, deadline = peer.gateway, peer.deadline
    options = peer.send("OPTIONS", f"sip:{message.hostport(gateway.host, gateway.port)}", cseq=1)
    result.attempts = options.attempts
    if not options.answered:
        result.message = _silence(options, where, deadline.seconds)
        return result
    assert options.response is not None
    result.status_line = _status_line(credentials, options.response)
    result.rtt_ms = options.rtt_ms
    if credentials is None:
        result.status = HealthStatus.REACHABLE
        result.message = (
            f"{where} answered OPTIONS ({result.status_line}). A username and a password are not both "
            "stored, so no credentials were verified."
        )
        return result
    return _register(peer, credentials, result)


@dataclass
class _Peer:
    """One gateway's transactions: shared Call-ID and From tag, a fresh branch per request."""

    sock: socket.socket
    gateway: Gateway
    deadline: Deadline
    call_id: str = field(default_factory=message.new_call_id)
    from_tag: str = field(default_factory=message.new_tag)
    malformed: int = 0  # unreadable datagrams ignored over all transactions

    def send(
        self,
        method: str,
        uri: str,
        *,
        cseq: int,
        user: str = "trunk-check",
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> Exchange:
        local_host, local_port = self.sock.getsockname()[:2]
        branch = message.new_branch()
        address_of_record = message.user_uri(user, self.gateway.host)
        payload = message.build_request(
            method,
            uri,
            local_host=str(local_host).split("%")[0],
            local_port=int(local_port),
            branch=branch,
            call_id=self.call_id,
            cseq=cseq,
            from_uri=address_of_record,
            from_tag=self.from_tag,
            to_uri=address_of_record if method == "REGISTER" else uri,
            extra_headers=extra_headers,
        )

        def matches(response: message.Response) -> bool:
            return response.call_id == self.call_id and response.cseq == (cseq, method) and response.branch == branch

        answer = exchange(self.sock, payload, matches=matches, deadline=self.deadline)
        self.malformed += answer.malformed
        return answer


@sensitive_variables("credentials", "authorization")
def _register(peer: _Peer, credentials: Credentials, result: GatewayResult) -> GatewayResult:
    """REGISTER as a binding query, answering up to two digest challenges (a stale nonce retries)."""
    gateway = peer.gateway
    where = f"{gateway.host}:{gateway.port}"
    if message.has_control_characters(credentials.username):
        result.status = HealthStatus.REACHABLE
        result.message = (
            f"{where} answered OPTIONS, but the stored username contains control characters and cannot be "
            "sent in a SIP request, so the credentials were not verified."
        )
        return result
    port = "" if gateway.port == DEFAULT_SIP_PORT else f":{gateway.port}"
    uri = f"sip:{message.host_for_uri(gateway.host)}{port}"
    register: dict[str, Any] = {"status_line": None, "rtt_ms": None, "attempts": 0}
    result.register = register
    headers: list[tuple[str, str]] = []
    cseq = 2
    challenged = False
    for _round in range(3):
        answer = peer.send("REGISTER", uri, cseq=cseq, user=credentials.username, extra_headers=headers)
        register["attempts"] += answer.attempts
        if not answer.answered:
            result.status = HealthStatus.REACHABLE
            what = "our authenticated REGISTER" if challenged else "REGISTER"
            result.message = (
                f"{where} answered OPTIONS but not {what} within {peer.deadline.seconds:g} s, so the "
                "credentials were not verified."
            )
            return result
        response = answer.response
        assert response is not None
        register["status_line"] = _status_line(credentials, response)
        register["rtt_ms"] = answer.rtt_ms
        status = response.status
        if 200 <= status < 300:
            result.status = HealthStatus.OK
            result.message = (
                f"{where} accepted the credentials ({register['status_line']})."
                if challenged
                else f"{where} accepted REGISTER without asking for credentials ({register['status_line']})."
            )
            return result
        if status in (401, 407):
            name = "www-authenticate" if status == 401 else "proxy-authenticate"
            challenges = digest.parse_challenges(response.all(name))
            stale = any(c.params.get("stale", "").lower() == "true" for c in challenges)
            if challenged and not stale:
                break  # our answer was refused: wrong username or password
            try:
                challenge = digest.choose(challenges)
            except digest.UnsupportedChallenge as exc:
                result.status = HealthStatus.REACHABLE
                result.message = (
                    f"{where} asked for an authentication this check does not support ({exc}), so the "
                    "credentials were not verified."
                )
                return result
            authorization = digest.answer(
                challenge,
                method="REGISTER",
                uri=uri,
                username=credentials.username,
                password=credentials.password,
            )
            header = "Authorization" if status == 401 else "Proxy-Authorization"
            headers = [(header, authorization)]
            challenged = True
            cseq += 1
            continue
        if status == 403:
            break
        result.status = HealthStatus.REACHABLE
        result.message = (
            f"{where} answered REGISTER with {register['status_line']}, so the credentials were not verified."
        )
        return result
    result.status = HealthStatus.AUTH_FAILED
    result.message = f"{where} refused the credentials ({register['status_line']}). Check the username and password."
    return result


def _silence(answer: Exchange, where: str, timeout: float) -> str:
    if answer.error == "port_unreachable":
        return f"Nothing listens on {where} (ICMP port unreachable)."
    if answer.error == "network_error":
        return f"Cannot send to {where} ({answer.detail})."
    plural = "" if answer.attempts == 1 else "s"
    return f"No answer from {where} within {timeout:g} s ({answer.attempts} transmission{plural})."


def _status_line(credentials: Credentials | None, response: message.Response) -> str:
    """The status line to keep: a reason phrase echoing the username or password is masked
    (only the phrase: a username such as `200` must not mask the status code)."""
    reason = credentials.mask(response.reason) if credentials is not None else response.reason
    return f"SIP/2.0 {response.status} {reason}".rstrip()
