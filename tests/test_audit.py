"""The audit trail: every change through a service records who (actor label), through which door
and what (action); secrets appear only as "changed", and the history tables never hold a username
or password."""

from __future__ import annotations

import pytest

from channels_app import selectors, services
from channels_app.audit import Actor, Door, current_actor
from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.domain_asserts import occurrences, raises_domain_error, raw_dump

pytestmark = pytest.mark.django_db

NUMBER = "+12345678901"


@pytest.fixture
def doors(token_a, customer_a, staff_user):
    """One actor per door, as the admin, the pages, the API and the commands build them."""
    return {
        Door.API: Actor(door=Door.API, token=ApiToken.objects.get()),
        Door.SELF_SERVE: Actor(door=Door.SELF_SERVE, user=customer_a),
        Door.ADMIN: Actor(door=Door.ADMIN, user=staff_user),
        Door.COMMAND: Actor.command("import_trunks"),
    }


def latest_binding_record():
    return ChannelBinding.history.order_by("-history_id").first()


@pytest.mark.parametrize("door", [Door.API, Door.SELF_SERVE, Door.ADMIN, Door.COMMAND])
def test_a_change_records_the_actor_the_door_and_the_action(door, doors, trunk_a, workspace_a):
    before = ChannelBinding.history.count()
    services.trunk_update(
        workspace=workspace_a, actor=doors[door], phone_number=NUMBER, channel="call", sip={"password": "rotated-pw"}
    )
    assert ChannelBinding.history.count() == before + 1, "one change, one event"
    record = latest_binding_record()
    expected_label = {
        Door.API: f"token test token ({ApiToken.objects.get().prefix}…)",
        Door.SELF_SERVE: "customer-a",
        Door.ADMIN: "staff-person",
        Door.COMMAND: "manage.py import_trunks",
    }[door]
    assert (record.door, record.actor_label, record.action) == (door, expected_label, "updated")
    assert record.secrets_changed == ["sip_password"]
    expected_user = doors[door].user
    assert record.history_user == expected_user


def test_the_events_of_a_number_show_secrets_only_as_changed(doors, trunk_a, agents_a, workspace_a):
    services.trunk_update(
        workspace=workspace_a,
        actor=doors[Door.SELF_SERVE],
        phone_number=NUMBER,
        channel="call",
        name="front door",
        sip={"username": "new-user", "password": MARKER_PASSWORD + "-2", "gateway": "gw2.example.com"},
    )
    services.trunk_assign(
        workspace=workspace_a,
        actor=doors[Door.API],
        phone_number=NUMBER,
        channel="call",
        agent_uuid=agents_a[1].agent_uuid,
    )
    events = selectors.number_events(number=trunk_a.phone_number)
    assert [(e.action, e.door) for e in events] == [
        ("reassigned", "api"),
        ("updated", "self_serve"),
        ("registered", "command"),
        ("registered", "command"),
    ]
    reassigned, updated = events[0], events[1]
    (registered_binding,) = [e for e in events[2:] if e.channel == "call"]
    assert reassigned.changes == {"agent_uuid": str(agents_a[1].agent_uuid)}
    assert updated.changes == {
        "name": "front door",
        "sip.gateway": "gw2.example.com",
        "sip.username": "changed",
        "sip.password": "changed",
    }
    assert updated.actor == "customer-a"
    assert updated.channel == "call"
    assert registered_binding.changes["sip.password"] == "changed"
    assert registered_binding.changes["sip.username"] == "changed"
    text = str(events)
    for secret in (MARKER_PASSWORD, MARKER_USERNAME, "new-user"):
        assert secret not in text


