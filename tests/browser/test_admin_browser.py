"""The staff admin in Chromium against the live server: what support staff do, end to end.

A staff member logs in, registers an external number with SIP credentials (after a refused
first try), finds it by a differently spelled search, reassigns it from its number's page,
bulk-imports a CSV with one bad row that is reported and not written, and unbinds the first trunk
from its own page. Screenshots of each key page go to test-output/screenshots/admin-*.png. No
HTML document served in the run contains the marker credentials.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from channels_app.models import ChannelBinding, PhoneNumber
from tests.admin_support import csv_text, row
from tests.browser.conftest import log_in
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, USER_PASSWORD


class DocumentWatch:
    """Every HTML document the app serves to the page, to prove what never appears in it."""

    def __init__(self, page):
        self.documents: list[str] = []
        page.on("response", self._keep)

    def _keep(self, response):
        if response.request.resource_type == "document" and not 300 <= response.status < 400:
            self.documents.append(response.text())


def fill_register_form(page, workspace, agent, *, gateway: str) -> None:
    page.select_option("#id_workspace", str(workspace.pk))
    page.fill("#id_phone_number", "+1 (202) 555-0143")
    page.select_option("#id_channel", "call")
    page.select_option("#id_agent", str(agent.pk))
    page.fill("#id_name", "Front desk trunk")
    page.fill("#id_sip_gateway", gateway)
    page.fill("#id_sip_username", MARKER_USERNAME)
    page.fill("#id_sip_password", MARKER_PASSWORD)


def test_staff_register_find_reassign_and_bulk_import_in_the_admin(
    page, live_server, screenshot, staff_user, workspace_a, workspace_b, agents_a, agents_b, tmp_path
):
    watch = DocumentWatch(page)

    # Log in to the admin.
    log_in(page, staff_user.username, USER_PASSWORD, path="/admin/login/")
    expect(page.locator("#site-name")).to_contain_text("trunkadmin staff admin")
    screenshot(page, "admin-index")

    # Register an external number: the first try has a URL as gateway and is refused on that field.
    page.goto("/admin/channels_app/phonenumber/")
    page.click("text=Register external number")
    expect(page.locator("h1")).to_have_text("Register external number")
    # The agent list follows the chosen workspace.
    page.select_option("#id_workspace", str(workspace_a.pk))
    expect(page.locator(f'#id_agent option[value="{agents_b[0].pk}"]')).to_be_hidden()
    fill_register_form(page, workspace_a, agents_a[0], gateway="sip://sip.example.com:5060")
    screenshot(page, "admin-register-form")
    page.click("input[name=_save]")
    error = page.locator(".field-sip_gateway .errorlist")
    expect(error).to_contain_text("Enter a host name or IP address only, without scheme, port or path")
    expect(page.locator("#id_sip_password")).to_have_value("")  # never rendered back
    screenshot(page, "admin-register-refused")
    assert not PhoneNumber.objects.exists()

    fill_register_form(page, workspace_a, agents_a[0], gateway="sip.example.com")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Registered +12025550143 on call for A agent 1.")
    expect(page.locator("#bindings-group")).to_contain_text("username set, password set")
    screenshot(page, "admin-number-page")
    trunk = ChannelBinding.objects.get(phone_number__number="+12025550143")
    assert (trunk.agent, trunk.sip_password, trunk.name) == (agents_a[0], MARKER_PASSWORD, "Front desk trunk")

    # Find it by a differently spelled search.
    page.goto("/admin/channels_app/phonenumber/")
    page.fill("#searchbar", "202.555.0143")
    page.press("#searchbar", "Enter")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("+12025550143")
    screenshot(page, "admin-search")

    # Reassign it from its number's page: the row's button runs the bindings' reassign action.
    results.first.locator("a", has_text="+12025550143").click()
    page.locator("#bindings-group button", has_text="reassign").click()
    expect(page.locator("h1")).to_have_text("Reassign to another agent")
    page.select_option("#id_agent", str(agents_a[1].pk))
    screenshot(page, "admin-reassign")
    page.click("#reassign-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Reassigned +1 202-555-0143 · Call to A agent 2.")
    expect(page).to_have_url(re.compile(rf"/admin/channels_app/phonenumber/{trunk.phone_number_id}/change/$"))
    trunk.refresh_from_db()
    assert trunk.agent == agents_a[1] and trunk.sip_password == MARKER_PASSWORD

    # The audit trail names the staff member and the admin door; the secrets only as "changed".
    page.click("a.historylink")
    expect(page.locator("#audit-trail")).to_contain_text("reassigned")
    expect(page.locator("#audit-trail")).to_contain_text("SIP password: changed")
    screenshot(page, "admin-history")

    # Bulk import: three rows, the second with a bad gateway.
    path = tmp_path / "trunks.csv"
    path.write_text(
        csv_text(
            row("+1 202 555 0151", agents_a[2], sip_password=MARKER_PASSWORD),
            row("+1 202 555 0152", agents_a[0], channel="whatsapp", sip_gateway="sip.example.com"),
            row("+1 202 555 0153", agents_a[0], sip_gateway="sip.example.com", sip_username=MARKER_USERNAME),
        ),
        encoding="utf-8",
    )
    page.goto("/admin/channels_app/phonenumber/")
    page.click("text=Register trunks from CSV")
    page.select_option("#id_workspace", str(workspace_a.pk))
    page.set_input_files("#id_file", str(path))
    page.click("#import-form input[type=submit]")
    expect(page.locator("#import-summary")).to_contain_text("Preview for Workspace A: 2 of 3 rows can be registered")
    refused = page.locator("#line-3")
    expect(refused).to_have_class(re.compile("row-refused"))
    expect(refused).to_contain_text("SIP settings apply to the call channel only.")
    screenshot(page, "admin-import-preview")
    assert PhoneNumber.objects.count() == 1  # nothing written by the preview

    page.click("#commit-form input[type=submit]")
    expect(page.locator("#import-summary")).to_contain_text("Registered 2 of 3 rows in Workspace A.")
    screenshot(page, "admin-import-result")
    assert sorted(PhoneNumber.objects.values_list("number", flat=True)) == [
        "+12025550143",
        "+12025550151",
        "+12025550153",
    ]

    # Unbind the first trunk from its own page: its "Unbind" tool leads to the same confirmation.
    page.goto(f"/admin/channels_app/channelbinding/{trunk.pk}/change/")
    page.locator(".object-tools button", has_text="Unbind").click()
    expect(page.locator("h1")).to_have_text("Unbind")
    expect(page.locator("#content-main table")).to_contain_text("+12025550143")
    screenshot(page, "admin-unbind")
    page.click("#unbind-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("+12025550143 left the inventory with the last trunk.")
    assert not PhoneNumber.objects.filter(number="+12025550143").exists()

    # Nothing the app served in the whole run carried the credentials.
    assert watch.documents
    for html in watch.documents:
        assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html
