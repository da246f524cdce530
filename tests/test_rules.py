"""The binding rules of docs/rules.md, both ways: the service answers with the rule's code (and field),
and a direct ORM write that bypasses the service is stopped by the database's named constraint
(full_clean() refuses it too, where it applies). `any-spelling` lives in test_numbers.py.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction

from channels_app import services
from channels_app.models import (
    Agent,
    ApiToken,
    Channel,
    ChannelBinding,
    Membership,
    PhoneNumber,
    Source,
)
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.domain_asserts import raises_domain_error, snapshot_of, stopped_by_database

pytestmark = pytest.mark.django_db

EXTERNAL = "+12345678901"  # the number of the trunk_a fixture
OTHER_EXTERNAL = "+442071838750"


def register(workspace, actor, agent, number=OTHER_EXTERNAL, channel="call", **fields):
    return services.trunk_register(
        workspace=workspace, actor=actor, phone_number=number, agent_uuid=agent.agent_uuid, channel=channel, **fields
    )


def counts() -> tuple[int, int]:
    return PhoneNumber.objects.count(), ChannelBinding.objects.count()


def full_clean_codes(instance) -> set[str]:
    """Every error code full_clean() raises for `instance` (fields, uniques and constraints)."""
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return {error.code for errors in excinfo.value.error_dict.values() for error in errors}


def a_trunk_row(trunk, **overrides) -> ChannelBinding:
    """An unsaved copy of a call trunk's row, to write around the services."""
    fields = {
        "workspace": trunk.workspace,
        "phone_number": trunk.phone_number,
        "channel": Channel.CALL,
        "agent": trunk.agent,
        "is_trunk": True,
        "name": "raw row",
        "direction": "both",
    }
    fields.update(overrides)
    return ChannelBinding(**fields)


# --- `one-binding-per-channel`: one binding per (number, channel) ----------------------------------


def test_a_second_trunk_on_the_same_number_and_channel_is_refused(trunk_a, agents_a, workspace_a, command_actor):
    before = counts()
    with raises_domain_error("NUMBER_ALREADY_BOUND", "phone_number"):
        register(workspace_a, command_actor, agents_a[1], number=EXTERNAL)
    assert counts() == before


def test_the_same_number_may_be_bound_on_another_channel(trunk_a, agents_a, workspace_a, command_actor):
    binding = register(workspace_a, command_actor, agents_a[1], number=EXTERNAL, channel="whatsapp")
    assert binding.phone_number_id == trunk_a.phone_number_id
    assert PhoneNumber.objects.filter(number=EXTERNAL).count() == 1


def test_provisioning_a_purchased_number_already_bound_on_call_is_refused(
    purchased_a, agents_a, workspace_a, command_actor
):
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[0].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    with raises_domain_error("NUMBER_ALREADY_BOUND", "phone_number"):
        services.call_provision(
            workspace=workspace_a,
            actor=command_actor,
            agent_uuid=agents_a[1].agent_uuid,
            phone_number_uuid=purchased_a.phone_number_uuid,
        )
    assert ChannelBinding.objects.get(phone_number=purchased_a, channel="call").agent == agents_a[0]


def test_the_database_refuses_a_second_binding_of_one_number_on_one_channel(trunk_a, agents_a):
    with stopped_by_database("uniq_binding_number_channel", "phone_number_id", "channel"):
        a_trunk_row(trunk_a, agent=agents_a[1]).save()


def test_full_clean_refuses_a_second_binding_of_one_number_on_one_channel(trunk_a, agents_a):
    assert "NUMBER_ALREADY_BOUND" in full_clean_codes(a_trunk_row(trunk_a, agent=agents_a[1]))


# --- `one-number-per-agent-and-channel`: an agent serves at most one number per channel --------------


def test_an_agent_serving_a_number_on_call_cannot_take_a_second_one(trunk_a, agent_a, workspace_a, command_actor):
    before = counts()
    with raises_domain_error("AGENT_CHANNEL_IN_USE", "agent_uuid"):
        register(workspace_a, command_actor, agent_a)
    assert counts() == before, "the new external number must not be left behind"


def test_an_agent_may_serve_one_number_on_each_channel(trunk_a, agent_a, workspace_a, command_actor):
    register(workspace_a, command_actor, agent_a, channel="whatsapp")
    assert set(agent_a.bindings.values_list("channel", flat=True)) == {"call", "whatsapp"}


def test_provisioning_an_agent_that_already_serves_call_is_refused(
    trunk_a, agent_a, purchased_a, workspace_a, command_actor
):
    with raises_domain_error("AGENT_CHANNEL_IN_USE", "agent_uuid"):
        services.call_provision(
            workspace=workspace_a,
            actor=command_actor,
            agent_uuid=agent_a.agent_uuid,
            phone_number_uuid=purchased_a.phone_number_uuid,
        )
    assert not purchased_a.bindings.exists()


