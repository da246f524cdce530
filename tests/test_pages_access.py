"""Self-serve pages: who may open what. Login, workspaces, tenancy (404), roles (403), CSRF.

Real database, real views through Django's test client; nothing of ours is mocked.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from channels_app import services
from channels_app.audit import Actor, Door
from channels_app.models import Agent, ApiToken, ChannelBinding, Membership, PhoneNumber, Role
from tests.conftest import USER_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def number_urls(slug: str, number_uuid) -> list[str]:
    base = f"/app/{slug}/numbers/{number_uuid}"
    return [f"{base}/", f"{base}/call/edit/", f"{base}/call/assign/", f"{base}/call/delete/"]


def write_urls(slug: str, number_uuid, token_uuid, purchased_uuid) -> list[str]:
    base = f"/app/{slug}/numbers/{number_uuid}"
    return [
        f"/app/{slug}/numbers/{purchased_uuid}/call/bind/",
        f"/app/{slug}/numbers/register/",
        f"{base}/call/edit/",
        f"{base}/call/assign/",
        f"{base}/call/delete/",
        f"/app/{slug}/tokens/{token_uuid}/revoke/",
    ]


@pytest.fixture
def token_a_row(workspace_a, token_a) -> ApiToken:
    return ApiToken.objects.get(workspace=workspace_a)


# --- logging in ------------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page_from_every_page(client, trunk_a, token_a_row, purchased_a):
    urls = ["/app/", "/app/ws-a/", "/app/ws-a/numbers/", "/app/ws-a/tokens/"]
    urls += write_urls("ws-a", trunk_a.phone_number.phone_number_uuid, token_a_row.uuid, purchased_a.phone_number_uuid)
    urls += [f"/app/numbers/{trunk_a.phone_number.phone_number_uuid}/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_the_login_page_has_labelled_fields_and_a_csrf_token(client):
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="label" for="id_username">' in html
    assert '<label class="label" for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_customer_logs_in_and_lands_on_the_numbers_of_their_workspace(client, customer_a):
    response = client.post("/accounts/login/", {"username": "customer-a", "password": USER_PASSWORD}, follow=True)
    assert response.redirect_chain[-1] == ("/app/ws-a/numbers/", 302)
    assert b"Workspace A" in response.content


def test_a_wrong_password_is_refused_with_an_announced_message(client, customer_a):
    response = client.post("/accounts/login/", {"username": "customer-a", "password": "wrong-password"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Please enter a correct username and password" in html
    assert "wrong-password" not in html


def test_repeated_failed_logins_lock_the_account_out_with_an_explaining_page(client, customer_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "customer-a", "password": "wrong-password"})
    response = client.post("/accounts/login/", {"username": "customer-a", "password": USER_PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_logging_out_takes_a_post_and_ends_the_session(client, customer_a):
    client.force_login(customer_a)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/app/ws-a/numbers/").status_code == 302


# --- workspaces ------------------------------------------------------------------------------------


def test_a_member_of_several_workspaces_chooses_one_and_can_switch(client, customer_a, workspace_b):
    Membership.objects.create(user=customer_a, workspace=workspace_b, role=Role.VIEWER)
    client.force_login(customer_a)
    home = client.get("/app/")
    assert home.status_code == 200
    assert b'href="/app/ws-a/numbers/"' in home.content
    assert b'href="/app/ws-b/numbers/"' in home.content
    page = client.get("/app/ws-a/numbers/").content.decode()
    assert "Switch workspace" in page
    assert 'href="/app/ws-b/numbers/"' in page


def test_a_user_without_a_workspace_is_told_so(client, db):
    client.force_login(make_user("lonely"))
    response = client.get("/app/")
    assert response.status_code == 200
    assert b"You are not in a workspace yet" in response.content


def test_the_workspace_root_leads_to_its_numbers(client, customer_a):
    client.force_login(customer_a)
    assert client.get("/app/ws-a/")["Location"] == "/app/ws-a/numbers/"


def test_the_short_number_link_finds_the_workspace_of_a_member(client, customer_a, trunk_a):
    client.force_login(customer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    response = client.get(f"/app/numbers/{uuid}/")
    assert response.status_code == 302
    assert response["Location"] == f"/app/ws-a/numbers/{uuid}/"


# --- tenancy: another workspace is a 404 everywhere -------------------------------------------------


def test_a_non_member_gets_404_on_every_url_of_the_workspace(client, customer_b, trunk_a, token_a_row, purchased_a):
    client.force_login(customer_b)
    uuid = trunk_a.phone_number.phone_number_uuid
    urls = ["/app/ws-a/", "/app/ws-a/numbers/", "/app/ws-a/tokens/", f"/app/numbers/{uuid}/"]
    urls += write_urls("ws-a", uuid, token_a_row.uuid, purchased_a.phone_number_uuid) + number_urls("ws-a", uuid)
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 404, (method, url, response.status_code)
            assert str(uuid).encode() not in response.content
            assert b"Workspace A" not in response.content


def test_another_workspaces_number_binding_or_token_is_404_under_ones_own_workspace(
    client, customer_b, trunk_a, token_a_row, agent_b, purchased_a
):
    """B's admin puts A's identifiers in B's URLs: every page and action answers 404, nothing changes."""
    client.force_login(customer_b)
    uuid = trunk_a.phone_number.phone_number_uuid
    for url in write_urls("ws-b", uuid, token_a_row.uuid, purchased_a.phone_number_uuid) + number_urls("ws-b", uuid):
        if "register" in url:
            continue
        for method in ("get", "post"):
            data = {"agent": str(agent_b.agent_uuid), "name": "hijack"} if method == "post" else None
            response = getattr(client, method)(url, data)
            assert response.status_code == 404, (method, url, response.status_code)
            assert b"Page not found" in response.content
            assert trunk_a.phone_number.e164.encode() not in response.content
    trunk_a.refresh_from_db()
    token_a_row.refresh_from_db()
    assert trunk_a.agent.workspace.slug == "ws-a" and trunk_a.name == "call_trunk_12345678901"
    assert token_a_row.revoked_at is None


