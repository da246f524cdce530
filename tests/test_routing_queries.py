"""The routing decision's explicit SQL (channels_app/routing/queries.py) answers what the ORM
answers, on SQLite and on PostgreSQL, for every source and spelling of the scenario world."""

from __future__ import annotations

import pytest
from django.db.models import Exists, OuterRef, Q

from channels_app.models import ChannelBinding, TrunkAddressBlock
from channels_app.routing import addresses, queries, spelling
from tests import routing_scenarios as world

pytestmark = pytest.mark.django_db

SOURCES = [world.CARRIER_E164, world.CARRIER_DIGITS, world.CARRIER_NATIONAL, world.CARRIER_OF_B, world.STRANGER, "::1"]
USERS = ["+14155550101", "14155550102", "4155550103", "4155550104", "+14155550201", "+14155550199", "alice", ""]


@pytest.fixture
def routing(workspace_a, workspace_b, command_actor):
    return world.build_world(workspace_a, workspace_b, command_actor)


def orm_trunks(readings, keys, workspace=None) -> set:
    accepting = TrunkAddressBlock.objects.filter(binding=OuterRef("pk"), key__in=keys)
    trunks = ChannelBinding.objects.filter(
        Q(phone_number__number__in=readings.e164) | Q(phone_number__national_number__in=readings.national),
        channel="call",
        is_trunk=True,
    ).filter(Exists(accepting))
    if workspace is not None:
        trunks = trunks.filter(workspace=workspace)
    return {
        (t.pk, t.uuid, t.name, t.direction, t.workspace.slug, t.phone_number.phone_number_uuid, t.phone_number.e164,
         t.phone_number.national_number, t.agent.agent_uuid, t.agent.name, t.agent.status)
        for t in trunks.select_related("phone_number", "agent", "workspace")
    }  # fmt: skip


def sql_trunks(readings, keys, workspace=None) -> set:
    found = queries.accepting_trunks(
        e164=readings.e164, national=readings.national, keys=keys, workspace_id=workspace.pk if workspace else None
    )
    return {
        (t.pk, t.uuid, t.name, t.direction, t.workspace_slug, t.phone_number_uuid, t.e164, t.national_number,
         t.agent_uuid, t.agent_name, t.agent_status)
        for t in found
    }  # fmt: skip


@pytest.mark.parametrize("source", SOURCES)
def test_accepting_trunks_and_known_sources_answer_as_the_orm(routing, workspace_a, source):
    keys = addresses.candidate_keys(addresses.parse_source(source))
    assert queries.source_known(keys) == TrunkAddressBlock.objects.filter(key__in=keys).exists()
    for user in USERS:
        readings = spelling.readings(user)
        assert sql_trunks(readings, keys) == orm_trunks(readings, keys), (source, user)
        assert sql_trunks(readings, keys, workspace_a) == orm_trunks(readings, keys, workspace_a), (source, user)


def test_the_trunk_of_a_number_answers_as_the_orm(routing, workspace_a, workspace_b):
    for number, binding in routing.items():
        ours = queries.trunk_of(number)
        stored = ChannelBinding.objects.select_related("phone_number", "agent", "workspace").get(pk=binding.pk)
        assert (ours.pk, ours.uuid, ours.e164, ours.agent_uuid, ours.workspace_slug) == (
            stored.pk, stored.uuid, stored.phone_number.e164, stored.agent.agent_uuid, stored.workspace.slug,
        )  # fmt: skip
        assert (ours.sip_gateway, ours.sip_secondary_gateway, ours.sip_port) == (
            stored.sip_gateway, stored.sip_secondary_gateway, stored.sip_port,
        )  # fmt: skip
        assert (ours.effective_port, ours.effective_transport, ours.effective_number_format) == (
            stored.effective_port, stored.effective_transport, stored.effective_number_format,
        )  # fmt: skip
        assert ours.channel_settings == stored.phone_number.channel_settings
        assert ours.authenticates == bool(stored.sip_username and stored.sip_password)
        other = workspace_b if stored.workspace_id == workspace_a.pk else workspace_a
        assert queries.trunk_of(number, workspace_id=other.pk) is None
    assert queries.trunk_of(world.N_UNKNOWN) is None
