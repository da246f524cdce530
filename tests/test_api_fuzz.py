"""schemathesis against our own OpenAPI document: every operation, at least 100 examples each
(except GET /health, which takes no input and so has only its ten or so distinct cases),
authenticated with a read_write token, positive and negative data, schemathesis' default checks.
Zero 5xx, zero responses that violate the schema (status codes, headers, content types, bodies).

The requests go through Django's WSGI handler in-process, so each example costs milliseconds.
Half of the positive examples aim at real objects of the workspace (their uuids replace the
generated ones, and the trunk check's `phone_number` becomes the workspace's call trunk), so
success bodies are validated too, not only the 404s.

The trunk check sends real SIP datagrams, so the run must never probe the internet or wait on
it: the fuzzed trunk's gateway is a documentation address (192.0.2.0/24, RFC 5737), which the
address policy refuses at once, without a name lookup or a packet, and the once-per-30-s limit
is lifted so every aimed check runs and its 200 body is validated. The test call is aimed the same way:
the address policy refuses its gateway before anything is sent, and its 200 report is validated.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.config import SchemathesisConfig

from channels_app import services
from channels_app.audit import Actor
from channels_app.models import Agent

pytestmark = pytest.mark.django_db

EXAMPLES = 100
# Schema-valid input may still break a rule JSON Schema cannot express (validity under the pinned
# phonenumbers metadata, a blank name, an unknown country code, 16 KiB of settings, sms on a trunk):
# that is a 422 with its code, so positive data may be answered 422 as well as 2xx/401/403/404/409.
POSITIVE_STATUSES = ["2xx", "401", "403", "404", "409", "422", "429"]


def config_for(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        }
    )


STATUSES: Counter = Counter()
PER_OPERATION: Counter = Counter()


# A TEST-NET-1 address: refused by the trunk check's address policy before anything is sent.
UNROUTABLE_GATEWAY = "192.0.2.10"


@pytest.fixture
def api_schema(token_a, workspace_a, agents_a, purchased_a, purchased_a_voice_only, trunk_a, settings):
    settings.API_THROTTLE_RATE = None  # thousands of requests in seconds are the point here
    settings.SIP_CHECK_ALLOW_PRIVATE = False  # whatever the environment says: no packet leaves
    settings.SIP_CHECK_MIN_INTERVAL_SECONDS = 0  # every aimed check runs, so its 200 is validated
    services.trunk_update(
        workspace=workspace_a,
        actor=Actor.command("fuzz"),
        phone_number=trunk_a.phone_number.e164,
        channel="call",
        sip={"gateway": UNROUTABLE_GATEWAY},
    )
    # As Django's test client does: keep the test's connection (and its transaction) open
    # across in-process WSGI requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application(), config=config_for(token_a))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def trunk_number(workspace) -> str:
    binding = workspace.bindings.filter(channel="call", is_trunk=True).select_related("phone_number").first()
    return binding.phone_number.e164 if binding else "+12345678901"


_turn = itertools.count()


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema_for_generated_requests(case, workspace_a):
    positive = case._meta is None or case._meta.generation.mode.is_positive
    turn = next(_turn)
    if positive and turn % 2 == 0:
        # Aim at a real number and agent of the workspace, so success bodies are validated too.
        numbers = list(workspace_a.phone_numbers.order_by("pk").values_list("phone_number_uuid", flat=True))
        agents = list(Agent.objects.filter(workspace=workspace_a).order_by("pk").values_list("agent_uuid", flat=True))
        real = {"phone_number_uuid": numbers, "agent_uuid": agents}
        for name in case.path_parameters:
            if real.get(name):
                case.path_parameters[name] = str(real[name][turn // 2 % len(real[name])])
        if case.operation.path == "/api/v1/phone-numbers/trunks/check" and isinstance(case.body, dict):
            case.body["phone_number"] = trunk_number(workspace_a)
        if case.operation.path == "/api/v1/phone-numbers/trunks/test-call" and isinstance(case.body, dict):
            # The trunk's gateway is refused by the address policy: a 200 report, nothing sent.
            case.body.update(phone_number=trunk_number(workspace_a), to="+14155550142")
    response = case.call_and_validate()
    STATUSES[response.status_code] += 1
    PER_OPERATION[case.operation.label] += 1
    assert response.status_code < 500


def test_every_operation_was_exercised_at_least_100_times(capsys):
    if not PER_OPERATION:
        pytest.skip("runs after the fuzz test in the same session")
    lines = [f"  {count:5d}  {operation}" for operation, count in sorted(PER_OPERATION.items())]
    with capsys.disabled():
        print(
            f"\n[api fuzz, {connection.vendor}] {sum(PER_OPERATION.values())} requests over {len(PER_OPERATION)} "
            f"operations; statuses {dict(sorted(STATUSES.items()))}; "
            f"5xx: {sum(n for s, n in STATUSES.items() if s >= 500)}\n" + "\n".join(lines)
        )
    assert len(PER_OPERATION) == 18
    # GET /health takes no input at all: its handful of distinct cases are all generated.
    with_inputs = {op: n for op, n in PER_OPERATION.items() if op != "GET /api/v1/health"}
    assert min(with_inputs.values()) >= EXAMPLES, PER_OPERATION
    assert not any(status >= 500 for status in STATUSES)
