"""Helpers shared by the trunk check tests: the number they use and a call trunk registered
through the service every door calls."""

from __future__ import annotations

from channels_app import services

NUMBER = "+12345678901"
REFUSED_GATEWAY = "10.1.2.3"  # private: refused at once by the address policy, nothing is sent


def register_trunk(workspace, agent, actor, *, number: str = NUMBER, **sip):
    """A call trunk on `number` with the SIP settings `sip` (gateway, port, username, ...)."""
    return services.trunk_register(
        workspace=workspace, actor=actor, phone_number=number, agent_uuid=agent.agent_uuid, channel="call", sip=sip
    )