def test_the_database_refuses_a_second_number_for_one_agent_on_one_channel(trunk_a, agent_a, workspace_a, purchased_a):
    row = ChannelBinding(workspace=workspace_a, phone_number=purchased_a, channel="call", agent=agent_a)
    with stopped_by_database("uniq_binding_agent_channel", "agent_id", "channel"):
        row.save()


def test_full_clean_refuses_a_second_number_for_one_agent_on_one_channel(trunk_a, agent_a, workspace_a, purchased_a):
    row = ChannelBinding(workspace=workspace_a, phone_number=purchased_a, channel="call", agent=agent_a)
    assert "AGENT_CHANNEL_IN_USE" in full_clean_codes(row)


# --- `one-workspace-per-number`: external numbers stay out of purchased inventory; another workspace's is taken


def test_registering_a_purchased_number_of_the_workspace_is_refused(purchased_a, agent_a, workspace_a, command_actor):
    before = counts()
    with raises_domain_error("NUMBER_IN_INVENTORY", "phone_number"):
        register(workspace_a, command_actor, agent_a, number="+1 202 555 0101")
    assert counts() == before
    assert PhoneNumber.objects.get(number="+12025550101").source == Source.PURCHASED


def test_a_number_held_by_another_workspace_is_unavailable_and_says_nothing_about_it(
    purchased_a, trunk_a, agent_b, workspace_b, command_actor
):
    before = counts()
    with raises_domain_error("NUMBER_UNAVAILABLE", "phone_number") as purchased:
        register(workspace_b, command_actor, agent_b, number=purchased_a.e164)
    with raises_domain_error("NUMBER_UNAVAILABLE", "phone_number") as external:
        register(workspace_b, command_actor, agent_b, number=EXTERNAL)
    assert counts() == before
    # Purchased or external, bound or not: workspace B hears the same words either way.
    assert (purchased.value.message, purchased.value.details) == (external.value.message, external.value.details)
    said = f"{purchased.value.message} {purchased.value.details} {purchased.value.fields}"
    for secret in ("Workspace A", "ws-a", "A agent", "purchased", "external", "trunk"):
        assert secret.lower() not in said.lower()


def test_staff_cannot_add_a_purchased_number_that_is_already_registered(trunk_a, workspace_b, command_actor):
    with raises_domain_error("NUMBER_UNAVAILABLE", "number"):
        services.number_add_purchased(workspace=workspace_b, actor=command_actor, number=EXTERNAL)
    assert PhoneNumber.objects.get(number=EXTERNAL).source == Source.EXTERNAL


def test_the_database_refuses_one_number_in_two_workspaces(purchased_a, workspace_b):
    row = PhoneNumber(workspace=workspace_b, number=purchased_a.e164, source=Source.EXTERNAL)
    with stopped_by_database("uniq_phone_number_number", "number"):
        row.save()


def test_full_clean_refuses_one_number_in_two_workspaces(purchased_a, workspace_b):
    row = PhoneNumber(workspace=workspace_b, number=purchased_a.e164, source=Source.EXTERNAL)
    assert "NUMBER_UNAVAILABLE" in full_clean_codes(row)


# --- `trunk-channels`: trunks take call and whatsapp; SMS only on purchased SMS-capable numbers --------


def test_sms_through_a_trunk_endpoint_is_refused_and_points_to_the_sms_endpoint(agent_a, workspace_a, command_actor):
    with raises_domain_error("UNSUPPORTED_CHANNEL", "channel") as excinfo:
        register(workspace_a, command_actor, agent_a, channel="sms")
    assert "/api/v1/agents/" in excinfo.value.details
    assert "/channels/sms" in excinfo.value.details
    assert counts() == (0, 0)


@pytest.mark.parametrize("operation", ["update", "assign", "delete"])
def test_sms_is_refused_by_every_trunk_operation(operation, trunk_a, agent_a, workspace_a, command_actor):
    call = {
        "update": lambda: services.trunk_update(
            workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="sms", name="x"
        ),
        "assign": lambda: services.trunk_assign(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=EXTERNAL,
            channel="sms",
            agent_uuid=agent_a.agent_uuid,
        ),
        "delete": lambda: services.trunk_delete(
            workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="sms"
        ),
    }[operation]
    with raises_domain_error("UNSUPPORTED_CHANNEL", "channel"):
        call()


@pytest.mark.parametrize("channel", ["fax", "", None, "CALL", 1])
def test_an_unknown_channel_is_a_validation_error(channel, agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "channel"):
        register(workspace_a, command_actor, agent_a, channel=channel)


def test_sms_cannot_be_assigned_a_purchased_number_that_is_not_sms_capable(
    purchased_a_voice_only, agent_a, workspace_a, command_actor
):
    with raises_domain_error("NUMBER_NOT_CAPABLE", "phone_number_uuid"):
        services.sms_assign(
            workspace=workspace_a,
            actor=command_actor,
            agent_uuid=agent_a.agent_uuid,
            phone_number_uuid=purchased_a_voice_only.phone_number_uuid,
        )
    assert not ChannelBinding.objects.exists()


