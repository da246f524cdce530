"""Compiled queries (channels_app/compiled.py) answer what the ORM answers for the same queryset.

Each compiled query of the product is run both ways on the same data, with every set of
arguments it is called with, and the results compared field by field; then the compiler's
own refusals (an argument that never reaches the SQL, FOR UPDATE outside a transaction).
Compiled inserts store the row `save()` stores, and the audit record simple-history writes.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from channels_app import selectors, services
from channels_app.audit import Actor, acting_as, history_record, mark
from channels_app.compiled import CompiledInsert, CompiledQuery
from channels_app.models import Agent, ChannelBinding, InventoryCount, PhoneNumber
from tests.test_query_counts import grow

pytestmark = pytest.mark.django_db


def model_state(instance) -> dict:
    """Every loaded field of an instance and of the related objects loaded with it."""
    state = {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname in instance.__dict__
    }
    for name in ("phone_number", "agent"):
        if name in instance._state.fields_cache:
            state[name] = model_state(instance._state.fields_cache[name])
    for name in ("has_username", "has_password"):
        if hasattr(instance, name):
            state[name] = getattr(instance, name)
    return state


@pytest.fixture
def inventory(workspace_a, workspace_b, trunk_a):
    grow(workspace_a, 12, start=0)
    grow(workspace_b, 4, start=100)
    return workspace_a


def test_list_pages_and_their_agents_are_the_orm_s_rows(inventory):
    ws = inventory.pk
    for filters in ({}, {"source": "external"}, {"source": "purchased"}, {"channel": "sms"}, {"search": "2002"}):
        for offset in (0, 5, 10, 40):
            compiled = selectors._LISTED_NUMBERS.rows(workspace_id=ws, limit=5, offset=offset, **filters)
            orm = [list(row) for row in selectors._LISTED_NUMBERS.queryset(workspace_id=ws, **filters)[offset:][:5]]
            assert compiled == orm, (filters, offset)
            if compiled:
                number_ids = [row[0] for row in compiled]
                agents = sorted(selectors._LISTED_AGENTS.rows(number_ids=number_ids))
                assert agents == sorted(list(row) for row in selectors._LISTED_AGENTS.queryset(number_ids=number_ids))
                assert {row[0] for row in agents} <= set(number_ids)


def test_a_list_item_is_the_item_built_from_the_model(inventory):
    listed = selectors.number_list(workspace=inventory)[0:20]
    assert len(listed) == 13
    for item in listed:
        number = PhoneNumber.objects.prefetch_related("bindings__agent").get(pk=item.id)
        assert selectors.phone_number_repr(item) == selectors.phone_number_repr(number)


def test_a_listing_asks_for_the_agents_of_its_numbers_a_page_at_a_time(inventory, monkeypatch):
    listing = selectors.number_list(workspace=inventory)
    whole = listing[0:None]
    assert len(whole) == 13 and any(item.bound_agents for item in whole)
    monkeypatch.setattr(selectors, "_AGENTS_PER_QUERY", 5)
    assert listing[0:None] == whole  # three queries of 5 (the last padded)
    assert [item for start in range(0, 13, 4) for item in listing[start : start + 4]] == whole


def test_list_totals_add_up_the_counters_or_count_the_matching_rows(inventory):
    assert selectors.number_list(workspace=inventory).count() == PhoneNumber.objects.filter(workspace=inventory).count()
    assert selectors.trunk_list(workspace=inventory).count() == 7
    assert selectors.number_list(workspace=inventory, channel="sms").count() == 6
    assert selectors.number_list(workspace=inventory, search="2002").count() == 0
    assert selectors.number_list(workspace=inventory, search="1212200").count() == 6


def test_a_snapshot_from_compiled_queries_is_the_snapshot_of_the_orm_s_number(inventory, workspace_b):
    for number in PhoneNumber.objects.filter(workspace=inventory):
        orm = selectors.snapshot(
            selectors._snapshot_number(workspace=inventory, phone_number_uuid=number.phone_number_uuid)
        )
        by_uuid = selectors.snapshot_get(workspace=inventory, phone_number_uuid=number.phone_number_uuid)
        by_number = selectors.snapshot_get(workspace=inventory, number=number.e164)
        assert by_uuid == by_number == orm
    other = PhoneNumber.objects.filter(workspace=workspace_b).first()
    with pytest.raises(Exception, match="not found"):
        selectors.snapshot_get(workspace=inventory, phone_number_uuid=other.phone_number_uuid)


def test_a_snapshot_of_an_unbound_number_needs_its_second_query(workspace_a, purchased_a):
    with CaptureQueriesContext(connection) as captured:
        found = selectors.snapshot_get(workspace=workspace_a, phone_number_uuid=purchased_a.phone_number_uuid)
    assert len(captured) == 2
    assert found["channels"]["call"]["bound"] is False and found["number"] == purchased_a.e164


def test_write_lookups_build_the_instances_the_orm_builds(inventory, trunk_a):
    number = trunk_a.phone_number
    agent = trunk_a.agent
    with transaction.atomic():
        locked = services._locked_binding(
            workspace=inventory, phone_number__number=number.e164, channel="call", is_trunk=True
        )
        orm = (
            ChannelBinding.objects.select_related("phone_number", "agent")
            .filter(workspace=inventory, phone_number__number=number.e164, channel="call", is_trunk=True)
            .get()
        )
        assert model_state(locked) == model_state(orm)
        assert locked.sip_password == orm.sip_password and locked.sip_password  # decrypted, as the ORM does
        assert model_state(services._locked_number(pk=number.pk)) == model_state(PhoneNumber.objects.get(pk=number.pk))
        assert services._locked_number(number="+19999999999") is None
    assert model_state(services._agent(inventory, agent.agent_uuid)) == model_state(Agent.objects.get(pk=agent.pk))
    assert services._BINDING_AGENT.rows(phone_number_id=number.pk, channel="call") == [[agent.pk]]
    assert services._AGENT_TAKEN.rows(agent_id=agent.pk, channel="call") == [[trunk_a.pk]]
    assert services._AGENT_TAKEN.rows(agent_id=agent.pk, channel="call", except_number_id=number.pk) == []
    for channel, serving in (("call", True), ("whatsapp", False)):
        found, answer = services._agent_serving(inventory, agent.agent_uuid, channel)
        assert answer is serving
        assert model_state(found) == model_state(Agent.objects.get(pk=agent.pk))


def test_a_list_argument_is_a_plan_per_length_with_each_value_in_its_place(inventory, trunk_a):
    ids = list(PhoneNumber.objects.order_by("id").values_list("id", flat=True)[:6])
    for chosen in (ids[:1], ids[:3], ids[3:6], [ids[2], ids[2], ids[0]]):
        compiled = sorted(selectors._LISTED_AGENTS.rows(number_ids=chosen))
        assert compiled == sorted(list(row) for row in selectors._LISTED_AGENTS.queryset(number_ids=chosen))
    assert len({key for key in selectors._LISTED_AGENTS._plans if key[0] == connection.alias}) >= 2
    with pytest.raises(TypeError, match="non-empty list of ints"):
        CompiledQuery(lambda *, ids: PhoneNumber.objects.filter(id__in=ids).values_list("id")).rows(ids=[])


def test_booleans_and_none_are_constants_of_a_plan_of_their_own(inventory, trunk_a):
    number = trunk_a.phone_number
    trunks = services._BINDING_AGENT.rows(phone_number_id=number.pk, is_trunk=True)
    assert trunks == [[trunk_a.agent_id]]
    assert services._BINDING_AGENT.rows(phone_number_id=number.pk, is_trunk=False) == []
    assert services._BINDING_AGENT.rows(phone_number_id=number.pk, name=None) == []


def test_an_argument_that_never_reaches_the_sql_is_refused():
    ignored = CompiledQuery(lambda *, workspace_id: PhoneNumber.objects.values_list("id"))
    with pytest.raises(ValueError, match="does not reach the compiled SQL"):
        ignored.rows(workspace_id=1)


def test_model_and_values_querysets_answer_their_own_method(trunk_a):
    with pytest.raises(TypeError):
        services._AGENT.rows(workspace_id=1, agent_uuid=uuid.uuid4())
    with pytest.raises(TypeError):
        services._BINDING_AGENT.objects(phone_number_id=1, channel="call")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no FOR UPDATE: it locks the database")
@pytest.mark.django_db(transaction=True)
def test_for_update_needs_a_transaction_as_the_orm_requires():
    with pytest.raises(TransactionManagementError):
        services._LOCKED_NUMBER.one(pk=1)
    with transaction.atomic():
        assert services._LOCKED_NUMBER.one(pk=1) is None


def test_compiled_queries_go_through_django_s_cursor_wrapper(workspace_a, trunk_a):
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        selectors.snapshot_get(workspace=workspace_a, phone_number_uuid=trunk_a.phone_number.phone_number_uuid)
    assert len(seen) == 1 and "channels_app_channelbinding" in seen[0]


# --- compiled inserts --------------------------------------------------------------------------------

STAMPS = ("id", "uuid", "phone_number_uuid", "number", "phone_number_id", "created_at", "updated_at")


def stored(instance) -> dict:
    """The row as the ORM reads it back (secrets decrypted), without its keys and timestamps."""
    row = type(instance).objects.get(pk=instance.pk)
    return {name: value for name, value in model_state(row).items() if name not in STAMPS}


def trunk_row(workspace, agent, e164: str) -> tuple[PhoneNumber, ChannelBinding]:
    number = services._new_external_number(workspace, e164)
    binding = ChannelBinding(
        workspace=workspace,
        phone_number=number,
        channel="call",
        agent=agent,
        is_trunk=True,
        name="a trunk",
        direction="both",
        sip_gateway="sip.example.com",
        sip_port="5061",
        sip_username="user",
        sip_password="s3cret",
        additional_settings={"region": "eu"},
    )
    return number, binding


def test_a_compiled_insert_stores_the_row_save_stores(workspace_a, agents_a):
    saved_number, saved = trunk_row(workspace_a, agents_a[0], "+12025550101")
    saved_number.save()
    saved.phone_number = saved_number
    saved.save()
    inserts = {model: CompiledInsert(model) for model in (PhoneNumber, ChannelBinding)}
    for i, agent in enumerate(agents_a[1:]):  # the first call compiles, the second runs the plan
        number, binding = trunk_row(workspace_a, agent, f"+1202555020{i}")
        assert inserts[PhoneNumber].one(number) is True
        assert inserts[ChannelBinding].one(binding) is True  # its number's key taken from the saved number
        assert binding.phone_number_id == number.pk and not binding._state.adding
        assert stored(number) == stored(saved_number)
        assert stored(binding) == {**stored(saved), "agent_id": agent.pk}
        assert binding.created_at is not None and binding.updated_at is not None
        with connection.cursor() as cursor:
            cursor.execute("SELECT sip_password FROM channels_app_channelbinding WHERE id = %s", [binding.pk])
            assert cursor.fetchone()[0].startswith("gAAAA")  # encrypted by the field, as save() does
    counted = InventoryCount.objects.filter(workspace=workspace_a).values_list("numbers", flat=True)
    assert sum(counted) == 3  # the counters' triggers saw the compiled inserts too


def test_an_insert_that_ignores_conflicts_writes_nothing_when_a_unique_value_is_taken(workspace_a, trunk_a, agents_a):
    counted = list(InventoryCount.objects.values_list("numbers", flat=True))
    taken, binding = trunk_row(workspace_a, agents_a[1], trunk_a.phone_number.e164)
    assert CompiledInsert(PhoneNumber, ignore_conflicts=True).one(taken) is False
    assert taken.pk is None and taken._state.adding
    binding.phone_number = trunk_a.phone_number  # bound on call already
    assert CompiledInsert(ChannelBinding, ignore_conflicts=True).one(binding) is False
    assert PhoneNumber.objects.count() == 1 and ChannelBinding.objects.count() == 1
    assert list(InventoryCount.objects.values_list("numbers", flat=True)) == counted
    with pytest.raises(IntegrityError, match=r"UNIQUE|unique"), transaction.atomic():
        CompiledInsert(PhoneNumber).one(trunk_row(workspace_a, agents_a[1], trunk_a.phone_number.e164)[0])


def test_an_insert_that_ignores_conflicts_still_refuses_a_row_its_checks_refuse(workspace_a, agents_a):
    number = trunk_row(workspace_a, agents_a[0], "+12025550109")[0]
    number.monthly_fee = 5  # external numbers are never billed (a CHECK constraint)
    with pytest.raises(IntegrityError, match="phone_number_external_not_billed"), transaction.atomic():
        CompiledInsert(PhoneNumber, ignore_conflicts=True).one(number)


def test_a_compiled_insert_takes_new_rows_only(workspace_a, trunk_a):
    insert = CompiledInsert(PhoneNumber)
    with pytest.raises(ValueError, match="new PhoneNumber rows only"):
        insert.one(trunk_a.phone_number)
    with pytest.raises(ValueError, match="new PhoneNumber rows only"):
        insert.one(Agent(workspace=workspace_a, name="not a number"))


def test_history_record_is_the_record_simple_history_writes_on_save(workspace_a, agents_a):
    """Three ways to insert a number and its trunk: save(), the compiled insert of a registration,
    the bulk insert of an import. Their audit records are the same."""
    actor = Actor.command("tests")
    records = []
    with acting_as(actor):
        for i, way in enumerate(("save", "compiled", "bulk")):
            number, binding = trunk_row(workspace_a, agents_a[i], f"+1202555030{i}")
            mark(number, action="registered")
            mark(binding, action="registered", secrets_changed=["sip_password"])
            for row in (number, binding):
                if row is binding:
                    row.phone_number = number
                if way == "save":
                    row.save()
                elif way == "compiled":
                    assert services._insert_unless_taken(row) is True
                else:
                    services._bulk_insert_with_history(type(row), [row])
            records.append([row.history.get() for row in (number, binding)])
    ignored = {"history_id", "history_date", "id", "phone_number_uuid", "uuid", "number", "phone_number_id"}
    ignored |= {"agent_id", "created_at"}
    saved = records[0]
    for other in records[1:]:
        for a, b in zip(saved, other, strict=True):
            assert b.action == "registered" and b.door == actor.door
            assert {k: v for k, v in model_state(b).items() if k not in ignored} == {
                k: v for k, v in model_state(a).items() if k not in ignored
            }
    assert all(binding.secrets_changed == ["sip_password"] for _, binding in records)
    assert not hasattr(records[1][1], "sip_password")  # secrets are not tracked


def test_many_inserts_rows_nothing_reads_back_by_key_and_cannot_skip_conflicts(workspace_a, trunk_a):
    number = trunk_a.phone_number
    history = PhoneNumber.history.model
    records = []
    with acting_as(Actor.command("tests")):
        for action in ("first", "second", "third"):  # the first compiles, the others run the plan
            mark(number, action=action)
            records.append(history_record(number, history_type="~"))
    CompiledInsert(history).many(records)
    assert all(record.pk is None for record in records)  # not read back
    written = history.objects.filter(id=number.pk, history_type="~").order_by("history_id")
    assert [row.action for row in written] == ["first", "second", "third"]
    assert {(row.number, row.door, row.actor_label) for row in written} == {
        (number.number, "command", "manage.py tests")
    }
    with pytest.raises(ValueError, match="cannot say which rows"):
        CompiledInsert(history, ignore_conflicts=True).many(records)
