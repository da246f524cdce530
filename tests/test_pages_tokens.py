"""Self-serve API token page: create (shown once), list, revoke with confirmation."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels_app import selectors, services, tokens
from channels_app.models import ApiToken

pytestmark = pytest.mark.django_db

TOKENS = "/app/ws-a/tokens/"


@pytest.fixture
def logged_in(client, customer_a):
    client.force_login(customer_a)
    return client


def shown_tokens(html: str) -> list[str]:
    return re.findall(r"tka_[A-Za-z0-9_-]{49}", html)


def nonce_in(html: str) -> str:
    """The one-time value of the create form on a page."""
    return re.search(r'<input type="hidden" name="nonce" value="([A-Za-z0-9_-]{43})"', html).group(1)


def form(client, **fields) -> dict[str, str]:
    """The create form as the page shows it (with its nonce), filled in with `fields`."""
    return {"nonce": nonce_in(client.get(TOKENS).content.decode()), **fields}


def test_a_new_token_is_shown_exactly_once_and_only_its_hash_is_stored(logged_in, customer_a):
    response = logged_in.post(TOKENS, form(logged_in, name="CRM sync", scope="read_write", expires_in="90"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (plaintext,) = shown_tokens(html)
    assert html.count(plaintext) == 1
    assert tokens.is_well_formed(plaintext)
    assert "Copy your new token now" in html
    assert 'data-copy="#new-token-value"' in html

    token = ApiToken.objects.get(name="CRM sync")
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (token.scope, token.created_by, token.prefix) == ("read_write", customer_a, plaintext[:10])
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert selectors.token_by_secret(plaintext) == token

    with connection.cursor() as cursor:
        for table in ("channels_app_apitoken", "channels_app_historicalapitoken", "django_session"):
            cursor.execute(f"SELECT * FROM {table}")
            assert plaintext not in repr(cursor.fetchall()), table

    again = logged_in.get(TOKENS).content.decode()
    assert shown_tokens(again) == []
    assert "CRM sync" in again and plaintext[:10] in again


def test_posting_the_same_form_again_creates_nothing_and_shows_nothing(logged_in, customer_a):
    posted = form(logged_in, name="CRM sync", scope="read_write", expires_in="90")
    first = logged_in.post(TOKENS, posted)
    (plaintext,) = shown_tokens(first.content.decode())

    again = logged_in.post(TOKENS, posted)  # what a reload of the answer sends

    assert again.status_code == 302 and again["Location"] == TOKENS
    assert shown_tokens(again.content.decode()) == []
    listed = logged_in.get(TOKENS)
    html = listed.content.decode()
    assert "“CRM sync” was already created by this form, so nothing new was created." in html
    assert shown_tokens(html) == [] and plaintext[:10] in html  # listed by its prefix, never in full
    token = ApiToken.objects.get()
    assert token.history.count() == 1
    assert nonce_in(html) != posted["nonce"]  # the page offers a fresh form
    with connection.cursor() as cursor:
        for table in ("channels_app_apitoken", "channels_app_historicalapitoken", "django_session"):
            cursor.execute(f"SELECT * FROM {table}")
            assert plaintext not in repr(cursor.fetchall()), table


def test_a_fresh_form_creates_another_token(logged_in):
    logged_in.post(TOKENS, form(logged_in, name="first", scope="read", expires_in="30"))
    second = logged_in.post(TOKENS, form(logged_in, name="second", scope="read", expires_in="30"))

    assert len(shown_tokens(second.content.decode())) == 1
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["first", "second"]


def test_a_form_without_its_one_time_value_creates_nothing_and_is_shown_afresh(logged_in):
    for nonce in (None, "", "not-a-nonce", "x" * 44):
        data = {"name": "stale page", "scope": "read", "expires_in": "30"}
        if nonce is not None:
            data["nonce"] = nonce
        response = logged_in.post(TOKENS, data)
        assert response.status_code == 302 and response["Location"] == TOKENS, nonce
        assert "This form was out of date. Please fill it in again." in logged_in.get(TOKENS).content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_form_posted_twice_at_once_creates_one_token(customer_a):
    import threading

    from django.db import connections
    from django.test import Client

    clients = [Client(), Client()]
    for client in clients:
        client.force_login(customer_a)
    posted = form(clients[0], name="double click", scope="read", expires_in="30")
    start = threading.Barrier(len(clients))
    answers: list[tuple[int, int]] = []

    def post(client):
        try:
            start.wait()
            response = client.post(TOKENS, posted)
            answers.append((response.status_code, len(shown_tokens(response.content.decode()))))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [(200, 1), (302, 0)]  # one shows the token once, the other nothing
    assert ApiToken.objects.count() == 1


def test_a_token_can_be_read_only_and_never_expire(logged_in):
    logged_in.post(TOKENS, form(logged_in, name="dashboard", scope="read", expires_in="never"))
    token = ApiToken.objects.get(name="dashboard")
    assert (token.scope, token.expires_at) == ("read", None)


def test_a_token_without_a_name_is_refused_next_to_the_name(logged_in):
    response = logged_in.post(TOKENS, form(logged_in, name="   ", scope="read", expires_in="30"))
    html = response.content.decode()
    assert '<ul class="field-errors" id="id_name_error">' in html
    assert shown_tokens(html) == []
    assert not ApiToken.objects.exists()


def test_a_token_name_longer_than_the_model_allows_gets_the_models_message(logged_in):
    html = logged_in.post(TOKENS, form(logged_in, name="n" * 101, scope="read", expires_in="30")).content.decode()
    assert "Ensure this value has at most 100 characters (it has 101)." in html
    assert not ApiToken.objects.exists()


def test_the_list_shows_scope_status_last_use_and_expiry(logged_in, workspace_a, command_actor):
    used, _ = services.token_create(workspace=workspace_a, actor=command_actor, name="used one", scope="read")
    services.token_touch(used)
    services.token_create(
        workspace=workspace_a, actor=command_actor, name="dated", expires_at=timezone.now() + timedelta(days=3)
    )
    revoked, _ = services.token_create(workspace=workspace_a, actor=command_actor, name="gone")
    services.token_revoke(workspace=workspace_a, actor=command_actor, token_uuid=revoked.uuid)
    expired, _ = services.token_create(
        workspace=workspace_a, actor=command_actor, name="old", expires_at=timezone.now() + timedelta(seconds=5)
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))

    html = logged_in.get(TOKENS).content.decode()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)[1:]
    by_name = {re.search(r'<th scope="row" class="table__primary">([^<]+)', r).group(1): r for r in rows}
    assert "Read only" in by_name["used one"] and "Active" in by_name["used one"]
    assert "Never" not in by_name["used one"].split('data-label="Last used"')[1].split("</td>")[0]
    assert "Revoked" in by_name["gone"] and "/revoke/" not in by_name["gone"]
    assert "Expired" in by_name["old"]
    assert "Read and write" in by_name["dated"] and "/revoke/" in by_name["dated"]


def test_revoking_asks_first_then_the_token_stops_opening_the_api(logged_in, workspace_a, command_actor, customer_a):
    token, plaintext = services.token_create(workspace=workspace_a, actor=command_actor, name="ci")
    url = f"/app/ws-a/tokens/{token.uuid}/revoke/"
    confirm = logged_in.get(url).content.decode()
    assert "Revoke “ci”?" in confirm and "This cannot be undone." in confirm
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None

    response = logged_in.post(url)
    assert response.status_code == 302 and response["Location"] == TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert selectors.token_by_secret(plaintext) is None
    history = token.history.latest()
    assert (history.action, history.door, history.history_user) == ("revoked", "self_serve", customer_a)
    assert "no longer opens the API" in logged_in.get(TOKENS).content.decode()


def test_revoking_twice_keeps_the_first_time(logged_in, workspace_a, command_actor):
    token, _ = services.token_create(workspace=workspace_a, actor=command_actor, name="ci")
    url = f"/app/ws-a/tokens/{token.uuid}/revoke/"
    logged_in.post(url)
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert "was revoked on" in logged_in.get(url).content.decode()
    logged_in.post(url)
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first


def test_the_token_page_costs_a_fixed_number_of_queries(
    logged_in, workspace_a, command_actor, django_assert_max_num_queries
):
    for i in range(12):
        services.token_create(workspace=workspace_a, actor=command_actor, name=f"t{i}")
    with django_assert_max_num_queries(6):
        assert logged_in.get(TOKENS).status_code == 200