def test_sms_cannot_be_assigned_an_external_number(trunk_a, agents_a, workspace_a, command_actor):
    with raises_domain_error("NUMBER_NOT_CAPABLE", "phone_number_uuid"):
        services.sms_assign(
            workspace=workspace_a,
            actor=command_actor,
            agent_uuid=agents_a[1].agent_uuid,
            phone_number_uuid=trunk_a.phone_number.phone_number_uuid,
        )
    assert not ChannelBinding.objects.filter(channel="sms").exists()


def test_call_provisioning_refuses_an_external_number(trunk_a, agents_a, workspace_a, command_actor):
    with raises_domain_error("NUMBER_NOT_CAPABLE", "phone_number_uuid"):
        services.call_provision(
            workspace=workspace_a,
            actor=command_actor,
            agent_uuid=agents_a[1].agent_uuid,
            phone_number_uuid=trunk_a.phone_number.phone_number_uuid,
        )


def test_the_database_refuses_an_sms_trunk_row(trunk_a, agents_a):
    with stopped_by_database("binding_trunk_shape"):
        a_trunk_row(trunk_a, channel="sms", agent=agents_a[1], direction=None).save()


def test_the_database_refuses_an_unknown_channel(trunk_a, agents_a):
    with stopped_by_database("binding_channel_valid"):
        a_trunk_row(trunk_a, channel="fax", agent=agents_a[1], is_trunk=False, name=None, direction=None).save()


def test_full_clean_refuses_an_sms_trunk_row_and_an_unknown_channel(trunk_a, agents_a):
    assert "VALIDATION_ERROR" in full_clean_codes(
        a_trunk_row(trunk_a, channel="sms", agent=agents_a[1], direction=None)
    )
    assert "invalid_choice" in full_clean_codes(
        a_trunk_row(trunk_a, channel="fax", agent=agents_a[1], is_trunk=False, name=None, direction=None)
    )


# --- `default-trunk-name`: name defaults to {channel}_trunk_{digits}; 1-255 characters ----------------


def test_a_trunk_without_a_name_gets_the_default_name(trunk_a, agents_a, workspace_a, command_actor):
    assert trunk_a.name == "call_trunk_12345678901"
    whatsapp = register(workspace_a, command_actor, agents_a[1], number=EXTERNAL, channel="whatsapp")
    assert whatsapp.name == "whatsapp_trunk_12345678901"


def test_a_given_name_is_kept_without_surrounding_spaces(agent_a, workspace_a, command_actor):
    assert register(workspace_a, command_actor, agent_a, name="  Front door  ").name == "Front door"
    assert register(workspace_a, command_actor, agent_a, channel="whatsapp", name="n" * 255).name == "n" * 255


@pytest.mark.parametrize("name", ["", "   ", "n" * 256, 42, "nul\x00byte"])
def test_a_name_outside_one_to_255_characters_is_refused(name, agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "name"):
        register(workspace_a, command_actor, agent_a, name=name)
    assert counts() == (0, 0)


def test_a_null_name_on_update_restores_the_default_name(trunk_a, workspace_a, command_actor):
    services.trunk_update(workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", name="x")
    binding = services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", name=None
    )
    assert binding.name == "call_trunk_12345678901"


@pytest.mark.parametrize("name", [None, ""])
def test_the_database_refuses_a_trunk_row_without_a_name(name, trunk_a, agents_a):
    with stopped_by_database("binding_trunk_shape"):
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, name=name).save()


def test_the_database_refuses_a_trunk_name_longer_than_255_characters(trunk_a, agents_a):
    row = a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, name="n" * 256)
    if connection.vendor == "postgresql":
        # varchar(255) refuses it before the CHECK constraint is evaluated.
        with pytest.raises(DataError), transaction.atomic():
            row.save()
    else:
        with stopped_by_database("binding_name_length"):
            row.save()


def test_full_clean_refuses_a_trunk_row_without_a_name_or_with_a_long_one(trunk_a, agents_a):
    assert "VALIDATION_ERROR" in full_clean_codes(
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, name="")
    )
    assert "max_length" in full_clean_codes(
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, name="n" * 256)
    )


# --- `direction-on-calls`: direction, call only, default both ------------------------------------------


def test_direction_defaults_to_both_on_call_and_is_null_on_whatsapp(agent_a, workspace_a, command_actor):
    call = register(workspace_a, command_actor, agent_a)
    whatsapp = register(workspace_a, command_actor, agent_a, channel="whatsapp", direction="inbound")
    assert call.direction == "both"
    assert whatsapp.direction is None
    shot = snapshot_of(call.phone_number)
    assert shot["channels"]["call"]["trunk"]["direction"] == "both"
    assert shot["channels"]["whatsapp"]["trunk"]["direction"] is None


