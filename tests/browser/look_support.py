"""A workspace as support staff and customers see it on a busy day, for the layout tests.

Realistic lengths: agent names of a real team, trunks with long names, checked and unchecked
call trunks, a WhatsApp line, a purchased number bound on SMS, an edit and a reassignment in the
history. The trunk checks are stored results (what `check_trunks` leaves on a trunk).
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from channels_app import services
from channels_app.models import Agent, ChannelBinding
from channels_app.sip import HealthStatus
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

AGENT_NAMES = (
    "Reception desk (London office)",
    "After-hours support line",
    "Billing questions",
    "Sales EMEA",
    "Night shift",
)


def furnish(workspace, actor) -> dict:
    agents = [Agent.objects.create(workspace=workspace, name=name) for name in AGENT_NAMES]
    call = services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number="+442079460958",
        agent_uuid=agents[0].agent_uuid,
        channel="call",
        name="London carrier primary trunk",
        sip={
            "gateway": "sip-primary.carrier-example.co.uk",
            "secondary_gateway": "sip-backup.carrier-example.co.uk",
            "username": MARKER_USERNAME,
            "password": MARKER_PASSWORD,
            "inbound_addresses": ["192.0.2.0/28", "198.51.100.7"],
            "number_format": "national",
        },
        additional_settings={"region": "eu-west", "recording": True},
    )
    services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number="+442079460958",
        agent_uuid=agents[1].agent_uuid,
        channel="whatsapp",
    )
    unchecked = services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number="+12025550143",
        agent_uuid=agents[2].agent_uuid,
        channel="call",
        sip={"gateway": "sip.us-carrier.example"},
    )
    failing = services.trunk_register(
        workspace=workspace,
        actor=actor,
        phone_number="+12025550177",
        agent_uuid=agents[3].agent_uuid,
        channel="call",
        sip={"gateway": "sip.down.example"},
    )
    purchased = services.number_add_purchased(
        workspace=workspace, actor=actor, number="+12025550101", capabilities={"sms": True}
    )
    services.sms_assign(
        workspace=workspace, actor=actor, agent_uuid=agents[1].agent_uuid, phone_number_uuid=purchased.phone_number_uuid
    )
    # An edit and a reassignment: the history has before -> after.
    services.trunk_update(
        workspace=workspace, actor=actor, phone_number="+442079460958", channel="call", direction="inbound"
    )
    services.trunk_assign(
        workspace=workspace, actor=actor, phone_number="+442079460958", channel="call", agent_uuid=agents[4].agent_uuid
    )
    services.trunk_assign(
        workspace=workspace, actor=actor, phone_number="+442079460958", channel="call", agent_uuid=agents[0].agent_uuid
    )
    checked_at = timezone.now() - datetime.timedelta(minutes=7)
    ChannelBinding.objects.filter(pk=call.pk).update(health_status=HealthStatus.OK, health_checked_at=checked_at)
    ChannelBinding.objects.filter(pk=failing.pk).update(
        health_status=HealthStatus.UNREACHABLE, health_checked_at=checked_at
    )
    return {
        "agents": agents,
        "call": ChannelBinding.objects.get(pk=call.pk),
        "unchecked": unchecked,
        "failing": failing,
        "purchased": purchased,
    }
