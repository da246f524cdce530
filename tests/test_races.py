"""Races with real threads, each on its own database connection, released together by a barrier.

The database has the last word: whichever request wins, every loser gets the domain error a
sequential request would get, and no other exception escapes. The figures of every round are
printed (visible without -s) so a reader of the test output sees them.

PostgreSQL serialises the writers with row locks and unique indexes; SQLite with IMMEDIATE
transactions and a busy timeout (trunkadmin/settings.py). Both run here.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import IntegrityError, connection

from channels_app import services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import Agent, ChannelBinding, PhoneNumber, Workspace

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 10
THREADS = 20
ACTOR = Actor.command("race tests")


@dataclass
class Round:
    successes: int = 0
    codes: Counter = field(default_factory=Counter)
    by_constraint: int = 0  # conflicts the database's unique index settled (the pre-check saw nothing)
    others: list[str] = field(default_factory=list)


def race(calls: list[Callable[[], object]]) -> Round:
    """Run every call at once, each in its own thread and connection; tally the outcomes."""
    barrier = threading.Barrier(len(calls))
    outcome = Round()
    lock = threading.Lock()

    def worker(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            call()
            with lock:
                outcome.successes += 1
        except DomainError as exc:
            with lock:
                outcome.codes[exc.code] += 1
                # Raised while handling the IntegrityError of a lost insert: the database decided.
                outcome.by_constraint += isinstance(exc.__context__, IntegrityError)
        except Exception as exc:
            with lock:
                outcome.others.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def report(capsys, title: str, rounds: list[Round], rows: list[int]) -> None:
    requests = rounds[0].successes + rounds[0].codes.total() + len(rounds[0].others)
    others = [other for one in rounds for other in one.others]
    codes = Counter()
    for one in rounds:
        codes.update(one.codes)
    with capsys.disabled():
        print(
            f"\n[race/{connection.vendor}] {title}: {len(rounds)} rounds x {requests} requests"
            f"\n  rows per round:       {rows}"
            f"\n  successes per round:  {[r.successes for r in rounds]}"
            f"\n  conflicts per round:  {[dict(r.codes) for r in rounds]}"
            f"\n  conflict codes total: {dict(codes)}"
            f"\n  settled by a unique index rather than the pre-check: {sum(r.by_constraint for r in rounds)}"
            f"\n  other exceptions:     {len(others)} {others[:3]}"
        )


@pytest.fixture
def workspace(transactional_db) -> Workspace:
    return Workspace.objects.create(name="Race workspace", slug="race")


@pytest.fixture
def agents(workspace) -> list[Agent]:
    return Agent.objects.bulk_create([Agent(workspace=workspace, name=f"racer {i}") for i in range(THREADS)])


def register(workspace: Workspace, agent: Agent, number: str, channel: str = "call") -> Callable[[], object]:
    return lambda: services.trunk_register(
        workspace=workspace, actor=ACTOR, phone_number=number, agent_uuid=agent.agent_uuid, channel=channel
    )


def clear(workspace: Workspace) -> None:
    """End a round: remove what it created, through the services, so the next round starts clean."""
    for binding in ChannelBinding.objects.filter(workspace=workspace).select_related("phone_number"):
        services.binding_delete(workspace=workspace, actor=ACTOR, binding_uuid=binding.uuid)
    for number in PhoneNumber.objects.filter(workspace=workspace, source="purchased"):
        services.number_release(workspace=workspace, actor=ACTOR, phone_number_uuid=number.phone_number_uuid)


def test_twenty_registrations_of_one_number_and_channel_leave_one_row_and_nineteen_conflicts(workspace, agents, capsys):
    rounds, rows = [], []
    for n in range(ROUNDS):
        number = f"+1202555{1000 + n}"
        outcome = race([register(workspace, agent, number) for agent in agents])
        rounds.append(outcome)
        rows.append(ChannelBinding.objects.filter(phone_number__number=number, channel="call").count())
        assert PhoneNumber.objects.filter(number=number).count() == 1
        clear(workspace)
    report(capsys, "20 registrations of one (number, channel)", rounds, rows)
    assert rows == [1] * ROUNDS
    assert [r.successes for r in rounds] == [1] * ROUNDS
    assert [dict(r.codes) for r in rounds] == [{"NUMBER_ALREADY_BOUND": THREADS - 1}] * ROUNDS
    assert [r.others for r in rounds] == [[]] * ROUNDS


def test_one_agent_on_twenty_numbers_of_one_channel_gets_one_binding_and_nineteen_conflicts(workspace, agents, capsys):
    agent = agents[0]
    rounds, rows = [], []
    for n in range(ROUNDS):
        numbers = [f"+1202555{2000 + n * THREADS + i}" for i in range(THREADS)]
        outcome = race([register(workspace, agent, number) for number in numbers])
        rounds.append(outcome)
        rows.append(ChannelBinding.objects.filter(agent=agent, channel="call").count())
        # The losers' new external numbers went with their transactions.
        assert PhoneNumber.objects.filter(workspace=workspace).count() == 1
        clear(workspace)
    report(capsys, "one agent, 20 numbers, one channel", rounds, rows)
    assert rows == [1] * ROUNDS
    assert [dict(r.codes) for r in rounds] == [{"AGENT_CHANNEL_IN_USE": THREADS - 1}] * ROUNDS
    assert [r.others for r in rounds] == [[]] * ROUNDS


def test_a_number_is_never_both_purchased_and_registered_as_external(workspace, agents, capsys):
    half = THREADS // 2
    rounds, rows, both = [], [], 0
    for n in range(ROUNDS):
        number = f"+1202555{3000 + n}"
        purchases = [
            lambda number=number: services.number_add_purchased(workspace=workspace, actor=ACTOR, number=number)
        ] * half
        registrations = [register(workspace, agent, number) for agent in agents[:half]]
        calls = [call for pair in zip(purchases, registrations, strict=True) for call in pair]
        outcome = race(calls)
        rounds.append(outcome)
        rows.append(PhoneNumber.objects.filter(number=number).count())
        row = PhoneNumber.objects.get(number=number)
        bindings = ChannelBinding.objects.filter(phone_number=row).count()
        both += int(row.source == "purchased" and bindings > 0)
        clear(workspace)
    report(capsys, "10 purchases vs 10 external registrations of one number", rounds, rows)
    with capsys.disabled():
        print(f"  rounds where both succeeded: {both}")
    assert both == 0
    assert rows == [1] * ROUNDS
    assert [r.successes for r in rounds] == [1] * ROUNDS
    allowed = {"NUMBER_UNAVAILABLE", "NUMBER_IN_INVENTORY", "NUMBER_ALREADY_BOUND"}
    assert all(set(r.codes) <= allowed and r.codes.total() == THREADS - 1 for r in rounds)
    assert [r.others for r in rounds] == [[]] * ROUNDS


SPELLINGS = ["+1 202-555-{n}", "1202555{n}", "+1 (202) 555-{n}", "1.202.555.{n}", "+1 202 555 {n}", "+1202555{n}"]


def test_one_number_in_six_spellings_at_once_is_one_row(workspace, agents, capsys):
    rounds, rows = [], []
    for n in range(ROUNDS):
        last_four = str(4000 + n)
        spellings = [spelling.format(n=last_four) for spelling in SPELLINGS]
        outcome = race(
            [register(workspace, agent, spelling) for agent, spelling in zip(agents, spellings, strict=False)]
        )
        rounds.append(outcome)
        rows.append(PhoneNumber.objects.filter(number=f"+1202555{last_four}").count())
        assert ChannelBinding.objects.count() == 1
        clear(workspace)
    report(capsys, "one number in 6 spellings", rounds, rows)
    assert rows == [1] * ROUNDS
    assert [dict(r.codes) for r in rounds] == [{"NUMBER_ALREADY_BOUND": len(SPELLINGS) - 1}] * ROUNDS
    assert [r.others for r in rounds] == [[]] * ROUNDS


def test_releasing_a_number_while_its_bindings_are_deleted_never_deadlocks(workspace, agents, capsys):
    rounds, rows = [], []
    for n in range(ROUNDS):
        number = services.number_add_purchased(
            workspace=workspace, actor=ACTOR, number=f"+1202555{5000 + n}", capabilities={"sms": True}
        )
        services.call_provision(
            workspace=workspace,
            actor=ACTOR,
            agent_uuid=agents[0].agent_uuid,
            phone_number_uuid=number.phone_number_uuid,
        )
        services.sms_assign(
            workspace=workspace,
            actor=ACTOR,
            agent_uuid=agents[1].agent_uuid,
            phone_number_uuid=number.phone_number_uuid,
        )
        bindings = list(ChannelBinding.objects.filter(phone_number=number).values_list("uuid", flat=True))
        unbinds = [
            lambda uuid=uuid: services.binding_delete(workspace=workspace, actor=ACTOR, binding_uuid=uuid)
            for uuid in bindings
        ]
        release = [
            lambda key=number.phone_number_uuid: services.number_release(
                workspace=workspace, actor=ACTOR, phone_number_uuid=key
            )
        ]
        outcome = race((unbinds + release) * 3)
        rounds.append(outcome)
        rows.append(PhoneNumber.objects.filter(pk=number.pk).count() + ChannelBinding.objects.count())
        clear(workspace)
    report(capsys, "release vs unbind of its call and sms bindings (x3 each)", rounds, rows)
    assert rows == [0] * ROUNDS
    assert [r.others for r in rounds] == [[]] * ROUNDS
    assert all(set(r.codes) <= {"NOT_FOUND", "PHONE_NUMBER_NOT_FOUND"} for r in rounds)


def test_a_new_number_registered_on_call_and_whatsapp_at_once_gets_both_trunks(workspace, agents, capsys):
    rounds, rows = [], []
    for n in range(ROUNDS):
        number = f"+1202555{6000 + n}"
        outcome = race(
            [register(workspace, agents[0], number, "call"), register(workspace, agents[1], number, "whatsapp")]
        )
        rounds.append(outcome)
        rows.append(ChannelBinding.objects.filter(phone_number__number=number).count())
        assert PhoneNumber.objects.filter(number=number).count() == 1
        clear(workspace)
    report(capsys, "a new number on call and whatsapp at once", rounds, rows)
    assert rows == [2] * ROUNDS, "a sequential pair would have both succeeded"
    assert [r.successes for r in rounds] == [2] * ROUNDS
    assert [r.others for r in rounds] == [[]] * ROUNDS


def test_every_trunk_operation_at_once_on_one_number_leaves_a_consistent_inventory(workspace, agents, capsys):
    """Register, update, assign and delete on both channels of one external number, all at once.

    Afterwards the rules hold: no external number without a trunk, at most one binding per
    (number, channel) and per (agent, channel), and no request failed with anything but a domain error.
    """
    number = "+12025557000"
    rounds, rows = [], []
    for _ in range(ROUNDS):
        register(workspace, agents[0], number, "call")()
        calls = []
        for i in range(1, 5):
            calls += [
                register(workspace, agents[i], number, "whatsapp"),
                register(workspace, agents[i + 4], number, "call"),
                lambda: services.trunk_delete(workspace=workspace, actor=ACTOR, phone_number=number, channel="call"),
                lambda i=i: services.trunk_assign(
                    workspace=workspace,
                    actor=ACTOR,
                    phone_number=number,
                    channel="call",
                    agent_uuid=agents[i + 8].agent_uuid,
                ),
                lambda i=i: services.trunk_update(
                    workspace=workspace, actor=ACTOR, phone_number=number, channel="call", sip={"password": f"pw-{i}"}
                ),
            ]
        outcome = race(calls)
        rounds.append(outcome)
        external = PhoneNumber.objects.filter(workspace=workspace, source="external")
        rows.append(ChannelBinding.objects.count())
        assert not external.filter(bindings__isnull=True).exists(), "an external number outlived its last trunk"
        assert external.count() <= 1
        assert ChannelBinding.objects.filter(channel="call").count() <= 1
        clear(workspace)
    report(capsys, "register/update/assign/delete mixed on one number", rounds, rows)
    allowed = {"NUMBER_ALREADY_BOUND", "AGENT_CHANNEL_IN_USE", "TRUNK_NOT_FOUND"}
    assert all(set(r.codes) <= allowed for r in rounds), [dict(r.codes) for r in rounds]
    assert [r.others for r in rounds] == [[]] * ROUNDS