@pytest.mark.parametrize("direction", ["sideways", "BOTH", 1])
def test_an_unknown_direction_is_refused(direction, agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "direction"):
        register(workspace_a, command_actor, agent_a, direction=direction)


def test_direction_changes_on_call_and_is_ignored_on_whatsapp(trunk_a, agents_a, workspace_a, command_actor):
    register(workspace_a, command_actor, agents_a[1], number=EXTERNAL, channel="whatsapp")
    call = services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", direction="outbound"
    )
    whatsapp = services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="whatsapp", direction="outbound"
    )
    assert (call.direction, whatsapp.direction) == ("outbound", None)


def test_the_database_refuses_a_direction_on_whatsapp_and_a_call_trunk_without_one(trunk_a, agents_a):
    with stopped_by_database("binding_sip_on_call_trunk_only"):
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction="both").save()
    other = PhoneNumber.objects.create(
        workspace=trunk_a.workspace, number=OTHER_EXTERNAL, source=Source.EXTERNAL, monthly_fee=0
    )
    with stopped_by_database("binding_sip_on_call_trunk_only"):
        a_trunk_row(trunk_a, phone_number=other, agent=agents_a[1], direction=None).save()


def test_the_database_refuses_an_unknown_direction(trunk_a, agents_a):
    with stopped_by_database("binding_direction_valid"):
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction="sideways").save()


def test_full_clean_refuses_an_unknown_direction_and_one_on_whatsapp(trunk_a, agents_a):
    assert "invalid_choice" in full_clean_codes(
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction="sideways")
    )
    assert "VALIDATION_ERROR" in full_clean_codes(
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction="both")
    )


# --- `sip-on-calls`: sip, call only, validated sub-fields, write-only secrets ----------------------------


def test_sip_on_whatsapp_is_a_validation_error_on_sip(agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "sip"):
        register(workspace_a, command_actor, agent_a, channel="whatsapp", sip={"gateway": "sip.example.com"})
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    ("sip", "field"),
    [
        ({"gateway": "https://sip.example.com"}, "sip.gateway"),
        ({"gateway": "sip.example.com:5060"}, "sip.gateway"),
        ({"gateway": "sip.example.com/path"}, "sip.gateway"),
        ({"gateway": "h" * 256}, "sip.gateway"),
        ({"secondary_gateway": "sip:backup.example.com"}, "sip.secondary_gateway"),
        ({"port": 0}, "sip.port"),
        ({"port": 65536}, "sip.port"),
        ({"port": "fifty"}, "sip.port"),
        ({"port": True}, "sip.port"),
        ({"port": 5060.5}, "sip.port"),
        ({"username": "u" * 256}, "sip.username"),
        ({"password": "p" * 256}, "sip.password"),
        ({"password": 12345}, "sip.password"),
        ({"host": "sip.example.com"}, "sip.host"),
        ("sip.example.com", "sip"),
    ],
)
def test_a_bad_sip_field_is_refused_on_its_dotted_path(sip, field, agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", field):
        register(workspace_a, command_actor, agent_a, sip=sip)
    assert counts() == (0, 0)


def test_every_mistake_of_a_request_is_reported_at_once(agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR") as excinfo:
        register(
            workspace_a,
            command_actor,
            agent_a,
            number="tel:+12025550123",
            name="",
            direction="sideways",
            sip={"gateway": "http://x", "port": 0},
            additional_settings=[],
        )
    assert set(excinfo.value.fields) == {
        "phone_number",
        "name",
        "direction",
        "sip.gateway",
        "sip.port",
        "additional_settings",
    }


def test_sip_accepts_hosts_and_ip_literals_and_defaults_the_port_to_5060(agent_a, workspace_a, command_actor):
    binding = register(
        workspace_a,
        command_actor,
        agent_a,
        sip={"gateway": "SIP.Example.COM", "secondary_gateway": "[2001:db8::1]", "username": "u", "password": "p"},
    )
    trunk = snapshot_of(binding.phone_number)["channels"]["call"]["trunk"]
    assert trunk["sip"] == {
        "gateway": "sip.example.com",
        "port": 5060,
        "secondary_gateway": "2001:db8::1",
        "has_username": True,
        "has_password": True,
        "credentials_updated_at": trunk["sip"]["credentials_updated_at"],
        "inbound_addresses": [],
        "transport": "udp",
        "number_format": "e164",
    }
    assert trunk["sip"]["credentials_updated_at"] is not None
    assert register(workspace_a, command_actor, agent_a, channel="whatsapp").sip_port is None


def test_a_call_trunk_without_sip_still_shows_a_sip_block_with_port_5060(trunk_a, agents_a, workspace_a, command_actor):
    binding = register(workspace_a, command_actor, agents_a[1])
    trunk = snapshot_of(binding.phone_number)["channels"]["call"]["trunk"]
    assert trunk["sip"] == {
        "gateway": None,
        "port": 5060,
        "secondary_gateway": None,
        "has_username": False,
        "has_password": False,
        "credentials_updated_at": None,
        "inbound_addresses": [],
        "transport": "udp",
        "number_format": "e164",
    }


def test_the_snapshot_never_contains_the_username_or_password(trunk_a):
    shot = str(snapshot_of(trunk_a.phone_number))
    assert MARKER_PASSWORD not in shot
    assert MARKER_USERNAME not in shot


def test_a_port_may_be_given_as_digits_and_is_reported_as_a_number(agent_a, workspace_a, command_actor):
    binding = register(workspace_a, command_actor, agent_a, sip={"port": "5080"})
    trunk = snapshot_of(binding.phone_number)["channels"]["call"]["trunk"]
    assert trunk["sip"]["port"] == 5080


def test_the_database_refuses_sip_settings_on_whatsapp_and_on_a_plain_binding(trunk_a, agents_a, purchased_a):
    with stopped_by_database("binding_sip_on_call_trunk_only"):
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, sip_password="x").save()
    plain = ChannelBinding(
        workspace=purchased_a.workspace, phone_number=purchased_a, channel="call", agent=agents_a[1], sip_gateway="h"
    )
    with stopped_by_database("binding_sip_on_call_trunk_only"):
        plain.save()


def test_full_clean_refuses_sip_on_whatsapp_and_an_overlong_secret(trunk_a, agents_a):
    assert "VALIDATION_ERROR" in full_clean_codes(
        a_trunk_row(trunk_a, channel="whatsapp", agent=agents_a[1], direction=None, sip_username="u")
    )
    row = ChannelBinding.objects.get(pk=trunk_a.pk)
    row.sip_password = "p" * 256
    with pytest.raises(ValidationError) as excinfo:
        row.full_clean()
    assert set(excinfo.value.error_dict) == {"sip_password"}
    assert MARKER_USERNAME not in str(excinfo.value)


# --- `update-merges`: update merges sip, replaces settings, keeps what is omitted ------------------------


def test_update_keeps_every_omitted_field(trunk_a, workspace_a, command_actor):
    before = ChannelBinding.objects.get(pk=trunk_a.pk)
    after = services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number="1 (234) 567-8901", channel="call", name="renamed"
    )
    after = ChannelBinding.objects.get(pk=after.pk)
    assert after.name == "renamed"
    for field in ("direction", "sip_gateway", "sip_username", "sip_password", "sip_port", "additional_settings"):
        assert getattr(after, field) == getattr(before, field), field
    assert after.credentials_updated_at == before.credentials_updated_at


