"""The address index's keys answer exactly what `ipaddress` answers: a source is matched by the
keys of the blocks that contain it, and by no other (no Django, no database)."""

from __future__ import annotations

import ipaddress

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from channels_app.routing import addresses

ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = (
    st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address).filter(lambda ip: ip.ipv4_mapped is None)
)


@settings(max_examples=300, deadline=None)
@given(source=ipv4, other=ipv4, prefix=st.integers(min_value=8, max_value=32))
def test_an_ipv4_block_is_found_exactly_when_it_contains_the_source(source, other, prefix):
    block = addresses.clean_block(str(ipaddress.IPv4Network((other, prefix), strict=False)))
    inside = source in ipaddress.IPv4Network(block)
    assert (addresses.block_key(block) in addresses.candidate_keys(source)) == inside


@settings(max_examples=300, deadline=None)
@given(source=ipv6, other=ipv6, prefix=st.integers(min_value=32, max_value=128))
def test_an_ipv6_block_is_found_exactly_when_it_contains_the_source(source, other, prefix):
    network = ipaddress.IPv6Network((other, prefix), strict=False)
    assume(not ipaddress.IPv6Network("::ffff:0:0/96").subnet_of(network))  # refused: IPv4 goes in IPv4 form
    block = addresses.clean_block(str(network))
    inside = source in network
    assert (addresses.block_key(block) in addresses.candidate_keys(source)) == inside


def test_a_source_has_one_candidate_key_per_allowed_prefix_length():
    assert len(addresses.candidate_keys(ipaddress.IPv4Address("203.0.113.9"))) == 25
    assert len(addresses.candidate_keys(ipaddress.IPv6Address("2001:db8::9"))) == 97


def test_an_ipv4_source_never_matches_an_ipv6_block_and_the_reverse():
    v6_block = addresses.clean_block("2001:db8::/32")
    assert addresses.block_key(v6_block) not in addresses.candidate_keys(ipaddress.IPv4Address("32.1.13.184"))
    v4_block = addresses.clean_block("203.0.113.0/24")
    assert addresses.block_key(v4_block) not in addresses.candidate_keys(ipaddress.IPv6Address("2001:db8::1"))


def test_sources_are_read_the_way_the_edge_writes_them():
    assert addresses.parse_source("203.0.113.9") == ipaddress.IPv4Address("203.0.113.9")
    assert addresses.parse_source("[2001:db8::1]") == ipaddress.IPv6Address("2001:db8::1")
    assert addresses.parse_source("::ffff:203.0.113.9") == ipaddress.IPv4Address("203.0.113.9")
    for junk in ("", "203.0.113", "fe80::1%eth0", "sip.example.com", None, 42):
        assert addresses.parse_source(junk) is None
