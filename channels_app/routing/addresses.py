"""A trunk's inbound addresses: the carrier's signalling sources, as IP addresses or CIDR blocks.

Rules (docs/rules.md, `inbound-addresses`): at most 20 entries; each an IPv4 or IPv6 address or a
CIDR block written on its network boundary; at most /8 wide for IPv4 and /32 for IPv6; IPv4 is
written in IPv4 form (an IPv4-mapped IPv6 block is read as the IPv4 block it is). An empty list
means the trunk accepts no inbound call.

The width limits are what make the edge's look-up exact and small: a block is indexed by its
network and prefix length (`key`), and the blocks that could contain a source S are the networks
of S at each allowed prefix length, 25 keys for an IPv4 source, 97 for an IPv6 one
(`candidate_keys`), each an exact match in an index (docs/routing.md, "Address blocks").
No Django here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ADDRESSES = 20
MIN_PREFIX_V4 = 8
MIN_PREFIX_V6 = 32
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_MAPPED_BASE = int(_MAPPED.network_address)
_ALL_ONES = (1 << 128) - 1


class InvalidAddress(ValueError):
    """An entry that is not an acceptable address or block; the message says why, for people."""


def _not_an_address(entry: str) -> InvalidAddress:
    return InvalidAddress(f"“{entry[:64]}” is not an IP address or CIDR block (e.g. 203.0.113.10 or 203.0.113.0/24).")


def parse_source(text: Any) -> IPAddress | None:
    """The signalling source as an address (IPv6 brackets and an IPv4-mapped form undone), or
    None when it is not an IP address."""
    if not isinstance(text, str):
        return None
    candidate = text.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    if "%" in candidate:
        return None
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def clean_block(text: Any) -> str:
    """One entry, normalised (`203.0.113.5`, `203.0.113.0/24`, `2001:db8::/48`), or InvalidAddress."""
    if not isinstance(text, str):
        raise InvalidAddress("Each entry must be a string, e.g. 203.0.113.0/24.")
    entry = text.strip()
    if not entry or len(entry) > 64 or "%" in entry or not entry.isascii():
        raise _not_an_address(entry)
    try:
        network = ipaddress.ip_network(entry, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise _not_an_address(entry) from exc
        raise InvalidAddress(f"“{entry}” has host bits set: the block is {loose.with_prefixlen}.") from exc
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen < MIN_PREFIX_V6:
        raise InvalidAddress(f"“{entry}” is wider than /{MIN_PREFIX_V6}: list the carrier's narrower blocks.")
    network = _as_ipv4_if_mapped(network, entry)
    if isinstance(network, ipaddress.IPv4Network) and network.prefixlen < MIN_PREFIX_V4:
        raise InvalidAddress(f"“{entry}” is wider than /{MIN_PREFIX_V4}: list the carrier's narrower blocks.")
    return str(network.network_address) if network.num_addresses == 1 else network.with_prefixlen


def _as_ipv4_if_mapped(network: IPNetwork, entry: str) -> IPNetwork:
    if not isinstance(network, ipaddress.IPv6Network):
        return network
    if network.subnet_of(_MAPPED):
        ipv4 = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
        return ipaddress.IPv4Network((ipv4, network.prefixlen - 96))
    if _MAPPED.subnet_of(network):
        raise InvalidAddress(f"“{entry}” covers the IPv4-mapped range ::ffff:0:0/96: write IPv4 blocks in IPv4 form.")
    return network


def clean_list(value: Any) -> tuple[list[str], list[str]]:
    """(normalised entries without repeats, in the order given; problems, one message each)."""
    if not isinstance(value, list):
        return [], ['Must be a list of IP addresses or CIDR blocks, e.g. ["203.0.113.0/24"].']
    cleaned: list[str] = []
    problems: list[str] = []
    for entry in value:
        try:
            block = clean_block(entry)
        except InvalidAddress as exc:
            problems.append(str(exc))
            continue
        if block not in cleaned:
            cleaned.append(block)
    if len(cleaned) > MAX_ADDRESSES:
        problems.append(f"At most {MAX_ADDRESSES} addresses or blocks ({len(cleaned)} given).")
    return cleaned, problems


def split_text(text: str) -> list[str]:
    """Entries typed in a form or a CSV cell: separated by spaces, commas, semicolons or lines."""
    return [part for part in text.replace(",", " ").replace(";", " ").split() if part]


# --- the index ------------------------------------------------------------------------------------


def _key(mapped_network: int, prefix: int) -> str:
    return f"{mapped_network:032x}/{prefix}"


def block_key(block: str) -> str:
    """The index key of a normalised entry (see models.TrunkAddressBlock)."""
    network = ipaddress.ip_network(block)
    if isinstance(network, ipaddress.IPv4Network):
        return _key(_MAPPED_BASE | int(network.network_address), 96 + network.prefixlen)
    return _key(int(network.network_address), network.prefixlen)


def candidate_keys(source: IPAddress) -> list[str]:
    """The keys of every block of an allowed width that contains `source`."""
    if isinstance(source, ipaddress.IPv4Address):
        value, prefixes = _MAPPED_BASE | int(source), range(96 + MIN_PREFIX_V4, 129)
    else:
        value, prefixes = int(source), range(MIN_PREFIX_V6, 129)
    return [_key(value & (_ALL_ONES << (128 - prefix)) & _ALL_ONES, prefix) for prefix in prefixes]


def contains(block: str, source: IPAddress) -> bool:
    """Whether the normalised entry `block` contains `source` (what the index answers)."""
    return block_key(block) in candidate_keys(source)