def test_sip_merges_key_by_key_and_an_empty_string_clears_one(trunk_a, workspace_a, command_actor):
    services.trunk_update(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=EXTERNAL,
        channel="call",
        sip={"gateway": "new.example.com", "port": 5070, "password": ""},
    )
    row = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert (row.sip_gateway, row.sip_port, row.sip_username, row.sip_password) == (
        "new.example.com",
        "5070",
        MARKER_USERNAME,
        None,
    )
    assert row.credentials_updated_at > trunk_a.credentials_updated_at


def test_changing_only_the_gateway_does_not_touch_credentials_updated_at(trunk_a, workspace_a, command_actor):
    services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", sip={"gateway": "b.example"}
    )
    assert ChannelBinding.objects.get(pk=trunk_a.pk).credentials_updated_at == trunk_a.credentials_updated_at


def test_additional_settings_are_replaced_whole_and_an_empty_object_clears_them(trunk_a, workspace_a, command_actor):
    def update(value):
        services.trunk_update(
            workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", additional_settings=value
        )
        return ChannelBinding.objects.get(pk=trunk_a.pk).additional_settings

    assert update({"region": "eu", "codec": "opus"}) == {"region": "eu", "codec": "opus"}
    assert update({"codec": "g711"}) == {"codec": "g711"}
    assert update({}) == {}
    assert update({"a": 1}) == {"a": 1}
    assert update(None) == {}


@pytest.mark.parametrize(
    "value",
    [[], "text", 1, {"blob": "x" * (16 * 1024)}, {"bad": float("nan")}, {"nul": "a\x00b"}],
    ids=["list", "string", "number", "over-16KiB", "nan", "nul"],
)
def test_additional_settings_must_be_a_json_object_of_at_most_16_kib(value, trunk_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "additional_settings"):
        services.trunk_update(
            workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", additional_settings=value
        )


def test_additional_settings_of_just_under_16_kib_are_accepted(agent_a, workspace_a, command_actor):
    value = {"blob": "x" * (16 * 1024 - 20)}
    assert register(workspace_a, command_actor, agent_a, additional_settings=value).additional_settings == value


