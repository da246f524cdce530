"""Requests cost the same number of queries at 5 and at 60 numbers, and the queries behind lists
and snapshots are answered by indexes: nothing reads or sorts a whole workspace.

The timings live in docs/performance.md (produced by `make bench`); this file guards what is
deterministic. Query counts leave out the token's `last_used_at` write (at most once a minute):
each API request here is made with a token used moments ago.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app import selectors, services, tokens
from channels_app.audit import Actor
from channels_app.models import Agent, ApiToken, ChannelBinding, PhoneNumber
from channels_app.selectors import sql
from tests.admin_support import BINDINGS_URL, NUMBERS_URL

pytestmark = pytest.mark.django_db

API = "/api/v1"
PAGES = "/app/ws-a"
FEW, MANY = 5, 60
TARGET = "+12345678901"  # trunk_a's number: the snapshot the tests read


def grow(workspace, count: int, start: int) -> None:
    """`count` numbers bound the way bench/data.py binds them, each with its own agent: even ones
    external with a call trunk (credentials set) and a WhatsApp trunk, odd ones purchased and
    SMS-capable, bound on call and on sms."""
    actor = Actor.command("tests")
    for i in range(start, start + count):
        agent = Agent.objects.create(workspace=workspace, name=f"agent {i:03d}")
        if i % 2 == 0:
            for channel, sip in (
                ("call", {"gateway": "sip.example.com", "username": "u", "password": "p"}),
                ("whatsapp", None),
            ):
                services.trunk_register(
                    workspace=workspace,
                    actor=actor,
                    phone_number=f"+1212200{i:04d}",
                    agent_uuid=agent.agent_uuid,
                    channel=channel,
                    **({"sip": sip} if sip else {}),
                )
        else:
            number = services.number_add_purchased(
                workspace=workspace, actor=actor, number=f"+1312200{i:04d}", capabilities={"sms": True}
            )
            services.call_provision(
                workspace=workspace,
                actor=actor,
                agent_uuid=agent.agent_uuid,
                phone_number_uuid=number.phone_number_uuid,
            )
            services.sms_assign(
                workspace=workspace,
                actor=actor,
                agent_uuid=agent.agent_uuid,
                phone_number_uuid=number.phone_number_uuid,
            )


def queries(request: Callable[[], object]) -> int:
    """Queries made by one request (which must succeed), the token's once-a-minute write aside."""
    ApiToken.objects.update(last_used_at=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code in (200, 201), getattr(response, "content", b"")[:500]
    return len(captured.captured_queries)


@pytest.fixture
def doors(client, token_a, customer_a, staff_user):
    """GET callables for the API (Bearer token), the self-serve pages and the staff admin."""
    from django.test import Client

    pages, admin = Client(), Client()
    pages.force_login(customer_a)
    admin.force_login(staff_user)
    auth = {"Authorization": f"Bearer {token_a}"}
    return {
        "api": lambda path, **query: client.get(API + path, query, headers=auth),
        "pages": lambda path, **query: pages.get(PAGES + path, query),
        "admin": lambda path, **query: admin.get(path, query),
    }


def read_requests(doors, workspace, trunk) -> dict[str, Callable[[], object]]:
    """Every list and snapshot read, named; filters use rows that exist at both sizes."""
    api, pages, admin = doors["api"], doors["pages"], doors["admin"]
    uuid = trunk.phone_number.phone_number_uuid
    agent = trunk.agent
    return {
        "api numbers": lambda: api("/phone-numbers"),
        "api numbers, 100 a page": lambda: api("/phone-numbers", per_page=100),
        "api numbers, page 2": lambda: api("/phone-numbers", page=2, per_page=3),
        "api numbers by source": lambda: api("/phone-numbers", source="external"),
        "api numbers by channel": lambda: api("/phone-numbers", channel="call"),
        "api numbers by agent": lambda: api("/phone-numbers", agent_uuid=str(agent.agent_uuid)),
        "api numbers by search": lambda: api("/phone-numbers", search="1212200"),
        "api trunks": lambda: api("/phone-numbers/trunks", per_page=100),
        "api trunks by channel": lambda: api("/phone-numbers/trunks", channel="whatsapp"),
        "api agents": lambda: api("/agents", per_page=100),
        "api snapshot by uuid": lambda: api(f"/phone-numbers/{uuid}/channels"),
        "api snapshot by number": lambda: api("/phone-numbers/channels", number="+1 (234) 567-8901"),
        "api events": lambda: api(f"/phone-numbers/{uuid}/events"),
        "pages numbers": lambda: pages("/numbers/"),
        "pages numbers by search": lambda: pages("/numbers/", search="1212200"),
        "pages numbers by agent": lambda: pages("/numbers/", agent=str(agent.agent_uuid)),
        "pages numbers by channel": lambda: pages("/numbers/", channel="whatsapp"),
        "pages number detail": lambda: pages(f"/numbers/{uuid}/"),
        "admin numbers": lambda: admin(NUMBERS_URL),
        "admin numbers, search by number": lambda: admin(NUMBERS_URL, q="+1 (234) 567-8901"),
        "admin numbers, search by digits": lambda: admin(NUMBERS_URL, q="1212200"),
        "admin numbers of a workspace": lambda: admin(NUMBERS_URL, workspace__id__exact=workspace.pk),
        "admin numbers of an agent": lambda: admin(NUMBERS_URL, agent=agent.pk),
        "admin bindings": lambda: admin(BINDINGS_URL),
        "admin bindings, search by number": lambda: admin(BINDINGS_URL, q="+1 (234) 567-8901"),
        "admin agents": lambda: admin("/admin/channels_app/agent/"),
    }


# The most each read may cost (docs/performance.md lists them per request). API lists: token, the
# throttle's counter (one upsert), total, page, agents of the page; snapshots: token, counter and
# one; pages and admin: session, user and the page's own few.
MAX_QUERIES = {
    "api": 5,
    "pages": 8,
    "admin": 7,
}


def test_every_list_and_snapshot_costs_the_same_queries_at_5_and_at_60_numbers(doors, workspace_a, trunk_a):
    requests = read_requests(doors, workspace_a, trunk_a)
    grow(workspace_a, FEW, start=0)
    few = {name: queries(request) for name, request in requests.items()}
    grow(workspace_a, MANY - FEW, start=FEW)
    many = {name: queries(request) for name, request in requests.items()}
    assert PhoneNumber.objects.filter(workspace=workspace_a).count() == MANY + 1
    assert many == few
    too_many = {name: count for name, count in many.items() if count > MAX_QUERIES[name.split()[0]]}
    assert too_many == {}


def test_the_unfiltered_lists_never_count_their_rows(doors, workspace_a, trunk_a):
    grow(workspace_a, FEW, start=0)
    for path in ("/phone-numbers", "/phone-numbers/trunks"):
        ApiToken.objects.update(last_used_at=timezone.now())
        with CaptureQueriesContext(connection) as captured:
            assert doors["api"](path).status_code == 200
        counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts == [], counts
        assert all("channels_app_inventorycount" in q["sql"] for q in captured if "SUM(" in q["sql"].upper())


def test_a_trunk_write_costs_the_same_queries_at_5_and_at_60_numbers(client, token_a, workspace_a, agents_a):
    auth = {"Authorization": f"Bearer {token_a}"}

    def cycle(number: str) -> dict[str, int]:
        body = {"phone_number": number, "channel": "call"}
        return {
            "create": queries(
                lambda: client.post(
                    f"{API}/phone-numbers/trunks",
                    {**body, "agent_uuid": str(agents_a[0].agent_uuid), "sip": {"gateway": "sip.example.com"}},
                    content_type="application/json",
                    headers=auth,
                )
            ),
            "update": queries(
                lambda: client.patch(
                    f"{API}/phone-numbers/trunks",
                    {**body, "sip": {"password": "changed"}},
                    content_type="application/json",
                    headers=auth,
                )
            ),
            "assign": queries(
                lambda: client.put(
                    f"{API}/phone-numbers/trunks/assign",
                    {**body, "agent_uuid": str(agents_a[1].agent_uuid)},
                    content_type="application/json",
                    headers=auth,
                )
            ),
            "delete": queries(
                lambda: client.delete(
                    f"{API}/phone-numbers/trunks?phone_number=%2B19175550100&channel=call", headers=auth
                )
            ),
        }

    grow(workspace_a, FEW, start=0)
    few = cycle("+19175550100")
    grow(workspace_a, MANY - FEW, start=FEW)
    assert cycle("+19175550100") == few


# --- query plans ------------------------------------------------------------------------------------

INVENTORY_TABLES = ("channels_app_phonenumber", "channels_app_channelbinding", "channels_app_agent")


def plan(query) -> str:
    """The query plan of a queryset or of a statement (SQL, params), made deterministic:
    PostgreSQL is told to avoid sequential scans and sorts when it can (on a few rows it would
    rightly prefer them), so what remains is what no index can serve. SQLite's planner does not
    weigh table sizes without ANALYZE statistics."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    if not isinstance(query, tuple):
        text = query.explain(costs=False) if connection.vendor == "postgresql" else query.explain()
    else:
        statement, params = query
        prefix = "EXPLAIN (COSTS OFF) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cursor:
            cursor.execute(prefix + statement, params)
            rows = cursor.fetchall()
        text = "\n".join(row[0] if connection.vendor == "postgresql" else " ".join(map(str, row)) for row in rows)
    if connection.vendor == "postgresql":
        return text
    # Each line is "id parent notused detail"; the ids depend on the query's length, not its plan.
    return "\n".join(re.sub(r"^\d+ \d+ \d+ ", "", line) for line in text.splitlines())


def whole_table_work(text: str) -> list[str]:
    """Plan lines that read a whole inventory table or sort rows in memory."""
    found = []
    for line in text.splitlines():
        if connection.vendor == "postgresql":
            # An Incremental Sort only orders rows an index already grouped (agents of one name by id).
            if re.search(r"\bSeq Scan\b|(?<!Incremental )\bSort\b", line) and "Sort Key" not in line:
                found.append(line.strip())
        # "SCAN t USING INDEX" walks an index in order and stops at the LIMIT; a bare SCAN reads it all.
        elif "TEMP B-TREE" in line or re.search(rf"\bSCAN ({'|'.join(INVENTORY_TABLES)})\b(?! USING)", line):
            found.append(line.strip())
    return found


def key_queries(workspace, trunk) -> dict[str, object]:
    """The queries behind the lists, the snapshots, the count, the token, the admin search and the
    look-ups of every write: the explicit statements (with their parameters) and the querysets."""
    number = trunk.phone_number
    ws = workspace.pk
    listing = sql.NumberListing(workspace_id=ws)
    page_ids = [n.pk for n in listing[0:15]]

    def number_param(name, value):
        return PhoneNumber._meta.get_field(name).get_db_prep_value(value, connection)

    def listed(**filters):
        return sql.NumberListing(workspace_id=ws, **filters).page_sql(limit=15, offset=0)

    return {
        "number list page": listed(),
        "number list page of a source": listed(source="purchased"),
        "trunk list page": listed(source="external"),
        "number list page by channel": listed(channel="call"),
        "number list page by agent": listed(agent_uuid=trunk.agent.agent_uuid),
        "bindings of a list page": (sql.listed_bindings_statement(len(page_ids)), page_ids),
        "list total": listing.count_sql(),
        "list total by channel": sql.NumberListing(workspace_id=ws, channel="call").count_sql(),
        "snapshot by uuid": (
            sql.number_statement("phone_number_uuid"),
            [ws, number_param("phone_number_uuid", number.phone_number_uuid)],
        ),
        "snapshot by number": (sql.number_statement("number"), [ws, number_param("number", number.e164)]),
        "token": ApiToken.objects.filter(token_hash=tokens.hash_token("tka_x"), revoked_at__isnull=True).order_by(),
        "agents of a workspace": selectors.agent_list(workspace=workspace)[:100],
        "admin search by number": PhoneNumber.objects.filter(number=number.e164).order_by("number"),
        "admin changelist page": PhoneNumber.objects.order_by("number")[:50],
        "write: the agent and whether it serves the channel": Agent.objects.filter(
            workspace=workspace, agent_uuid=trunk.agent.agent_uuid
        ).annotate(serving=Exists(ChannelBinding.objects.filter(agent=OuterRef("pk"), channel="call"))),
        "write: the number, locked": PhoneNumber.objects.select_for_update().filter(number=number.e164),
        "write: the trunk, locked": ChannelBinding.objects.select_related("phone_number", "agent").filter(
            workspace=workspace, phone_number__number=number.e164, channel="call", is_trunk=True
        ),
        "write: the number's binding on a channel": ChannelBinding.objects.filter(phone_number=number, channel="call"),
        "write: the agent's binding on a channel": ChannelBinding.objects.filter(agent=trunk.agent, channel="call"),
    }


def test_lists_snapshots_and_lookups_are_served_by_indexes_at_any_size(workspace_a, trunk_a):
    grow(workspace_a, FEW, start=0)
    few = {name: plan(qs) for name, qs in key_queries(workspace_a, trunk_a).items()}
    grow(workspace_a, MANY - FEW, start=FEW)
    many = {name: plan(qs) for name, qs in key_queries(workspace_a, trunk_a).items()}
    assert {name: whole_table_work(text) for name, text in many.items() if whole_table_work(text)} == {}
    if connection.vendor == "sqlite":  # PostgreSQL's plans name the literal values; SQLite's are the shape
        assert many == few


# --- pages that do not grow with the agents ------------------------------------------------------------
# An agent serves one number per channel, so agents grow with the inventory: no page lists them all.


def test_the_self_serve_agent_filter_offers_its_limit_of_agents_and_keeps_the_chosen_one(
    doors, workspace_a, agents_a, trunk_a, monkeypatch
):
    from channels_app.views.numbers import NumberListView

    monkeypatch.setattr(NumberListView, "agent_filter_limit", 2)
    html = doors["pages"]("/numbers/").content.decode()
    assert "A agent 1" in html and "A agent 2" in html and "A agent 3" not in html
    assert "The first 2 agents by name." in html
    chosen = doors["pages"]("/numbers/", agent=str(agents_a[2].agent_uuid))
    assert chosen.status_code == 200
    assert [str(number.number) for number in chosen.context["object_list"]] == []
    assert f'<option value="{agents_a[2].agent_uuid}" selected>A agent 3</option>' in chosen.content.decode()


def test_a_whole_number_searched_in_the_admin_is_one_indexed_lookup(doors, trunk_a):
    with CaptureQueriesContext(connection) as captured:
        response = doors["admin"](NUMBERS_URL, q="+1 (234) 567-8901")
    assert [str(number.number) for number in response.context["cl"].result_list] == [TARGET]
    assert not [q["sql"] for q in captured.captured_queries if "LIKE" in q["sql"].upper()]
