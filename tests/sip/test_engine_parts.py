"""The engine's parts without a peer: digest answers (RFC test vectors), message parsing, the
address policy, the retransmission schedule and the deadline."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from channels_app.sip import Credentials, Gateway, check_trunk, digest, message, policy
from channels_app.sip.status import overall
from channels_app.sip.transport import Deadline, retransmit_schedule

# --- digest -------------------------------------------------------------------------------------


def _challenge(**params):
    return digest.Challenge(scheme="Digest", params=params)


def test_the_md5_answer_matches_rfc_2617s_example():
    challenge = _challenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth,auth-int")
    header = digest.answer(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "qop=auth, nc=00000001" in header


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_the_answer_matches_rfc_7616s_examples(algorithm, expected):
    challenge = _challenge(
        realm="http-auth@example.org",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop="auth, auth-int",
        algorithm=algorithm,
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    )
    header = digest.answer(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert f'response="{expected}"' in header
    assert 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"' in header


def test_an_answer_never_contains_the_password():
    header = digest.answer(
        _challenge(realm="r", nonce="n"), method="REGISTER", uri="sip:x", username="u", password="hunter2-secret"
    )
    assert "hunter2-secret" not in header
    assert "qop" not in header  # RFC 2069 style when the server offers no qop


def test_challenges_are_parsed_with_quoted_commas_and_escapes():
    [first, second] = digest.parse_challenges(
        [
            'Digest realm="a, \\"b\\"", nonce="n1", qop="auth,auth-int", algorithm=MD5, stale=FALSE',
            'Digest realm="r2", nonce="n2", algorithm=SHA-256',
        ]
    )
    assert first.params["realm"] == 'a, "b"'
    assert first.qop_options == ["auth", "auth-int"]
    assert second.algorithm == "SHA-256"


def test_the_strongest_supported_challenge_is_chosen():
    challenges = digest.parse_challenges(
        ['Digest realm="r", nonce="1", algorithm=MD5', 'Digest realm="r", nonce="2", algorithm=SHA-256']
    )
    assert digest.choose(challenges).params["nonce"] == "2"


def test_a_challenge_this_client_cannot_answer_is_named():
    with pytest.raises(digest.UnsupportedChallenge, match="Basic"):
        digest.choose(digest.parse_challenges(['Basic realm="r"']))
    with pytest.raises(digest.UnsupportedChallenge):
        digest.choose([_challenge(realm="r", nonce="n", algorithm="SHA-1")])


def test_a_username_with_quotes_is_escaped_in_the_header():
    header = digest.answer(
        _challenge(realm="r", nonce="n"), method="REGISTER", uri="sip:x", username='a"b', password="p"
    )
    assert 'username="a\\"b"' in header


# --- messages ---------------------------------------------------------------------------------------


def test_responses_are_parsed_with_compact_and_folded_headers():
    raw = (
        b"SIP/2.0 401 Unauthorized\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport=5060\r\n"
        b"i: call-1\r\n"
        b"CSeq: 2 REGISTER\r\n"
        b'WWW-Authenticate: Digest realm="r",\r\n nonce="n"\r\n'
        b"l: 0\r\n\r\n"
    )
    response = message.parse_response(raw)
    assert (response.status, response.reason, response.status_line) == (401, "Unauthorized", "SIP/2.0 401 Unauthorized")
    assert (response.call_id, response.cseq, response.branch) == ("call-1", (2, "REGISTER"), "z9hG4bKabc")
    assert response.all("www-authenticate") == ['Digest realm="r", nonce="n"']


@pytest.mark.parametrize("raw", [b"", b"OPTIONS sip:x SIP/2.0\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n", b"\xff\xfe junk"])
def test_anything_but_a_sip_response_is_ignored(raw):
    assert message.parse_response(raw) is None


def test_a_reason_phrase_is_kept_printable_and_bounded():
    response = message.parse_response(b"SIP/2.0 403 Go\x1b[31maway" + b"x" * 500 + b"\r\n\r\n")
    assert "\x1b" not in response.reason
    assert len(response.reason) == message.MAX_REASON


def test_a_request_refuses_header_injection():
    with pytest.raises(ValueError):
        message.build_request(
            "REGISTER",
            "sip:x",
            local_host="127.0.0.1",
            local_port=5060,
            branch="z9hG4bK1",
            call_id="c",
            cseq=1,
            from_uri="sip:a@x",
            from_tag="t",
            to_uri="sip:a@x",
            extra_headers=[("Authorization", "x\r\nContact: <sip:evil>")],
        )


def test_a_username_is_escaped_in_uris_and_ipv6_hosts_are_bracketed():
    assert message.user_uri("a b@c", "2001:db8::1", 5070) == "sip:a%20b%40c@[2001:db8::1]:5070"


# --- address policy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
        ("::", "unspecified"),
        ("100.64.0.1", "shared"),
        ("192.0.2.10", "private"),  # documentation range
        ("198.18.0.1", "private"),  # benchmarking range
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ],
)
def test_addresses_outside_the_public_internet_are_refused(address, reason):
    assert reason in policy.refusal_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "203.0.114.1", "2001:4860:4860::8888", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address):
    assert policy.refusal_reason(ipaddress.ip_address(address)) is None


def test_a_name_is_allowed_through_its_first_public_address_only():
    private = policy.Target(socket.AF_INET, ("10.0.0.1", 5060))
    public = policy.Target(socket.AF_INET, ("8.8.8.8", 5060))
    assert policy.pick([private, public], allow_private=False) == (public, None)
    assert policy.pick([private], allow_private=False) == (None, "private address")
    assert policy.pick([private], allow_private=True) == (private, None)


# --- time ---------------------------------------------------------------------------------------------


def test_retransmissions_follow_rfc_3261_timer_e():
    assert retransmit_schedule(1.0) == [0.0, 0.5]
    assert retransmit_schedule(4.0) == [0.0, 0.5, 1.5, 3.5]
    assert retransmit_schedule(10.0) == [0.0, 0.5, 1.5, 3.5, 7.5]


def test_a_deadline_counts_down_on_its_clock_and_never_below_zero():
    now = [100.0]
    deadline = Deadline(4.0, clock=lambda: now[0])
    assert deadline.remaining() == 4.0
    now[0] = 103.5
    assert deadline.remaining() == 0.5 and not deadline.expired
    now[0] = 105.0
    assert deadline.remaining() == 0.0 and deadline.expired


def test_a_name_lookup_that_hangs_is_abandoned_at_the_deadline():
    """The system resolver cannot be interrupted: the check stops waiting for it instead."""
    release = threading.Event()
    calls = []

    def hanging_resolver(*args, **kwargs):
        calls.append(args[0])
        release.wait()
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    try:
        result = check_trunk(
            [Gateway("gateway", "slow.example.com", 5060)],
            None,
            timeout=0.2,
            allow_private=False,
            resolver=hanging_resolver,
        )
    finally:
        release.set()
    assert calls == ["slow.example.com"]
    assert result.status == "dns_failed"
    assert result.gateways[0].message == "The name lookup of slow.example.com did not finish within 0.2 s."


def test_the_trunk_status_is_its_least_advanced_gateways():
    assert overall(["ok", "reachable"]) == "reachable"
    assert overall(["ok", "unreachable"]) == "unreachable"
    assert overall(["auth_failed", "dns_failed"]) == "dns_failed"
    assert overall(["ok"]) == "ok"


# --- credentials ---------------------------------------------------------------------------------------


def test_credentials_hide_themselves_and_mask_an_echo():
    credentials = Credentials("alice-user", "s3cret-pw")
    assert "s3cret" not in repr(credentials) and "alice" not in repr(credentials)
    assert credentials.mask("SIP/2.0 403 alice-user used s3cret-pw") == "SIP/2.0 403 ******** used ********"