def test_a_rejected_update_changes_nothing(trunk_a, workspace_a, command_actor):
    before = ChannelBinding.objects.get(pk=trunk_a.pk)
    with raises_domain_error("VALIDATION_ERROR", "sip.port"):
        services.trunk_update(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=EXTERNAL,
            channel="call",
            name="renamed",
            sip={"password": "new", "port": 0},
        )
    after = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert (after.name, after.sip_password, after.updated_at) == (before.name, before.sip_password, before.updated_at)


def test_an_update_that_changes_nothing_writes_nothing(trunk_a, workspace_a, command_actor):
    history = ChannelBinding.history.count()
    services.trunk_update(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=EXTERNAL,
        channel="call",
        name=trunk_a.name,
        sip={"username": MARKER_USERNAME},
    )
    assert ChannelBinding.history.count() == history
    assert ChannelBinding.objects.get(pk=trunk_a.pk).updated_at == trunk_a.updated_at


def test_updating_a_trunk_that_does_not_exist_is_trunk_not_found(trunk_a, workspace_a, workspace_b, command_actor):
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_update(workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="whatsapp")
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_update(workspace=workspace_b, actor=command_actor, phone_number=EXTERNAL, channel="call")


def test_a_purchased_number_binding_is_not_a_trunk(purchased_a, agent_a, workspace_a, command_actor):
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_update(
            workspace=workspace_a, actor=command_actor, phone_number=purchased_a.e164, channel="call", name="x"
        )


# --- `assign-changes-the-agent-only`: assign changes only the agent ---------------------------------------


def test_assign_changes_only_the_agent(trunk_a, agents_a, workspace_a, command_actor):
    before = ChannelBinding.objects.get(pk=trunk_a.pk)
    services.trunk_assign(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=EXTERNAL,
        channel="call",
        agent_uuid=str(agents_a[1].agent_uuid),
    )
    after = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert after.agent == agents_a[1]
    for field in ("phone_number_id", "name", "direction", "sip_gateway", "sip_username", "sip_password"):
        assert getattr(after, field) == getattr(before, field), field
    assert after.credentials_updated_at == before.credentials_updated_at


def test_assigning_an_agent_busy_on_the_channel_is_refused(trunk_a, agents_a, workspace_a, command_actor):
    register(workspace_a, command_actor, agents_a[1])
    with raises_domain_error("AGENT_CHANNEL_IN_USE", "agent_uuid"):
        services.trunk_assign(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=EXTERNAL,
            channel="call",
            agent_uuid=agents_a[1].agent_uuid,
        )
    assert ChannelBinding.objects.get(pk=trunk_a.pk).agent_id == trunk_a.agent_id


def test_assigning_the_agent_that_already_holds_it_is_a_successful_no_op(trunk_a, agent_a, workspace_a, command_actor):
    history = ChannelBinding.history.count()
    binding = services.trunk_assign(
        workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", agent_uuid=agent_a.agent_uuid
    )
    assert binding.agent == agent_a
    assert ChannelBinding.history.count() == history


def test_assigning_another_workspaces_agent_is_agent_not_found(trunk_a, agent_b, workspace_a, command_actor):
    with raises_domain_error("AGENT_NOT_FOUND"):
        services.trunk_assign(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=EXTERNAL,
            channel="call",
            agent_uuid=agent_b.agent_uuid,
        )
    with raises_domain_error("AGENT_NOT_FOUND"):
        register(workspace_a, command_actor, agent_b)


@pytest.mark.parametrize("agent_uuid", ["not-a-uuid", None, 7])
def test_a_malformed_agent_uuid_is_a_validation_error(agent_uuid, trunk_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "agent_uuid"):
        services.trunk_assign(
            workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call", agent_uuid=agent_uuid
        )


def test_staff_reassign_of_a_purchased_binding_follows_rule_2(
    purchased_a, agents_a, trunk_a, workspace_a, command_actor
):
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    binding = purchased_a.bindings.get()
    with raises_domain_error("AGENT_CHANNEL_IN_USE"):
        services.binding_reassign(
            workspace=workspace_a, actor=command_actor, binding_uuid=binding.uuid, agent_uuid=agents_a[0].agent_uuid
        )
    services.binding_reassign(
        workspace=workspace_a, actor=command_actor, binding_uuid=binding.uuid, agent_uuid=agents_a[2].agent_uuid
    )
    assert purchased_a.bindings.get().agent == agents_a[2]


# --- `last-trunk-takes-the-number`: delete one binding; the external number leaves with its last --------


