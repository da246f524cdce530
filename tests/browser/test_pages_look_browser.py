"""Pages that fit and explain, in Chromium at 1280x800 and 390x844.

Support staff: every admin page fits 1280 px with every changelist column on the page and the
object tools beside, not over, the title; bindings are titled "+44 20 7946 0958 · Call"; history
reads before -> after in words; "View site" lists the workspaces. Customers: health lights in the
numbers list, the "Connect your carrier" panel with its copy buttons (and without script), the
SMS card of an external number, the activity's before -> after, a reassignment to the same agent
that says nothing changed, and "Forgot password?" through the mail. Every page visited is
captured at both widths in test-output/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

from channels_app.models import ChannelBinding
from channels_app.selectors import number_events
from channels_app.templatetags.trunkadmin import on_the_wire
from tests.browser.conftest import log_in
from tests.browser.look_support import furnish
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, USER_PASSWORD

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Every changelist header must be inside the page and not clipped by a scrolling container.
HEADERS_OFF_PAGE = """() => [...document.querySelectorAll('#result_list thead th')].filter(th => {
    const r = th.getBoundingClientRect();
    let clipped = false;
    for (let el = th.parentElement; el; el = el.parentElement) {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (style.overflowX !== 'visible' && (r.right > box.right + 1 || r.left < box.left - 1)) clipped = true;
    }
    return r.width === 0 || r.right > document.documentElement.clientWidth || clipped;
}).map(th => th.textContent.trim())"""

TOOLS_OVER_TITLE = """() => {
    const h1 = document.querySelector('#content h1');
    if (!h1) return false;
    const range = document.createRange();
    range.selectNodeContents(h1);
    const text = range.getBoundingClientRect();
    return [...document.querySelectorAll('.object-tools li')].some(li => {
        const b = li.getBoundingClientRect();
        return !(b.right <= text.left || b.left >= text.right || b.bottom <= text.top || b.top >= text.bottom);
    });
}"""


def words(page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).first.inner_text())


def new_page(browser, live_server, width: str, **options):
    context = browser.new_context(viewport=WIDTHS[width], base_url=live_server.url, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def no_secret(page) -> None:
    html = page.content()
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def run_changelist_action(page, changelist: str, checkbox_value: int, action: str) -> None:
    page.goto(changelist)
    page.locator(f'input[name=_selected_action][value="{checkbox_value}"]').check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_load_state()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_admin_page_fits_and_reads_in_words(
    browser, live_server, screenshot, staff_user, workspace_a, command_actor, width
):
    data = furnish(workspace_a, command_actor)
    call, number = data["call"], data["call"].phone_number
    context, page = new_page(browser, live_server, width)
    try:
        log_in(page, staff_user.username, USER_PASSWORD, path="/admin/login/")
        page.wait_for_url("**/admin/")
        pages = {
            "index": "/admin/",
            "numbers": "/admin/channels_app/phonenumber/",
            "bindings": "/admin/channels_app/channelbinding/",
            "tokens": "/admin/channels_app/apitoken/",
            "agents": "/admin/channels_app/agent/",
            "workspaces": "/admin/channels_app/workspace/",
            "deliveries": "/admin/channels_app/messagedelivery/",
            "number": f"/admin/channels_app/phonenumber/{number.pk}/change/",
            "binding": f"/admin/channels_app/channelbinding/{call.pk}/change/",
            "register": "/admin/channels_app/channelbinding/add/",
            "add-purchased": "/admin/channels_app/phonenumber/add/",
            "import": "/admin/channels_app/phonenumber/import/",
            "explain": f"/admin/channels_app/phonenumber/{number.pk}/explain/",
            "number-history": f"/admin/channels_app/phonenumber/{number.pk}/history/",
            "binding-history": f"/admin/channels_app/channelbinding/{call.pk}/history/",
            "workspace-overview": "/admin/channels_app/workspace/overview/",
        }
        for name, path in pages.items():
            assert page.goto(path).status == 200, name
            screenshot(page, f"admin-{name}-{width}")
            if width == "desktop":
                assert page.evaluate("document.documentElement.scrollWidth") <= 1280, name
                assert page.evaluate(HEADERS_OFF_PAGE) == [], name
                assert page.evaluate(TOOLS_OVER_TITLE) is False, name
            no_secret(page)

        # The action confirmations.
        bindings = "/admin/channels_app/channelbinding/"
        for name, changelist, value, action in (
            ("reassign-confirm", bindings, call.pk, "reassign_selected"),
            ("unbind-confirm", bindings, call.pk, "unbind_selected"),
            ("release-confirm", "/admin/channels_app/phonenumber/", data["purchased"].pk, "release_selected"),
        ):
            run_changelist_action(page, changelist, value, action)
            expect(page.locator("#content h1")).to_be_visible()
            if width == "desktop":
                assert page.evaluate("document.documentElement.scrollWidth") <= 1280, name
            screenshot(page, f"admin-{name}-{width}")

        # Every column of the numbers list is on the page, health light included.
        page.goto("/admin/channels_app/phonenumber/")
        headers = [h.strip().lower() for h in page.locator("#result_list thead th").all_inner_texts()]
        for column in ("number", "workspace", "source", "call", "whatsapp", "sms", "status"):
            assert column in headers, headers
        row = page.locator("#result_list tr", has_text="+442079460958")
        expect(row.locator("[data-health-light=ok]")).to_contain_text("checked")
        unchecked = page.locator("#result_list tr", has_text="+12025550143")
        expect(unchecked.locator("[data-health-light=none]")).to_have_text("not checked yet")

        # A binding is titled by its number and channel; the history reads before -> after.
        page.goto(pages["binding"])
        expect(page.locator("#content")).to_contain_text("+44 20 7946 0958 · Call")
        page.goto(pages["binding-history"])
        expect(page.locator("h1")).to_contain_text("+44 20 7946 0958 · Call")
        trail = words(page, "#audit-trail")
        assert "Agent: from Night shift → to Reception desk (London office)" in trail, trail
        assert "Direction: from Both → to Inbound" in trail, trail
        assert "SIP password: changed" in trail and "sip.password" not in trail and "{" not in trail

        # View site: every workspace, with links into the admin filtered by it.
        page.goto("/admin/")
        page.get_by_role("link", name="View site").click()
        page.wait_for_url("**/admin/channels_app/workspace/overview/")
        overview = page.locator("#workspaces tr", has_text="Workspace A")
        overview.get_by_role("link", name="numbers of Workspace A").click()
        page.wait_for_url(f"**/phonenumber/?workspace__id__exact={workspace_a.pk}")
        expect(page.locator("#result_list tbody tr")).to_have_count(4)
    finally:
        context.close()


def test_staff_outside_every_workspace_go_from_the_customer_pages_to_the_admin(page, staff_user, workspace_a):
    log_in(page, staff_user.username, USER_PASSWORD)
    page.wait_for_url("**/admin/channels_app/workspace/overview/")
    expect(page.locator("#workspaces")).to_contain_text("Workspace A")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_customer_pages_show_health_the_carrier_panel_and_history(
    browser, live_server, screenshot, customer_a, workspace_a, command_actor, width
):
    data = furnish(workspace_a, command_actor)
    call, number = data["call"], data["call"].phone_number
    context, page = new_page(browser, live_server, width, permissions=["clipboard-read", "clipboard-write"])
    try:
        page.goto("/accounts/login/")
        screenshot(page, f"selfserve-login-{width}")
        log_in(page, "customer-a", USER_PASSWORD)
        page.wait_for_url("**/app/ws-a/numbers/")

        # Health lights, in words beside the colour.
        expect(page.locator("[data-health-light=ok]")).to_contain_text("Reachable")
        expect(page.locator("[data-health-light=ok]")).to_contain_text("checked")
        expect(page.locator("[data-health-light=unreachable]")).to_contain_text("No answer")
        expect(page.locator("[data-health-light=none]")).to_have_text("Not checked yet")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]

        base = f"/app/ws-a/numbers/{number.phone_number_uuid}"
        pages = {
            "numbers": "/app/ws-a/numbers/",
            "register": "/app/ws-a/numbers/register/",
            "number-detail": f"{base}/",
            "trunk-edit": f"{base}/call/edit/",
            "reassign": f"{base}/call/assign/",
            "delete-confirm": f"{base}/whatsapp/delete/",
            "whatsapp-edit": f"{base}/whatsapp/edit/",
            "explain": f"{base}/explain/?direction=inbound&to=%2B442079460958&source_ip=192.0.2.1",
            "test-call": f"{base}/call/test-call/",
            "purchased-detail": f"/app/ws-a/numbers/{data['purchased'].phone_number_uuid}/",
            "bind": f"/app/ws-a/numbers/{data['purchased'].phone_number_uuid}/call/bind/",
            "tokens": "/app/ws-a/tokens/",
        }
        for name, path in pages.items():
            assert page.goto(path).status == 200, name
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"], name
            no_secret(page)
            screenshot(page, f"selfserve-{name}-{width}")

        # Connect your carrier: every value, selectable, with its copy button.
        page.goto(pages["number-detail"])
        panel = page.locator("#carrier")
        wire = on_the_wire(ChannelBinding.objects.select_related("phone_number").get(pk=call.pk))
        expect(panel).to_contain_text(f"sip:{wire}@{settings.SIP_EDGE_PUBLIC_ADDRESS}")
        expect(panel).to_contain_text(", ".join(settings.SIP_SIGNALLING_ADDRESSES))
        expect(panel).to_contain_text("UDP")
        expect(panel).to_contain_text("National")
        expect(panel.get_by_role("button", name=re.compile("^Copy"))).to_have_count(4)
        panel.get_by_role("button", name="Copy the address to send calls to").click()
        expect(panel.locator("[aria-live=polite]")).to_have_text(
            re.compile(r"Address copied to the clipboard\.|Press Ctrl\+C \(or Cmd\+C\) to copy the selected address\.")
        )
        screenshot(page, f"selfserve-carrier-panel-{width}")

        # The SMS card of an external number says where SMS is offered, no settings rows.
        sms = page.locator("section.channel--sms")
        expect(sms).to_contain_text("SMS is available on purchased numbers")
        expect(sms).not_to_contain_text("Channel limit")

        # The activity: before -> after, in words.
        activity = words(page, "table.table--events")
        assert "Agent from Night shift → to Reception desk (London office)" in activity, activity
        assert "Direction from Both → to Inbound" in activity, activity

        # Reassigning the agent that already answers: nothing changed, and nothing is recorded.
        before = len(number_events(number=number))
        page.goto(pages["reassign"])
        page.get_by_role("button", name="Reassign").click()
        page.wait_for_url(f"**{base}/")
        expect(
            page.get_by_text("Nothing changed: Reception desk (London office) already answers Call.")
        ).to_be_visible()
        assert len(number_events(number=number)) == before
    finally:
        context.close()


def test_the_carrier_panel_works_without_javascript(browser, live_server, customer_a, workspace_a, command_actor):
    number = furnish(workspace_a, command_actor)["call"].phone_number
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        log_in(page, "customer-a", USER_PASSWORD)
        page.wait_for_url("**/app/ws-a/numbers/")
        page.goto(f"/app/ws-a/numbers/{number.phone_number_uuid}/")
        panel = page.locator("#carrier")
        expect(panel.locator("code.carrier__value").first).to_be_visible()
        assert panel.get_by_role("button", name=re.compile("^Copy")).count() == 0  # hidden until script
    finally:
        context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_forgot_password_sends_a_link_that_sets_a_new_password(browser, live_server, screenshot, customer_a, width):
    customer_a.email = "customer-a@example.com"
    customer_a.save(update_fields=["email"])
    context, page = new_page(browser, live_server, width)
    try:
        page.goto("/accounts/login/")
        page.get_by_role("link", name="Forgot password?").click()
        page.wait_for_url("**/accounts/password_reset/")
        screenshot(page, f"selfserve-password-reset-{width}")
        page.get_by_label("Email").fill("customer-a@example.com")
        page.get_by_role("button", name="Send the reset link").click()
        expect(page.locator("h1")).to_have_text("Check your email")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
        screenshot(page, f"selfserve-password-reset-sent-{width}")

        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["customer-a@example.com"]
        link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Choose a new password")
        screenshot(page, f"selfserve-password-new-{width}")
        page.get_by_label("New password", exact=True).fill("a-much-longer-new-passphrase-7")
        page.get_by_label("New password confirmation").fill("a-much-longer-new-passphrase-7")
        page.get_by_role("button", name="Set the new password").click()
        expect(page.locator("h1")).to_have_text("Password changed")
        screenshot(page, f"selfserve-password-changed-{width}")

        page.get_by_role("link", name="Log in").click()
        log_in(page, "customer-a", "a-much-longer-new-passphrase-7")
        page.wait_for_url("**/app/ws-a/numbers/")
        page.goto(link)  # used once
        expect(page.get_by_role("alert")).to_contain_text("This link has expired or was used already.")
    finally:
        context.close()
