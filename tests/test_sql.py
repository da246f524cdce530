"""The explicit SQL of the hot reads (channels_app/selectors/sql.py) answers what the ORM answers.

For each question, the same answer is asked of the ORM (querysets with select_related and
prefetch_related, as the rest of the product reads) and compared instance by instance, field by
field, value and type, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Prefetch, Q

from channels_app import services
from channels_app.audit import Actor
from channels_app.models import Agent, ChannelBinding, PhoneNumber
from channels_app.selectors import sql

pytestmark = pytest.mark.django_db

FLAGS = {
    flag: ExpressionWrapper(Q(**{f"{column}__isnull": False}), output_field=BooleanField())
    for flag, column in sql.FLAG_COLUMNS.items()
}


def orm_bindings(columns: sql._Columns):
    """The ORM's reading of the bindings the statement reads: the same columns, agent, flags."""
    loaded = [field.name for field in columns.fields]
    agent = [f"agent__{field.name}" for field in sql.AGENT_COLUMNS.fields]
    return ChannelBinding.objects.select_related("agent").only(*loaded, *agent).annotate(**FLAGS)


def state(instance, columns: sql._Columns) -> dict:
    """Every loaded value with its type: a value the SQL converted differently would show."""
    return {name: (getattr(instance, name), type(getattr(instance, name))) for name in columns.attnames}


def number_state(number: PhoneNumber, binding_columns: sql._Columns) -> dict:
    bindings = sorted(number.channel_bindings, key=lambda binding: binding.channel)
    return {
        "number": state(number, sql.NUMBER_COLUMNS),
        "bindings": [
            {
                "binding": state(binding, binding_columns),
                "flags": [getattr(binding, flag) for flag in sql.FLAGS],
                "agent": state(binding.agent, sql.AGENT_COLUMNS),
                "number is the same object": binding.phone_number is number,
            }
            for binding in bindings
        ],
    }


def orm_number(workspace, binding_columns: sql._Columns, **lookup) -> PhoneNumber | None:
    prefetch = Prefetch("bindings", queryset=orm_bindings(binding_columns), to_attr="channel_bindings")
    found = PhoneNumber.objects.filter(workspace=workspace, **lookup).prefetch_related(prefetch).first()
    if found is not None:
        for binding in found.channel_bindings:
            binding.phone_number = found
    return found


