"""No tenant data in shared caches: every answer to a signed-in user or a token is `Cache-Control:
no-store, private` (channels_app.middleware.PrivateResponsesMiddleware), on every self-serve URL,
the admin and every API endpoint and method; static files and the public schema and docs are not.

The URL lists are checked against the URL configurations, so a new page or endpoint that this
test does not visit fails it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern

from channels_app import urls as app_urls
from channels_app.api import urls as api_urls
from channels_app.models import ApiToken
from tests.admin_support import BINDINGS_URL, NUMBERS_URL, TOKENS_URL, change_url

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
PUBLIC_API = {"api-health", "api-schema", "api-docs", "api-not-found"}


def directives(response) -> set[str]:
    return {part.split("=")[0].strip().lower() for part in response.get("Cache-Control", "").split(",") if part}


def private(response) -> bool:
    return {"no-store", "private"} <= directives(response)


@pytest.fixture
def customer(client, customer_a):
    client.force_login(customer_a)
    return client


def self_serve_urls(trunk, purchased, token) -> dict[str, str]:
    """One URL per self-serve route, on objects of the signed-in customer's workspace."""
    trunk_base = f"/app/ws-a/numbers/{trunk.phone_number.phone_number_uuid}"
    return {
        "home": "/app/",
        "number_short_link": f"/app/numbers/{trunk.phone_number.phone_number_uuid}/",
        "workspace_home": "/app/ws-a/",
        "number_list": "/app/ws-a/numbers/",
        "trunk_register": "/app/ws-a/numbers/register/",
        "number_detail": f"{trunk_base}/",
        "trunk_update": f"{trunk_base}/call/edit/",
        "binding_assign": f"{trunk_base}/call/assign/",
        "binding_delete": f"{trunk_base}/call/delete/",
        "binding_create": f"/app/ws-a/numbers/{purchased.phone_number_uuid}/call/bind/",
        "trunk_check": f"{trunk_base}/call/check/",
        "trunk_test_call": f"{trunk_base}/call/test-call/",
        "number_explain": f"{trunk_base}/explain/",
        "token_list": "/app/ws-a/tokens/",
        "workspace_settings": "/app/ws-a/settings/",
        "token_revoke": f"/app/ws-a/tokens/{token.uuid}/revoke/",
    }


def test_every_self_serve_page_is_private_and_not_stored(customer, trunk_a, purchased_a, token_a):
    urls = self_serve_urls(trunk_a, purchased_a, ApiToken.objects.get())
    assert set(urls) == {p.name for p in app_urls.urlpatterns}, "a self-serve route this test does not visit"

    answers = {name: customer.get(url) for name, url in urls.items()}

    assert {name: r.status_code for name, r in answers.items() if r.status_code not in (200, 302)} == {}
    assert [name for name, response in answers.items() if not private(response)] == []
    # a form's answer too (here the token page's refusal of an empty form)
    assert private(customer.post(urls["token_list"], {}))


def test_admin_pages_are_private_and_not_stored(client, staff_user, trunk_a):
    client.force_login(staff_user)
    urls = ["/admin/", NUMBERS_URL, BINDINGS_URL, TOKENS_URL, change_url(trunk_a), change_url(trunk_a.phone_number)]

    answers = {url: client.get(url) for url in urls}

    assert {url: r.status_code for url, r in answers.items() if r.status_code != 200} == {}
    assert [url for url, response in answers.items() if not private(response)] == []


def api_requests(trunk, agent) -> list[tuple[str, str, str]]:
    """(route name, method, path) for every method of every authenticated API route."""
    values = {"phone_number_uuid": str(trunk.phone_number.phone_number_uuid), "agent_uuid": str(agent.agent_uuid)}
    found = []
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in PUBLIC_API:
            continue
        path = "/api/" + str(pattern.pattern)
        for name, value in values.items():
            path = path.replace(f"<str:{name}>", value)
        view = pattern.callback.cls
        for method in ("get", *WRITE_METHODS):
            if hasattr(view, method):
                found.append((pattern.name, method, path))
    return found


def test_every_api_endpoint_answers_a_token_privately_whatever_the_outcome(client, token_a, trunk_a, agent_a):
    requests = api_requests(trunk_a, agent_a)
    routes = {name for name, _, _ in requests}
    assert routes | PUBLIC_API == {p.name for p in api_urls.urlpatterns}

    answers = {
        (name, method): client.generic(
            method.upper(), path, "{}", content_type="application/json", headers={"Authorization": f"Bearer {token_a}"}
        )
        for name, method, path in requests
    }

    # 200s, and refusals of the empty body (422) or of a rule (an external number cannot be released)
    assert all(response.status_code < 500 for response in answers.values())
    assert [key for key, response in answers.items() if not private(response)] == []


def test_static_files_and_the_public_schema_and_docs_stay_cacheable(customer):
    for url in ("/static/channels_app/css/app.css", "/api/v1/schema", "/api/docs"):
        response = customer.get(url)  # signed in: the session cookie goes along
        assert response.status_code == 200, url
        assert "no-store" not in directives(response), url


def test_anonymous_pages_are_left_as_they_are(db):
    anonymous = Client()
    assert "no-store" not in directives(anonymous.get("/app/"))  # a redirect to the login page
    assert "no-store" in directives(anonymous.get("/accounts/login/"))  # Django's own never_cache
    unauthenticated = anonymous.get("/api/v1/agents")
    assert unauthenticated.status_code == 401 and not private(unauthenticated)
