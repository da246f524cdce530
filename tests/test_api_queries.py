"""Lists and snapshots cost a constant number of queries, whatever the page and table sizes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app import services
from tests import api_support

api = api_support.api
pytestmark = pytest.mark.django_db

# token lookup + last_used_at touch + the throttle's counter (one upsert) + COUNT + page + bindings
# (with agents)
LIST_QUERIES = 6
# token lookup + last_used_at touch + the throttle's counter + the snapshot's one statement
SNAPSHOT_QUERIES = 4


def grow(workspace, agents, actor, count: int, start: int) -> None:
    for i in range(count):
        number = services.number_add_purchased(
            workspace=workspace, actor=actor, number=f"+1202555{start + i:04d}", capabilities={"sms": True}
        )
        if i < len(agents):
            services.sms_assign(
                workspace=workspace,
                actor=actor,
                agent_uuid=agents[i].agent_uuid,
                phone_number_uuid=number.phone_number_uuid,
            )


def queries_for(api, path: str, **query) -> int:
    # A fresh touch every time: last_used_at is written at most once a minute, so clear it first.
    from channels_app.models import ApiToken

    ApiToken.objects.update(last_used_at=None)
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, query=query)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", ["/phone-numbers", "/phone-numbers/trunks", "/agents"])
def test_a_list_costs_the_same_queries_for_3_or_60_rows_and_any_page_size(
    api, workspace_a, agents_a, command_actor, path, django_assert_max_num_queries
):
    grow(workspace_a, agents_a, command_actor, 3, start=1000)
    for i in range(3):
        services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=f"+1234567{8900 + i}",
            agent_uuid=agents_a[i].agent_uuid,
            channel="whatsapp",
        )
    small = queries_for(api, path, per_page=2)
    grow(workspace_a, [], command_actor, 57, start=2000)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert api.get(path, query={"per_page": 100}).status_code == 200
    assert queries_for(api, path, per_page=100) == small <= LIST_QUERIES


def test_a_snapshot_costs_the_same_queries_with_one_or_three_bindings(
    api, workspace_a, agents_a, purchased_a, trunk_a, command_actor, django_assert_max_num_queries
):
    one = queries_for(api, f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels")
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+12345678901",
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    services.sms_assign(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[2].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    assert queries_for(api, f"/phone-numbers/{trunk_a.phone_number.phone_number_uuid}/channels") == one
    assert queries_for(api, "/phone-numbers/channels", number="+12345678901") == one
    with django_assert_max_num_queries(SNAPSHOT_QUERIES):
        api.get(f"/phone-numbers/{purchased_a.phone_number_uuid}/channels")
