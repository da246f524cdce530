"""The self-serve pages in Chromium against the live server: what a customer does, end to end.

Screenshots of every page at desktop and phone widths go to test-output/screenshots/selfserve-*.png.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from channels_app import services
from channels_app.models import ApiToken, ChannelBinding, Membership, PhoneNumber, Role
from tests.browser.conftest import PHONE, log_in
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, USER_PASSWORD

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)"""


def api_get(base_url: str, path: str, token: str | None) -> tuple[int, dict]:
    """A real HTTP request to the REST API, outside the browser."""
    request = urllib.request.Request(base_url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class PageWatch:
    """Collects every HTML document the app serves to the page, to prove what never appears in it."""

    def __init__(self, page):
        self.documents: list[str] = []
        page.on("response", self._keep)

    def _keep(self, response):
        if response.request.resource_type == "document" and not 300 <= response.status < 400:
            self.documents.append(response.text())


def expect_no_secret(page_or_text) -> None:
    text = page_or_text if isinstance(page_or_text, str) else page_or_text.content()
    assert MARKER_PASSWORD not in text and MARKER_USERNAME not in text


def test_a_customer_registers_edits_reassigns_deletes_and_uses_an_api_token(
    page, live_server, screenshot, customer_a, agents_a, purchased_a
):
    watch = PageWatch(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # Log in.
    page.goto("/accounts/login/")
    screenshot(page, "selfserve-login-desktop")
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")

    # Register a call trunk with SIP credentials; SIP fields show only for Call.
    page.get_by_role("link", name="Register a number").first.click()
    page.wait_for_url("**/numbers/register/")
    sip_section = page.locator("[data-call-only]")
    page.get_by_label("WhatsApp", exact=True).check()
    assert sip_section.is_hidden()
    page.get_by_label("Call (SIP trunk)").check()
    assert sip_section.is_visible()
    page.get_by_label("Phone number", exact=True).fill("+1 (202) 555-0147")
    assert page.get_by_label(re.compile(r"^Name")).get_attribute("placeholder") == "call_trunk_12025550147"
    page.get_by_label("Agent", exact=True).fill("A agent 1")
    page.get_by_label("Inbound").check()
    page.get_by_label(re.compile(r"^Gateway")).fill("sip.carrier.example")
    page.get_by_label(re.compile(r"^Username")).fill(MARKER_USERNAME)
    page.get_by_label(re.compile(r"^Password")).fill(MARKER_PASSWORD)
    page.get_by_label("Additional settings").fill('{"region": "eu"}')
    screenshot(page, "selfserve-register-desktop")
    page.get_by_role("button", name="Register number").click()
    page.wait_for_url(re.compile(r".*/app/ws-a/numbers/[0-9a-f-]{36}/$"))
    detail_url = page.url
    assert "is registered on Call and answered by A agent 1" in page.content()
    call_card = page.locator("section.channel--call")
    assert "call_trunk_12025550147" in call_card.inner_text()
    assert call_card.locator(".pill--ok", has_text="Set").count() == 2
    screenshot(page, "selfserve-number-detail-desktop")

    # The same number again: the message is next to the number, and the password is not kept.
    page.goto("/app/ws-a/numbers/register/")
    page.get_by_label("Phone number", exact=True).fill("12025550147")
    page.get_by_label("Agent", exact=True).fill("A agent 2")
    page.get_by_label(re.compile(r"^Password")).fill(MARKER_PASSWORD)
    page.get_by_role("button", name="Register number").click()
    alert = page.get_by_role("alert")
    assert "This number is already bound on call." in alert.inner_text()
    page.wait_for_function("document.activeElement.hasAttribute('data-error-summary')")  # focus moved there
    assert "already bound" in page.locator("#id_phone_number_error").inner_text()
    assert page.get_by_label("Phone number", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Phone number", exact=True).input_value() == "12025550147"
    assert page.get_by_label(re.compile(r"^Password")).input_value() == ""
    screenshot(page, "selfserve-register-error-desktop")

    # Edit: rename, new password; blank username keeps the saved one.
    page.get_by_role("link", name="Open +1 202-555-0147").click()
    page.get_by_role("link", name="Edit Call trunk").click()
    page.get_by_label(re.compile(r"^Name")).fill("front-desk")
    page.get_by_label(re.compile(r"^Password")).fill("second-password-9")
    screenshot(page, "selfserve-trunk-edit-desktop")
    page.get_by_role("button", name="Save trunk").click()
    page.wait_for_url(detail_url)
    assert "Trunk saved." in page.content()
    binding = ChannelBinding.objects.get(phone_number__number="+12025550147", channel="call")
    assert (binding.name, binding.sip_username, binding.sip_password) == (
        "front-desk",
        MARKER_USERNAME,
        "second-password-9",
    )

    # Reassign.
    page.get_by_role("link", name="Reassign Call").click()
    page.get_by_label("Agent", exact=True).fill("A agent 3")
    screenshot(page, "selfserve-reassign-desktop")
    page.get_by_role("button", name="Reassign").click()
    page.wait_for_url(detail_url)
    assert "Call is now answered by A agent 3." in page.content()
    assert "Reassigned" in page.locator("#activity + .card").inner_text()

    # Delete, after the confirmation page: the external number leaves with its last trunk.
    page.get_by_role("link", name="Delete Call").click()
    assert "leaves your numbers too" in page.content()
    screenshot(page, "selfserve-delete-confirm-desktop")
    page.get_by_role("button", name="Delete trunk").click()
    page.wait_for_url("**/app/ws-a/numbers/")
    assert "has left your numbers" in page.content()
    assert not PhoneNumber.objects.filter(number="+12025550147").exists()
    screenshot(page, "selfserve-numbers-desktop")

    # Create an API token: shown once, copied with the button.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_label("Read only").check()
    screenshot(page, "selfserve-tokens-desktop")
    page.get_by_role("button", name="Create token").click()
    token_input = page.get_by_label("New API token")
    plaintext = token_input.input_value()
    assert plaintext.startswith("tka_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Token copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    screenshot(page, "selfserve-token-created-desktop")
    assert ApiToken.objects.get(name="CRM sync").token_hash != plaintext

    # Use it against the API with a real HTTP request.
    status, body = api_get(live_server.url, "/api/v1/phone-numbers", plaintext)
    assert status == 200 and body["success"] is True
    assert [item["number"] for item in body["data"]["items"]] == ["+12025550101"]
    page.goto("/app/ws-a/tokens/")
    assert plaintext not in page.content()
    assert "Never" not in page.locator("tr", has_text="CRM sync").locator('[data-label="Last used"]').inner_text()

    # Revoke, after confirmation: the API refuses it.
    page.get_by_role("link", name="Revoke CRM sync").click()
    screenshot(page, "selfserve-token-revoke-desktop")
    page.get_by_role("button", name="Revoke token").click()
    page.wait_for_url("**/app/ws-a/tokens/")
    status, body = api_get(live_server.url, "/api/v1/phone-numbers", plaintext)
    assert status == 401 and body["error"]["code"] == "INVALID_AUTH_TOKEN"

    assert len(watch.documents) >= 15
    for document in watch.documents:
        expect_no_secret(document)


@pytest.fixture
def furnished_workspace(workspace_a, agents_a, purchased_a, customer_a, command_actor):
    """Workspace A with an external number on two channels, a bound purchased number and a token."""
    trunk = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+442079460958",
        agent_uuid=agents_a[0].agent_uuid,
        channel="call",
        sip={"gateway": "sip.carrier.example", "username": MARKER_USERNAME, "password": MARKER_PASSWORD},
        additional_settings={"region": "eu"},
    )
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+442079460958",
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    services.sms_assign(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[2].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    token, _ = services.token_create(workspace=workspace_a, actor=command_actor, name="CRM sync", scope="read")
    return trunk.phone_number, token, purchased_a


def test_every_page_fits_a_phone_screen_and_labels_every_control(phone_page, screenshot, furnished_workspace):
    number, token, purchased = furnished_workspace
    page = phone_page
    page.goto("/accounts/login/")
    screenshot(page, "selfserve-login-phone")
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    base = f"/app/ws-a/numbers/{number.phone_number_uuid}"
    pages = {
        "numbers": "/app/ws-a/numbers/",
        "register": "/app/ws-a/numbers/register/",
        "number-detail": f"{base}/",
        "trunk-edit": f"{base}/call/edit/",
        "reassign": f"{base}/call/assign/",
        "delete-confirm": f"{base}/whatsapp/delete/",
        "bind": f"/app/ws-a/numbers/{purchased.phone_number_uuid}/call/bind/",
        "tokens": "/app/ws-a/tokens/",
        "token-revoke": f"/app/ws-a/tokens/{token.uuid}/revoke/",
    }
    for name, path in pages.items():
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        assert page.evaluate(UNLABELLED_CONTROLS) == [], name
        expect_no_secret(page)
        screenshot(page, f"selfserve-{name}-phone")

    page.goto(pages["register"])
    page.get_by_label("Phone number", exact=True).fill("+44 20 7946 0958")
    page.get_by_label("Agent", exact=True).fill("A agent 3")
    page.get_by_label("Additional settings").fill("[1, 2]")
    page.get_by_role("button", name="Register number").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "selfserve-register-error-phone")

    page.goto(pages["tokens"])
    page.get_by_label("Name").fill("phone token")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state()
    assert page.get_by_label("New API token").input_value().startswith("tka_")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "selfserve-token-created-phone")


def test_the_other_pages_at_desktop_width(page, screenshot, furnished_workspace, customer_a, workspace_b):
    """The workspace chooser, binding a purchased number, and the pages that refuse."""
    _number, _token, purchased = furnished_workspace
    Membership.objects.create(user=customer_a, workspace=workspace_b, role=Role.VIEWER)
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/")
    screenshot(page, "selfserve-workspaces-desktop")
    page.get_by_role("link", name="Workspace A").click()
    page.goto(f"/app/ws-a/numbers/{purchased.phone_number_uuid}/")
    page.get_by_role("link", name="Bind an agent on Call").click()
    page.get_by_label("Agent", exact=True).fill("A agent 3")
    screenshot(page, "selfserve-bind-desktop")
    page.get_by_role("button", name="Bind agent").click()
    assert "Call is now answered by A agent 3." in page.content()
    page.locator("summary", has_text="Workspace A").click()
    page.get_by_role("link", name="Workspace B").click()
    page.wait_for_url("**/app/ws-b/numbers/")
    screenshot(page, "selfserve-switched-viewer-desktop")
    assert page.goto("/app/ws-b/numbers/register/").status == 403
    screenshot(page, "selfserve-forbidden-desktop")
    assert page.goto(f"/app/ws-b/numbers/{purchased.phone_number_uuid}/").status == 404
    screenshot(page, "selfserve-not-found-desktop")


def test_keyboard_focus_is_always_visible(page, customer_a, agents_a):
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    page.goto("/app/ws-a/numbers/register/")
    outlines = []
    for _ in range(8):
        page.keyboard.press("Tab")
        outlines.append(
            page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
            )
        )
    assert all(style != "none" and width != "0px" for _tag, style, width in outlines), outlines


def test_every_action_works_without_javascript(browser, live_server, customer_a, agents_a):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, "customer-a", USER_PASSWORD)
        page.wait_for_url("**/app/ws-a/numbers/")
        page.goto("/app/ws-a/numbers/register/")
        assert page.locator("[data-call-only]").is_visible()  # no script to hide it: shown, with a hint
        page.get_by_label("Phone number", exact=True).fill("+1 202 555 0147")
        page.get_by_label("WhatsApp", exact=True).check()
        page.get_by_label("Agent", exact=True).fill("A agent 2")
        page.get_by_role("button", name="Register number").click()
        page.wait_for_url(re.compile(r".*/numbers/[0-9a-f-]{36}/$"))
        page.get_by_role("link", name="Edit WhatsApp trunk").click()
        page.get_by_label("Name").fill("wa-line")
        page.get_by_role("button", name="Save trunk").click()
        page.get_by_role("link", name="Reassign WhatsApp").click()
        page.get_by_label("Agent", exact=True).fill("A agent 3")
        page.get_by_role("button", name="Reassign").click()
        binding = ChannelBinding.objects.get(phone_number__number="+12025550147")
        assert (binding.channel, binding.name, binding.agent.name) == ("whatsapp", "wa-line", "A agent 3")
        page.get_by_role("link", name="Delete WhatsApp").click()
        page.get_by_role("button", name="Delete trunk").click()
        page.wait_for_url("**/app/ws-a/numbers/")
        assert not PhoneNumber.objects.filter(number="+12025550147").exists()

        page.goto("/app/ws-a/tokens/")
        page.get_by_label("Name").fill("no-js token")
        page.get_by_role("button", name="Create token").click()
        assert page.get_by_label("New API token").input_value().startswith("tka_")
        assert page.get_by_role("button", name="Copy").count() == 0  # the copy button needs script
        page.goto("/app/ws-a/tokens/")
        page.get_by_role("link", name="Revoke no-js token").click()
        page.get_by_role("button", name="Revoke token").click()
        assert ApiToken.objects.get(name="no-js token").revoked_at is not None
    finally:
        context.close()