def test_a_number_of_another_workspace_cannot_be_registered_and_nothing_about_it_is_revealed(
    client, customer_b, trunk_a, agent_b
):
    client.force_login(customer_b)
    response = client.post(
        "/app/ws-b/numbers/register/",
        {"phone_number": "+1 234 567 8901", "channel": "whatsapp", "agent": str(agent_b.agent_uuid)},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This number cannot be registered." in html
    assert (
        "Workspace A" not in html and "A agent" not in html and str(trunk_a.phone_number.phone_number_uuid) not in html
    )
    assert PhoneNumber.objects.filter(workspace__slug="ws-b").count() == 0


def test_the_number_list_never_shows_another_workspaces_numbers(client, customer_b, trunk_a, purchased_b):
    client.force_login(customer_b)
    html = client.get("/app/ws-b/numbers/").content.decode()
    assert "+1 415-555-0111" in html
    assert "+1 234-567-8901" not in html
    assert client.get("/app/ws-b/numbers/?search=12345678901").context["paginator"].count == 0


def test_the_token_list_never_shows_another_workspaces_tokens(client, customer_b, token_a, token_b):
    client.force_login(customer_b)
    html = client.get("/app/ws-b/tokens/").content.decode()
    own, other = ApiToken.objects.get(workspace__slug="ws-b"), ApiToken.objects.get(workspace__slug="ws-a")
    assert own.prefix in html
    assert other.prefix not in html


# --- roles -----------------------------------------------------------------------------------------


def test_a_viewer_reads_every_page_without_any_write_control(client, viewer_a, trunk_a, token_a, purchased_a):
    client.force_login(viewer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    pages = ("/app/ws-a/numbers/", f"/app/ws-a/numbers/{uuid}/", f"/app/ws-a/numbers/{purchased_a.phone_number_uuid}/")
    for url in (*pages, "/app/ws-a/tokens/"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "/register/" not in html and "/edit/" not in html and "/assign/" not in html
        assert "/delete/" not in html and "/revoke/" not in html and "/bind/" not in html
        assert "Create token" not in html
        assert "You have read-only access to Workspace A." in html
    assert b"call_trunk_12345678901" in client.get(f"/app/ws-a/numbers/{uuid}/").content


def test_a_viewer_is_refused_every_write_page_and_every_write(
    client, viewer_a, trunk_a, token_a_row, agents_a, purchased_a
):
    client.force_login(viewer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    for url in write_urls("ws-a", uuid, token_a_row.uuid, purchased_a.phone_number_uuid):
        assert client.get(url).status_code == 403, url
        response = client.post(
            url,
            {
                "phone_number": "+12025550199",
                "channel": "call",
                "agent": str(agents_a[1].agent_uuid),
                "name": "viewer-was-here",
            },
        )
        assert response.status_code == 403, url
        assert b"You have read-only access" in response.content
    response = client.post("/app/ws-a/tokens/", {"name": "viewer token", "scope": "read", "expires_in": "30"})
    assert response.status_code == 403
    trunk_a.refresh_from_db()
    token_a_row.refresh_from_db()
    assert (trunk_a.agent_id, trunk_a.name) == (agents_a[0].pk, "call_trunk_12345678901")
    assert token_a_row.revoked_at is None
    assert ApiToken.objects.filter(workspace__slug="ws-a").count() == 1
    assert PhoneNumber.objects.filter(workspace__slug="ws-a").count() == 2
    assert not ChannelBinding.objects.filter(phone_number=purchased_a).exists()


def test_a_developer_can_register_numbers_and_create_tokens(client, developer_a, agent_a):
    client.force_login(developer_a)
    response = client.post(
        "/app/ws-a/numbers/register/",
        {"phone_number": "+1 202 555 0177", "channel": "whatsapp", "agent": str(agent_a.agent_uuid)},
    )
    assert response.status_code == 302
    assert ChannelBinding.objects.get(phone_number__number="+12025550177").channel == "whatsapp"
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/app/ws-a/tokens/").content.decode()).group(1)
    response = client.post("/app/ws-a/tokens/", {"name": "ci", "scope": "read", "expires_in": "30", "nonce": nonce})
    assert response.status_code == 200
    assert ApiToken.objects.get(name="ci").created_by == developer_a


def test_a_viewer_is_refused_even_for_another_workspaces_object_with_a_404_not_a_403(client, viewer_a, workspace_b):
    """404 is decided before 403, so a refusal never confirms that something exists."""
    other = services.trunk_register(
        workspace=workspace_b,
        actor=Actor(door=Door.COMMAND),
        phone_number="+14155550123",
        agent_uuid=Agent.objects.create(workspace=workspace_b, name="B").agent_uuid,
        channel="call",
    )
    client.force_login(viewer_a)
    for url in number_urls("ws-a", other.phone_number.phone_number_uuid):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url


# --- CSRF and the page itself ---------------------------------------------------------------------


def test_every_form_refuses_a_post_without_its_csrf_token(customer_a, trunk_a, token_a_row, agents_a, purchased_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    for url in [*write_urls("ws-a", uuid, token_a_row.uuid, purchased_a.phone_number_uuid), "/app/ws-a/tokens/"]:
        response = client.post(url, {"agent": str(agents_a[1].agent_uuid), "name": "no-csrf", "scope": "read"})
        assert response.status_code == 403, url
    trunk_a.refresh_from_db()
    token_a_row.refresh_from_db()
    assert trunk_a.agent_id == agents_a[0].pk and token_a_row.revoked_at is None
    assert ApiToken.objects.count() == 1
    assert not ChannelBinding.objects.filter(phone_number=purchased_a).exists()


def test_every_form_carries_a_csrf_token(client, customer_a, trunk_a, token_a_row, purchased_a):
    client.force_login(customer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    for url in [
        *write_urls("ws-a", uuid, token_a_row.uuid, purchased_a.phone_number_uuid),
        "/app/ws-a/tokens/",
        f"/app/ws-a/numbers/{uuid}/",
    ]:
        html = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", html, flags=re.S)
        assert forms, url
        assert all("csrfmiddlewaretoken" in form for form in forms), url


def test_pages_carry_no_inline_script_or_style_and_load_only_their_own_assets(client, customer_a, trunk_a):
    client.force_login(customer_a)
    uuid = trunk_a.phone_number.phone_number_uuid
    for url in ("/app/ws-a/numbers/", f"/app/ws-a/numbers/{uuid}/", "/app/ws-a/numbers/register/", "/accounts/login/"):
        response = client.get(url)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], url
        assert " style=" not in html and "<style" not in html, url
        assert re.findall(r"(?:src|href)=\"(https?:)?//", html) == [], url
        assert '<link rel="stylesheet" href="/static/channels_app/css/app.css">' in html


def _contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_stylesheet_colours_meet_wcag_aa_contrast():
    """Text colours on the backgrounds they are used on: 4.5:1; control borders: 3:1."""
    css = (settings.BASE_DIR / "static/channels_app/css/app.css").read_text()
    colour = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", css))
    white = "#ffffff"
    text_pairs = [
        ("ink", "surface"),
        ("ink", "bg"),
        ("muted", "surface"),
        ("muted", "bg"),
        ("brand", "surface"),
        ("brand", "brand-tint"),
        ("danger", "surface"),
        ("danger", "danger-tint"),
        ("ok", "surface"),
        ("ok", "ok-tint"),
        ("warn", "warn-tint"),
    ]
    for foreground, background in text_pairs:
        assert _contrast(colour[foreground], colour[background]) >= 4.5, (foreground, background)
    assert _contrast(white, colour["brand"]) >= 4.5  # primary buttons
    assert _contrast(white, colour["danger"]) >= 4.5  # danger buttons
    assert _contrast(colour["line-strong"], colour["surface"]) >= 3  # input borders
    assert _contrast(colour["focus"], colour["surface"]) >= 3  # focus outline
