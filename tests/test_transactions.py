"""Who takes a savepoint: a service called inside a caller's transaction takes one, so the caller
can catch its error and go on (a form showing it); inside `services.whole_transaction()` (the
API's writes) it takes none, and any failure ends the whole transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from channels_app import services
from channels_app.errors import DomainError
from channels_app.models import PhoneNumber

pytestmark = pytest.mark.django_db

API = "/api/v1"


def savepoints(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].upper().startswith("SAVEPOINT")]


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


def test_a_caller_that_catches_a_service_error_can_go_on(workspace_a, trunk_a, command_actor):
    with transaction.atomic():
        register_again(trunk_a, command_actor)
        assert PhoneNumber.objects.filter(workspace=workspace_a).count() == 1  # still usable


def test_inside_a_whole_transaction_a_service_error_ends_it(workspace_a, trunk_a, command_actor):
    with pytest.raises(DomainError), services.whole_transaction():
        register_again(trunk_a, command_actor)
        with pytest.raises(TransactionManagementError):
            PhoneNumber.objects.count()
        raise DomainError("NOT_FOUND", "ended")
    assert PhoneNumber.objects.filter(workspace=workspace_a).count() == 1  # and the outer one goes on


def test_an_api_write_takes_no_savepoint_of_its_own(client, token_a, agents_a):
    auth = {"Authorization": f"Bearer {token_a}"}
    body = {"phone_number": "+19175550100", "channel": "call"}
    with CaptureQueriesContext(connection) as created:
        response = client.post(
            f"{API}/phone-numbers/trunks",
            {**body, "agent_uuid": str(agents_a[0].agent_uuid)},
            content_type="application/json",
            headers=auth,
        )
    # The test runs in a transaction of its own, so the request's transaction is a savepoint here.
    assert response.status_code == 201
    # None of its own: a registration that a concurrent one beats learns it from INSERT ... ON
    # CONFLICT DO NOTHING, without an error to roll back.
    assert len(savepoints(created)) == 1
    inserts = [q["sql"] for q in created.captured_queries if q["sql"].upper().startswith("INSERT")]
    assert len(inserts) == 4  # number, trunk, and their audit records
    with CaptureQueriesContext(connection) as updated:
        response = client.patch(
            f"{API}/phone-numbers/trunks", {**body, "name": "renamed"}, content_type="application/json", headers=auth
        )
    assert response.status_code == 200
    assert len(savepoints(updated)) == 1
