"""Which addresses a trunk check may send to, and name resolution.

A check sends datagrams to an address a customer typed, so without a policy it would let anyone
probe the networks behind this installation. By default only globally routable unicast addresses
are allowed; `SIP_CHECK_ALLOW_PRIVATE` lifts that for tests and private deployments.

The policy is applied to the resolved address that is then used as is (the socket connects to
that IP, never to the name again), so a name that resolves differently on a second lookup
(DNS rebinding) cannot slip past it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]

NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64, Teredo), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be probed from a production installation, or None when it may."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        reason = refusal_reason(embedded)
        return f"{reason} (inside an IPv6 address)" if reason else None
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED_SPACE:
        return "shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "reserved address"
    if ip.is_private:
        return "private address"
    if not ip.is_global:
        return "address that is not publicly routable"
    return None


class ResolutionFailed(Exception):
    """The gateway's name did not resolve to any address."""


@dataclass(frozen=True)
class Target:
    """One resolved address of a gateway, ready for `socket.connect`."""

    family: int
    sockaddr: tuple[Any, ...]

    @property
    def ip(self) -> str:
        return str(self.sockaddr[0])


def resolve(host: str, port: int, *, resolver: Resolver = socket.getaddrinfo) -> list[Target]:
    """Every UDP address of `host` (an IP literal resolves to itself without a lookup)."""
    try:
        infos = resolver(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        message = exc.args[1] if isinstance(exc, socket.gaierror) and len(exc.args) > 1 else type(exc).__name__
        raise ResolutionFailed(str(message)) from exc
    targets: list[Target] = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            target = Target(family=family, sockaddr=tuple(sockaddr))
            if target not in targets:
                targets.append(target)
    if not targets:
        raise ResolutionFailed("no IPv4 or IPv6 address")
    return targets


def pick(targets: list[Target], *, allow_private: bool) -> tuple[Target | None, str | None]:
    """The first allowed address, or (None, the refusal reason of the first one)."""
    first_reason = None
    for target in targets:
        reason = None if allow_private else refusal_reason(ipaddress.ip_address(target.ip.split("%")[0]))
        if reason is None:
            return target, None
        first_reason = first_reason or reason
    return None, first_reason
