"""Fixtures of the edge tests: the product behind an HTTP hop, Kamailio in front of it."""

from __future__ import annotations

import pytest

from tests.edge.support import SECRET, Kamailio, ProductHop, require_kamailio


@pytest.fixture(scope="module")
def product_hop(live_server):
    hop = ProductHop(live_server.url)
    yield hop
    hop.stop()


@pytest.fixture(scope="module")
def edge(tmp_path_factory, product_hop):
    """Kamailio on 127.0.0.2, asking the product (through the hop) for every decision."""
    require_kamailio()
    kamailio = Kamailio(tmp_path_factory.mktemp("edge"), product_url=product_hop.url)
    yield kamailio
    kamailio.stop()


@pytest.fixture
def product(settings, product_hop, transactional_db):
    """The product's side of the edge tests: the shared secret, the media servers, a fast hop."""
    settings.SIP_EDGE_SECRET = SECRET
    settings.AGENT_SOURCE_ADDRESSES = ["127.0.0.40/29"]
    settings.SIP_CHECK_ALLOW_PRIVATE = True
    product_hop.delay, product_hop.down = 0.0, False
    yield settings
    product_hop.delay, product_hop.down = 0.0, False
