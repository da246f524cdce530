"""Transactions of a write: a service called inside a caller's transaction takes a savepoint, so
the caller can catch its error and go on (a form showing it, an import reporting a row), and a
refused write leaves nothing behind, whichever statement refused it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_app import services
from channels_app.errors import DomainError
from channels_app.models import ChannelBinding, PhoneNumber, RequestCounter

pytestmark = pytest.mark.django_db

API = "/api/v1"


def register_again(trunk, actor) -> None:
    """Register the trunk's number on its channel once more: NUMBER_ALREADY_BOUND."""
    with pytest.raises(DomainError):
        services.trunk_register(
            workspace=trunk.workspace,
            actor=actor,
            phone_number=trunk.phone_number.e164,
            agent_uuid=trunk.agent.agent_uuid,
            channel=trunk.channel,
        )


def rows_and_history() -> tuple[int, int, int, int]:
    return (
        PhoneNumber.objects.count(),
        ChannelBinding.objects.count(),
        PhoneNumber.history.count(),
        ChannelBinding.history.count(),
    )


def test_a_caller_that_catches_a_service_error_can_go_on(workspace_a, trunk_a, command_actor):
    with transaction.atomic():
        register_again(trunk_a, command_actor)
        assert PhoneNumber.objects.filter(workspace=workspace_a).count() == 1  # still usable


def test_a_service_refused_after_its_first_insert_undoes_that_insert(workspace_a, agents_a, trunk_a, command_actor):
    # The number is new (inserted), then the agent is found serving a number on call: the
    # registration is refused and the new number is gone with it.
    before = rows_and_history()
    with transaction.atomic():
        with pytest.raises(DomainError) as refused:
            services.trunk_register(
                workspace=workspace_a,
                actor=command_actor,
                phone_number="+19175550100",
                agent_uuid=trunk_a.agent.agent_uuid,
                channel="call",
            )
        assert refused.value.code == "AGENT_CHANNEL_IN_USE"
        assert rows_and_history() == before


def test_an_api_write_is_one_transaction_and_a_refused_one_writes_nothing(client, token_a, agents_a, trunk_a):
    auth = {"Authorization": f"Bearer {token_a}"}
    body = {"phone_number": "+19175550100", "channel": "call"}
    with CaptureQueriesContext(connection) as created:
        response = client.post(
            f"{API}/phone-numbers/trunks",
            {**body, "agent_uuid": str(agents_a[1].agent_uuid)},
            content_type="application/json",
            headers=auth,
        )
    assert response.status_code == 201
    inserts = [q["sql"] for q in created.captured_queries if q["sql"].upper().startswith("INSERT")]
    counter = RequestCounter._meta.db_table  # the throttle's count of the request, not part of the write
    assert len([sql for sql in inserts if counter not in sql]) == 4  # number, trunk, and their audit records
    before = rows_and_history()
    refused = client.post(
        f"{API}/phone-numbers/trunks",
        {"phone_number": "+19175550101", "channel": "call", "agent_uuid": str(trunk_a.agent.agent_uuid)},
        content_type="application/json",
        headers=auth,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "AGENT_CHANNEL_IN_USE"
    assert rows_and_history() == before
