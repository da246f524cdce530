"""The inventory counters (migration 0004) always equal a count of the rows, whatever wrote them.

The lists read their totals from them (NumberListing.count through selectors.number_list), so a drift would be a wrong
`total` in the API and on the numbers page.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.db.models import Count

from channels_app import selectors, services
from channels_app.audit import Actor
from channels_app.models import Agent, InventoryCount, PhoneNumber, Source, Workspace

pytestmark = pytest.mark.django_db


def counted(workspace: Workspace) -> dict[str | None, int]:
    return {
        None: selectors.number_list(workspace=workspace).count(),
        **{source: selectors.number_list(workspace=workspace, source=source).count() for source in Source.values},
    }


def actual(workspace: Workspace) -> dict[str | None, int]:
    rows = dict(
        PhoneNumber.objects.filter(workspace=workspace).values_list("source").annotate(n=Count("id")).order_by()
    )
    return {None: sum(rows.values()), **{source: rows.get(source, 0) for source in Source.values}}


def test_the_counters_follow_every_service_that_adds_or_removes_a_number(
    workspace_a, workspace_b, agents_a, purchased_a, purchased_b, trunk_a, command_actor
):
    assert counted(workspace_a) == actual(workspace_a) == {None: 2, "purchased": 1, "external": 1}
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+12345678901",
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )  # a second trunk on the same number: no new number
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+14155552671",
        agent_uuid=agents_a[2].agent_uuid,
        channel="call",
    )
    assert counted(workspace_a) == actual(workspace_a) == {None: 3, "purchased": 1, "external": 2}
    services.trunk_delete(workspace=workspace_a, actor=command_actor, phone_number="+12345678901", channel="call")
    assert counted(workspace_a)["external"] == 2  # the WhatsApp trunk keeps the number
    services.trunk_delete(workspace=workspace_a, actor=command_actor, phone_number="+12345678901", channel="whatsapp")
    services.number_release(workspace=workspace_a, actor=command_actor, phone_number_uuid=purchased_a.phone_number_uuid)
    assert counted(workspace_a) == actual(workspace_a) == {None: 1, "purchased": 0, "external": 1}
    assert counted(workspace_b) == actual(workspace_b) == {None: 1, "purchased": 1, "external": 0}


def test_the_counters_follow_bulk_inserts_deletes_and_moves_that_bypass_the_services(workspace_a, workspace_b):
    PhoneNumber.objects.bulk_create(
        [PhoneNumber(workspace=workspace_a, number=f"+1212200{i:04d}", source=Source.PURCHASED) for i in range(30)]
    )
    assert counted(workspace_a) == actual(workspace_a) == {None: 30, "purchased": 30, "external": 0}
    PhoneNumber.objects.filter(number__endswith="1").delete()
    PhoneNumber.objects.filter(number__endswith="2").update(workspace=workspace_b)
    PhoneNumber.objects.filter(number__endswith="3").update(source=Source.EXTERNAL, monthly_fee=0)
    PhoneNumber.objects.filter(number__endswith="4").update(source=Source.PURCHASED)  # no change: no move
    assert counted(workspace_a) == actual(workspace_a) == {None: 24, "purchased": 21, "external": 3}
    assert counted(workspace_b) == actual(workspace_b) == {None: 3, "purchased": 3, "external": 0}


def test_a_list_total_is_the_counters_and_a_filtered_total_counts_its_rows(workspace_a, agents_a, trunk_a):
    PhoneNumber.objects.bulk_create(
        [PhoneNumber(workspace=workspace_a, number=f"+1212200{i:04d}", source=Source.PURCHASED) for i in range(4)]
    )
    assert selectors.number_list(workspace=workspace_a).count() == 5
    assert selectors.trunk_list(workspace=workspace_a).count() == 1
    assert selectors.number_list(workspace=workspace_a, search="1212200").count() == 4
    assert selectors.number_list(workspace=workspace_a, channel="call").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_write_their_own_stripes_and_the_total_adds_up():
    if connection.vendor != "postgresql":
        pytest.skip("striped counters are PostgreSQL's; SQLite has one writer at a time")
    workspace = Workspace.objects.create(name="Stripes", slug="stripes")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def register(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(5):
                agent = Agent.objects.create(workspace=workspace, name=f"agent {worker}-{i}")
                services.trunk_register(
                    workspace=workspace,
                    actor=Actor.command("tests"),
                    phone_number=f"+1212300{worker}{i:03d}",
                    agent_uuid=agent.agent_uuid,
                    channel="call",
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert counted(workspace) == actual(workspace) == {None: 20, "purchased": 0, "external": 20}
    assert InventoryCount.objects.filter(workspace=workspace).count() > 1  # one stripe per connection
