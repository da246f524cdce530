"""Fixtures of the trunk check tests: a real SIP peer (see peer.py)."""

from __future__ import annotations

import pytest

from tests.sip.peer import PortTaken, SippPeer, free_udp_port, require_sipp
from tests.sip.support import NUMBER, register_trunk


@pytest.fixture
def sip_peer(tmp_path):
    """start(scenario, username=..., password=..., host=..., port=...) -> a running SippPeer."""
    require_sipp()
    peers: list[SippPeer] = []

    def start(
        scenario: str, *, username: str = "", password: str = "", host: str = "127.0.0.1", port: int | None = None
    ) -> SippPeer:
        for _ in range(5):
            try:
                peer = SippPeer(
                    scenario,
                    tmp_path,
                    host=host,
                    port=port or free_udp_port(host),
                    username=username or "nobody",
                    password=password or "nothing",
                )
                break
            except PortTaken:
                if port is not None:
                    raise
        else:
            raise RuntimeError("no port could be bound for sipp")
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()


@pytest.fixture
def private_allowed(settings):
    """The test peer lives on 127.0.0.1, which production refuses (SIP_CHECK_ALLOW_PRIVATE)."""
    settings.SIP_CHECK_ALLOW_PRIVATE = True
    return settings


@pytest.fixture
def trunk_on_peer(sip_peer, private_allowed, workspace_a, agent_a, command_actor):
    """start(scenario, *, peer=(username, password), number=..., **sip) -> (peer, binding): a sipp
    peer running `scenario` and a call trunk of workspace A whose gateway is that peer, with the
    SIP settings `sip`. The peer accepts `peer`, by default the trunk's own credentials."""

    def start(scenario: str, *, peer: tuple[str, str] | None = None, number: str = NUMBER, **sip):
        username, password = peer if peer is not None else (sip.get("username", ""), sip.get("password", ""))
        running = sip_peer(scenario, username=username, password=password)
        binding = register_trunk(
            workspace_a, agent_a, command_actor, number=number, gateway=running.host, port=running.port, **sip
        )
        return running, binding

    return start
