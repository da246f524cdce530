"""Fixtures of the WhatsApp tests: the Graph API and agent peers, and a WhatsApp trunk."""

from __future__ import annotations

import pytest

from channels_app import services
from tests.whatsapp.peers import AgentPeer, GraphPeer
from tests.whatsapp.support import (
    ACCESS_TOKEN,
    AGENT_SECRET,
    APP_SECRET,
    BUSINESS_ACCOUNT_ID,
    NUMBER,
    PHONE_NUMBER_ID,
)


@pytest.fixture
def graph(settings):
    peer = GraphPeer(ACCESS_TOKEN)
    peer.add_line(PHONE_NUMBER_ID, "+1 415-555-0123")
    settings.WHATSAPP_GRAPH_URL = peer.url + "/v21.0"
    settings.WHATSAPP_CHECK_TIMEOUT_SECONDS = 2
    yield peer
    peer.stop()


@pytest.fixture
def agent(settings):
    peer = AgentPeer()
    settings.AGENT_MESSAGE_URL = peer.message_url
    settings.AGENT_MESSAGE_SECRET = AGENT_SECRET
    settings.AGENT_MESSAGE_TIMEOUT_SECONDS = 2
    settings.AGENT_DELIVERY_BACKOFF_SECONDS = 0.01
    yield peer
    peer.stop()


def register_line(workspace, agent, actor, number=NUMBER, **whatsapp):
    block = {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": BUSINESS_ACCOUNT_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        **whatsapp,
    }
    return services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number=number,
        agent_uuid=agent.agent_uuid,
        channel="whatsapp",
        whatsapp={key: value for key, value in block.items() if value is not None},
    )


@pytest.fixture
def line_a(workspace_a, agent_a, command_actor):
    """A WhatsApp trunk of workspace A with its whole Cloud API line."""
    return register_line(workspace_a, agent_a, command_actor)