def test_history_tables_never_hold_a_username_or_password(doors, trunk_a, agents_a, workspace_a):
    for door, actor in doors.items():
        services.trunk_update(
            workspace=workspace_a,
            actor=actor,
            phone_number=NUMBER,
            channel="call",
            sip={"username": f"{MARKER_USERNAME}-{door}", "password": f"{MARKER_PASSWORD}-{door}"},
        )
    services.trunk_delete(workspace=workspace_a, actor=doors[Door.ADMIN], phone_number=NUMBER, channel="call")
    history = {table: rows for table, rows in raw_dump().items() if "historical" in table}
    assert set(history) >= {
        "channels_app_historicalchannelbinding",
        "channels_app_historicalphonenumber",
        "channels_app_historicalapitoken",
    }
    assert len(history["channels_app_historicalchannelbinding"]) == 6
    assert occurrences(MARKER_USERNAME, history) == {}
    assert occurrences(MARKER_PASSWORD, history) == {}


def test_removing_the_last_trunk_records_the_binding_deleted_and_the_number_removed(trunk_a, workspace_a, doors):
    services.trunk_delete(workspace=workspace_a, actor=doors[Door.API], phone_number=NUMBER, channel="call")
    binding_record = latest_binding_record()
    number_record = PhoneNumber.history.order_by("-history_id").first()
    assert (binding_record.history_type, binding_record.action, binding_record.door) == ("-", "deleted", "api")
    assert (number_record.history_type, number_record.action, number_record.door) == ("-", "removed", "api")


def test_token_creation_and_revocation_are_recorded_without_the_hash(workspace_a, doors):
    token, plaintext = services.token_create(workspace=workspace_a, actor=doors[Door.SELF_SERVE], name="ci")
    services.token_revoke(workspace=workspace_a, actor=doors[Door.ADMIN], token_uuid=token.uuid)
    records = list(ApiToken.history.filter(uuid=token.uuid).order_by("history_id"))
    assert [(r.action, r.door, r.actor_label) for r in records] == [
        ("created", "self_serve", "customer-a"),
        ("revoked", "admin", "staff-person"),
    ]
    assert not hasattr(records[0], "token_hash")
    assert occurrences(plaintext, raw_dump()) == {}


def test_a_refused_change_leaves_no_event(trunk_a, agents_a, workspace_a, doors):
    before = (ChannelBinding.history.count(), PhoneNumber.history.count())
    with raises_domain_error("AGENT_CHANNEL_IN_USE"):
        services.trunk_register(
            workspace=workspace_a,
            actor=doors[Door.API],
            phone_number="+442071838750",
            agent_uuid=trunk_a.agent.agent_uuid,
            channel="call",
        )
    assert (ChannelBinding.history.count(), PhoneNumber.history.count()) == before


def test_a_dry_run_leaves_no_event_and_no_row(agent_a, workspace_a, doors):
    with services.rolled_back():
        services.trunk_register(
            workspace=workspace_a,
            actor=doors[Door.API],
            phone_number=NUMBER,
            agent_uuid=agent_a.agent_uuid,
            channel="call",
        )
    assert (ChannelBinding.history.count(), PhoneNumber.history.count(), PhoneNumber.objects.count()) == (0, 0, 0)


def test_the_actor_does_not_outlive_the_service_call(trunk_a, workspace_a, doors):
    services.trunk_update(
        workspace=workspace_a, actor=doors[Door.ADMIN], phone_number=NUMBER, channel="call", name="renamed"
    )
    assert current_actor() is None
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_update(workspace=workspace_a, actor=doors[Door.ADMIN], phone_number=NUMBER, channel="whatsapp")
    assert current_actor() is None


def test_the_events_of_a_number_survive_the_deletion_of_an_agent_that_once_served_it(
    purchased_a, agents_a, workspace_a, doors
):
    gone = agents_a[2]
    services.call_provision(
        workspace=workspace_a,
        actor=doors[Door.ADMIN],
        agent_uuid=gone.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    services.binding_delete(
        workspace=workspace_a, actor=doors[Door.ADMIN], binding_uuid=purchased_a.bindings.get().uuid
    )
    gone_uuid = str(gone.agent_uuid)
    gone.delete()
    events = selectors.number_events(number=purchased_a)
    assert [e.action for e in events] == ["deleted", "bound", "purchased"]
    # History keeps the agent's id, not its uuid: a deleted agent reads as null.
    assert events[1].changes["agent_uuid"] is None
    assert gone_uuid not in str(events)
