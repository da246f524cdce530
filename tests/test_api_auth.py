"""Bearer tokens: exact 401 bodies, no query for a malformed token, scopes, last_used_at."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import services, tokens
from channels_app.audit import Actor, Door
from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests import api_support
from tests.api_support import INSUFFICIENT_SCOPE, INVALID_AUTH, MISSING_AUTH, ApiClient

api, api_read, anonymous = api_support.api, api_support.api_read, api_support.anonymous

pytestmark = pytest.mark.django_db

_VALID = tokens.generate()

MALFORMED = [
    "garbage",
    "tka_short",
    _VALID[:-1] + ("A" if _VALID[-1] != "A" else "B"),  # checksum broken
    tokens.generate() + "x",
    "tka_" + "é" * 49,
]


def test_a_request_without_authorization_header_is_refused_with_missing_auth_token(anonymous):
    response = anonymous.get("/phone-numbers")
    assert response.status_code == 401
    assert response.json() == MISSING_AUTH
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("raw", MALFORMED)
def test_a_malformed_token_is_refused_without_any_database_query(client, raw, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = ApiClient(client, raw).get("/phone-numbers")
    assert response.status_code == 401
    assert response.json() == INVALID_AUTH


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc", "bearer"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_invalid(client, header, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/v1/agents", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == INVALID_AUTH


def test_an_unknown_well_formed_token_is_refused(client, workspace_a):
    response = ApiClient(client, tokens.generate()).get("/phone-numbers")
    assert response.status_code == 401
    assert response.json() == INVALID_AUTH


def test_an_expired_token_is_refused(client, workspace_a, token_a):
    ApiToken.objects.filter(workspace=workspace_a).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = ApiClient(client, token_a).get("/phone-numbers")
    assert response.status_code == 401
    assert response.json() == INVALID_AUTH


def test_a_revoked_token_is_refused(client, workspace_a, token_a):
    token = ApiToken.objects.get(workspace=workspace_a)
    services.token_revoke(workspace=workspace_a, actor=Actor(door=Door.COMMAND), token_uuid=token.uuid)
    response = ApiClient(client, token_a).get("/phone-numbers")
    assert response.status_code == 401
    assert response.json() == INVALID_AUTH


def test_a_token_not_yet_expired_is_accepted(client, workspace_a, token_a):
    ApiToken.objects.filter(workspace=workspace_a).update(expires_at=timezone.now() + timedelta(days=1))
    assert ApiClient(client, token_a).get("/phone-numbers").status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(api, workspace_a):
    assert api.get("/agents").status_code == 200
    token = ApiToken.objects.get(workspace=workspace_a)
    first = token.last_used_at
    assert first is not None
    assert api.get("/agents").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(seconds=61))
    assert api.get("/agents").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(seconds=61)


def test_a_read_only_token_can_read(api_read, purchased_a):
    assert api_read.get("/phone-numbers").status_code == 200
    assert api_read.get(f"/phone-numbers/{purchased_a.phone_number_uuid}/channels").status_code == 200


def test_a_read_only_token_is_refused_on_every_write_and_nothing_changes(
    api_read, agents_a, purchased_a, trunk_a, django_assert_max_num_queries
):
    number = str(trunk_a.phone_number.number)
    agent = str(agents_a[1].agent_uuid)
    uuid = purchased_a.phone_number_uuid
    register = {"phone_number": "+12025550188", "agent_uuid": agent, "channel": "call"}
    writes = [
        ("PATCH", f"/phone-numbers/{uuid}", {"channel_settings": {"voice": {"enabled": False}}}, None),
        ("POST", f"/phone-numbers/{uuid}/release", None, None),
        ("POST", "/phone-numbers/trunks", register, None),
        ("PATCH", "/phone-numbers/trunks", {"phone_number": number, "channel": "call", "name": "x"}, None),
        ("PUT", "/phone-numbers/trunks/assign", {"phone_number": number, "channel": "call", "agent_uuid": agent}, None),
        ("DELETE", "/phone-numbers/trunks", None, {"phone_number": number, "channel": "call"}),
        ("POST", "/phone-numbers/trunks/check", {"phone_number": number, "channel": "call"}, None),
        ("POST", f"/agents/{agent}/channels/sms", {"phone_number_uuid": str(uuid)}, None),
        ("POST", f"/agents/{agent}/channels/call/provision", {"phone_number_uuid": str(uuid)}, None),
    ]
    before = (PhoneNumber.objects.count(), list(ChannelBinding.objects.values_list("pk", "agent_id", "name")))
    for method, path, body, query in writes:
        response = api_read.request(method, path, body, query=query)
        assert (method, path, response.status_code) == (method, path, 403)
        assert response.json() == INSUFFICIENT_SCOPE
    after = (PhoneNumber.objects.count(), list(ChannelBinding.objects.values_list("pk", "agent_id", "name")))
    assert after == before


def test_health_needs_no_token(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "OK", "data": {"database": "ok", "encryption": "ok"}}