@pytest.fixture
def inventory(workspace_a, workspace_b, agents_a, agents_b, purchased_a, purchased_b, command_actor):
    """Trunks of every shape on both channels, purchased numbers bound on call and SMS, another
    workspace with its own numbers: what the statements must tell apart."""
    actor = Actor.command("tests")
    for index, (number, channel, sip) in enumerate(
        [
            ("+12125550101", "call", {"gateway": "sip.example.com", "port": 5080, "username": "u", "password": "p"}),
            ("+12125550101", "whatsapp", None),
            ("+12125550102", "call", None),
            ("+447911123456", "call", {"gateway": "10.0.0.1", "secondary_gateway": "sip2.example.com"}),
            ("+12125550103", "whatsapp", None),
        ]
    ):
        agent = Agent.objects.create(workspace=workspace_a, name=f"SQL agent {index}")
        services.trunk_register(
            workspace=workspace_a,
            actor=actor,
            phone_number=number,
            agent_uuid=agent.agent_uuid,
            channel=channel,
            additional_settings={"index": index, "nested": {"unicode": "é ✓"}},
            **({"sip": sip} if sip else {}),
        )
    services.trunk_update(
        workspace=workspace_a,
        actor=actor,
        phone_number="+12125550101",
        channel="whatsapp",
        whatsapp={"phone_number_id": "1065403522", "access_token": "EAAtoken", "app_secret": "app-secret"},
    )
    services.call_provision(
        workspace=workspace_a,
        actor=actor,
        agent_uuid=agents_a[0].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    services.sms_assign(
        workspace=workspace_a,
        actor=actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    services.trunk_register(
        workspace=workspace_b,
        actor=actor,
        phone_number="+12125550199",
        agent_uuid=agents_b[0].agent_uuid,
        channel="call",
    )
    return workspace_a


def test_a_number_with_its_bindings_is_what_the_orm_reads(inventory, purchased_a, purchased_b):
    numbers = list(PhoneNumber.objects.all())
    assert len(numbers) >= 6
    for number in numbers:
        for key, value in (("phone_number_uuid", number.phone_number_uuid), ("number", number.e164)):
            found = sql.number_with_bindings(workspace_id=number.workspace_id, key=key, value=value)
            expected = orm_number(number.workspace, sql.SNAPSHOT_BINDING_COLUMNS, **{key: value})
            assert number_state(found, sql.SNAPSHOT_BINDING_COLUMNS) == number_state(
                expected, sql.SNAPSHOT_BINDING_COLUMNS
            )
    # Bound, unbound and foreign numbers are all covered above; a decrypted gateway really came back.
    trunk = sql.number_with_bindings(workspace_id=inventory.pk, key="number", value="+12125550101").binding("call")
    assert (trunk.sip_gateway, trunk.sip_port, trunk.has_username, trunk.has_password) == (
        "sip.example.com",
        "5080",
        True,
        True,
    )
    line = sql.number_with_bindings(workspace_id=inventory.pk, key="number", value="+12125550101").binding("whatsapp")
    assert (line.wa_phone_number_id, line.has_access_token, line.has_app_secret) == ("1065403522", True, True)
    assert {"wa_access_token", "wa_app_secret", "sip_username", "sip_password"} <= line.get_deferred_fields()


def test_another_workspace_s_number_and_a_missing_one_are_none(inventory, purchased_b):
    assert sql.number_with_bindings(workspace_id=inventory.pk, key="number", value=purchased_b.e164) is None
    assert sql.number_with_bindings(workspace_id=inventory.pk, key="phone_number_uuid", value=uuid.uuid4()) is None


def test_a_locked_read_answers_the_same_inside_a_transaction(inventory):
    with transaction.atomic():
        locked = sql.number_with_bindings(workspace_id=inventory.pk, key="number", value="+12125550101", lock=True)
    expected = orm_number(inventory, sql.SNAPSHOT_BINDING_COLUMNS, number="+12125550101")
    assert number_state(locked, sql.SNAPSHOT_BINDING_COLUMNS) == number_state(expected, sql.SNAPSHOT_BINDING_COLUMNS)


def orm_listing(workspace, *, source="", channel="", agent_uuid=None, digits=""):
    numbers = PhoneNumber.objects.filter(workspace=workspace)
    if source:
        numbers = numbers.filter(source=source)
    if digits:
        numbers = numbers.filter(number__contains=digits)
    bound = {key: value for key, value in (("channel", channel), ("agent__agent_uuid", agent_uuid)) if value}
    if bound:
        numbers = numbers.filter(Exists(ChannelBinding.objects.filter(phone_number=OuterRef("pk"), **bound)))
    prefetch = Prefetch("bindings", queryset=orm_bindings(sql.LISTED_BINDING_COLUMNS), to_attr="channel_bindings")
    return numbers.order_by("number").prefetch_related(prefetch)


def test_every_page_of_every_filtered_list_is_what_the_orm_lists(inventory, agents_a):
    call_agent = ChannelBinding.objects.get(phone_number__number="+12125550101", channel="call").agent
    filters = [
        {},
        {"source": "external"},
        {"source": "purchased"},
        {"channel": "call"},
        {"channel": "whatsapp"},
        {"channel": "sms"},
        {"agent_uuid": call_agent.agent_uuid},
        {"agent_uuid": call_agent.agent_uuid, "channel": "call"},
        {"agent_uuid": call_agent.agent_uuid, "channel": "whatsapp"},
        {"agent_uuid": uuid.uuid4()},
        {"digits": "212555"},
        {"digits": "0101", "source": "external", "channel": "call"},
        {"digits": "999999"},
    ]
    for given in filters:
        listing = sql.NumberListing(workspace_id=inventory.pk, **given)
        orm = orm_listing(inventory, **given)
        assert listing.count() == orm.count(), given
        for start, stop in ((0, 2), (2, 4), (0, 100), (4, 6), (50, 60)):
            page = listing[start:stop]
            expected = list(orm[start:stop])
            for number in expected:
                for binding in number.channel_bindings:
                    binding.phone_number = number
            assert [number_state(n, sql.LISTED_BINDING_COLUMNS) for n in page] == [
                number_state(n, sql.LISTED_BINDING_COLUMNS) for n in expected
            ], (given, start, stop)


def test_the_counters_total_equals_a_count_of_the_rows(inventory):
    for source in ("", "external", "purchased"):
        listing = sql.NumberListing(workspace_id=inventory.pk, source=source)
        assert listing.counted_by_triggers
        assert listing.count() == orm_listing(inventory, source=source).count()


def test_a_listing_is_read_in_pages_only(inventory):
    listing = sql.NumberListing(workspace_id=inventory.pk)
    assert listing[3:3] == []
    for bad in (0, slice(0, None), slice(0, 4, 2)):
        with pytest.raises(TypeError):
            listing[bad]


def test_the_statements_use_the_connection_django_manages(inventory, django_assert_num_queries):
    # Through Django's cursor: query capture, execute_wrappers and fault injection see them.
    with django_assert_num_queries(1):
        sql.number_with_bindings(workspace_id=inventory.pk, key="number", value="+12125550101")
    with django_assert_num_queries(2):
        sql.NumberListing(workspace_id=inventory.pk)[0:15]
    assert connection.vendor in ("sqlite", "postgresql")