def test_deleting_one_of_two_trunks_keeps_the_number(trunk_a, agents_a, workspace_a, command_actor):
    register(workspace_a, command_actor, agents_a[1], number=EXTERNAL, channel="whatsapp")
    remaining = services.trunk_delete(workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call")
    assert remaining is not None
    assert list(remaining.bindings.values_list("channel", flat=True)) == ["whatsapp"]


def test_deleting_the_last_trunk_removes_the_external_number(trunk_a, workspace_a, command_actor):
    assert (
        services.trunk_delete(workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="call") is None
    )
    assert counts() == (0, 0)


def test_deleting_a_trunk_that_is_not_there_is_trunk_not_found(trunk_a, workspace_a, workspace_b, command_actor):
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_delete(workspace=workspace_a, actor=command_actor, phone_number=EXTERNAL, channel="whatsapp")
    with raises_domain_error("TRUNK_NOT_FOUND"):
        services.trunk_delete(workspace=workspace_b, actor=command_actor, phone_number=EXTERNAL, channel="call")
    assert counts() == (1, 1)


def test_unbinding_a_purchased_number_keeps_it_in_the_inventory(purchased_a, agent_a, workspace_a, command_actor):
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    binding = purchased_a.bindings.get()
    kept = services.binding_delete(workspace=workspace_a, actor=command_actor, binding_uuid=binding.uuid)
    assert kept == purchased_a
    assert counts() == (1, 0)


# --- `release-purchased-only`: release purchased numbers only -----------------------------------------------


def test_releasing_a_purchased_number_removes_it_and_its_bindings(purchased_a, agents_a, workspace_a, command_actor):
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[0].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    services.sms_assign(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    services.number_release(workspace=workspace_a, actor=command_actor, phone_number_uuid=purchased_a.phone_number_uuid)
    assert counts() == (0, 0)
    assert set(PhoneNumber.history.filter(id=purchased_a.pk).values_list("action", flat=True)) >= {"released"}


def test_an_external_number_cannot_be_released(trunk_a, workspace_a, command_actor):
    with raises_domain_error("EXTERNAL_NUMBER_NOT_RELEASABLE"):
        services.number_release(
            workspace=workspace_a, actor=command_actor, phone_number_uuid=trunk_a.phone_number.phone_number_uuid
        )
    assert counts() == (1, 1)


def test_another_workspaces_number_cannot_be_released(purchased_a, workspace_b, command_actor):
    with raises_domain_error("PHONE_NUMBER_NOT_FOUND"):
        services.number_release(
            workspace=workspace_b, actor=command_actor, phone_number_uuid=purchased_a.phone_number_uuid
        )
    assert counts() == (1, 0)


# --- `sms-assign-replaces`: SMS assign replaces the agent's SMS binding ------------------------------------


@pytest.fixture
def second_sms_number(workspace_a, command_actor):
    return services.number_add_purchased(
        workspace=workspace_a, actor=command_actor, number="+12025550103", capabilities={"sms": True}
    )


def sms(workspace, actor, agent, number):
    return services.sms_assign(
        workspace=workspace, actor=actor, agent_uuid=agent.agent_uuid, phone_number_uuid=number.phone_number_uuid
    )


def test_sms_assign_replaces_the_agents_sms_binding(
    purchased_a, second_sms_number, agent_a, workspace_a, command_actor
):
    sms(workspace_a, command_actor, agent_a, purchased_a)
    sms(workspace_a, command_actor, agent_a, second_sms_number)
    assert list(ChannelBinding.objects.filter(channel="sms").values_list("phone_number", "agent")) == [
        (second_sms_number.pk, agent_a.pk)
    ]


def test_sms_assign_of_a_number_bound_to_another_agent_is_refused_and_keeps_everything(
    purchased_a, second_sms_number, agents_a, workspace_a, command_actor
):
    sms(workspace_a, command_actor, agents_a[0], purchased_a)
    sms(workspace_a, command_actor, agents_a[1], second_sms_number)
    with raises_domain_error("NUMBER_ALREADY_BOUND", "phone_number"):
        sms(workspace_a, command_actor, agents_a[1], purchased_a)
    assert set(ChannelBinding.objects.filter(channel="sms").values_list("phone_number", "agent")) == {
        (purchased_a.pk, agents_a[0].pk),
        (second_sms_number.pk, agents_a[1].pk),
    }


def test_sms_assign_of_the_number_the_agent_already_has_is_a_no_op(purchased_a, agent_a, workspace_a, command_actor):
    sms(workspace_a, command_actor, agent_a, purchased_a)
    history = ChannelBinding.history.count()
    sms(workspace_a, command_actor, agent_a, purchased_a)
    assert ChannelBinding.history.count() == history
    assert ChannelBinding.objects.filter(channel="sms").count() == 1


def test_sms_assign_across_workspaces_is_not_found(
    purchased_a, agent_a, agent_b, workspace_a, workspace_b, command_actor
):
    with raises_domain_error("PHONE_NUMBER_NOT_FOUND"):
        sms(workspace_b, command_actor, agent_b, purchased_a)
    with raises_domain_error("AGENT_NOT_FOUND"):
        sms(workspace_a, command_actor, agent_b, purchased_a)
    assert not ChannelBinding.objects.exists()


# --- the other named constraints of the models ---------------------------------------------------------------


def _number(workspace, **overrides) -> PhoneNumber:
    fields = {"workspace": workspace, "number": "+12025550199", "source": Source.PURCHASED}
    fields.update(overrides)
    return PhoneNumber(**fields)


NUMBER_CONSTRAINTS = {
    "phone_number_e164": {"number": "12345"},
    "phone_number_source_valid": {"source": "stolen"},
    "phone_number_type_valid": {"type": "satellite"},
    "phone_number_external_not_billed": {"source": Source.EXTERNAL, "monthly_fee": 1},
    "phone_number_fee_not_negative": {"monthly_fee": -1},
}


@pytest.mark.parametrize("constraint", sorted(NUMBER_CONSTRAINTS))
def test_the_database_refuses_a_phone_number_row_that_breaks(constraint, workspace_a):
    with stopped_by_database(constraint):
        _number(workspace_a, **NUMBER_CONSTRAINTS[constraint]).save()


@pytest.mark.parametrize("constraint", sorted(NUMBER_CONSTRAINTS))
def test_full_clean_refuses_a_phone_number_row_that_breaks(constraint, workspace_a):
    with pytest.raises(ValidationError):
        _number(workspace_a, **NUMBER_CONSTRAINTS[constraint]).full_clean()


def test_the_database_refuses_a_second_membership_and_an_unknown_role(customer_a, workspace_a):
    with stopped_by_database("uniq_membership_user_workspace", "user_id", "workspace_id"):
        Membership.objects.create(user=customer_a, workspace=workspace_a, role="viewer")
    membership = Membership.objects.get(user=customer_a)
    membership.role = "owner"
    with stopped_by_database("membership_role_valid"):
        membership.save()
    with pytest.raises(ValidationError):
        membership.full_clean()


def test_the_database_refuses_a_token_with_an_unknown_scope(token_a):
    token = ApiToken.objects.get()
    token.scope = "admin"
    with stopped_by_database("api_token_scope_valid"):
        token.save()
    with pytest.raises(ValidationError):
        token.full_clean()


def test_every_named_constraint_of_the_rules_is_declared_on_the_models():
    """The constraints exercised above exist under these names (a rename fails here, not silently)."""
    tested = {
        "uniq_binding_number_channel",
        "uniq_binding_agent_channel",
        "binding_channel_valid",
        "binding_direction_valid",
        "binding_sip_on_call_trunk_only",
        "binding_trunk_shape",
        "binding_name_length",
        "uniq_phone_number_number",
        "uniq_membership_user_workspace",
        "membership_role_valid",
        "api_token_scope_valid",
        *NUMBER_CONSTRAINTS,
    }
    declared = {
        constraint.name
        for model in (PhoneNumber, ChannelBinding, Membership, ApiToken, Agent)
        for constraint in model._meta.constraints
    }
    assert tested <= declared, tested - declared


def test_constraint_names_reach_the_database_under_the_same_names():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ChannelBinding._meta.db_table)
    if connection.vendor == "postgresql":
        assert {"uniq_binding_number_channel", "binding_sip_on_call_trunk_only"} <= set(constraints)
    else:  # SQLite reports unique indexes by name; CHECK constraints live in the table's SQL
        assert "uniq_binding_number_channel" in constraints


# --- staff entering purchased numbers: bad input is a validation error, never a crash ---------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"monthly_fee": -1}, "monthly_fee"),
        ({"monthly_fee": "lots"}, "monthly_fee"),
        ({"monthly_fee": "NaN"}, "monthly_fee"),
        ({"monthly_fee": "1.005"}, "monthly_fee"),
        ({"monthly_fee": "123456789"}, "monthly_fee"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "eu\x00"}, "currency"),
        ({"currency": "12$"}, "currency"),
        ({"capabilities": "sms"}, "capabilities"),
        ({"capabilities": {"teleport": True}}, "capabilities.teleport"),
        ({"capabilities": {"sms": "yes"}}, "capabilities.sms"),
    ],
)
def test_staff_adding_a_number_with_bad_attributes_gets_a_validation_error(kwargs, field, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", field):
        services.number_add_purchased(workspace=workspace_a, actor=command_actor, number="+12025550199", **kwargs)
    assert not PhoneNumber.objects.exists()


def test_staff_adding_a_number_records_its_capabilities_fee_and_derived_facts(workspace_a, command_actor):
    row = services.number_add_purchased(
        workspace=workspace_a,
        actor=command_actor,
        number="1 800 555 0199",
        capabilities={"sms": True, "fax": True},
        monthly_fee="2.50",
        currency="EUR",
    )
    row.refresh_from_db()
    assert (row.number, row.source, row.type, row.country_code) == ("+18005550199", "purchased", "toll_free", "US")
    assert (row.voice_capable, row.sms_capable, row.fax_capable, row.mms_capable) == (True, True, True, False)
    assert (str(row.monthly_fee), row.currency) == ("2.50", "EUR")
    assert row.purchased_at is not None
