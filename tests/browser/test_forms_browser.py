"""The forms people enjoy, in Chromium at 1280x800 and 390x844, with and without JavaScript:
five mistakes shown after one submit, a national number read in the workspace's default country
(and refused with the right message without one), the agent conflict linking the number that
holds the agent, and a CSV row's three problems in a preview that fits the page.

Screenshots go to test-output/screenshots/forms-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from channels_app import services
from channels_app.audit import Actor
from channels_app.models import ChannelBinding, PhoneNumber
from tests.admin_support import csv_text, row
from tests.browser.conftest import log_in
from tests.browser.test_selfserve_browser import UNLABELLED_CONTROLS
from tests.conftest import USER_PASSWORD

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
REGISTER = "/app/ws-a/numbers/register/"


@pytest.fixture(params=[(size, js) for size in VIEWPORTS for js in (True, False)], ids=lambda p: f"{p[0]}-js{p[1]}")
def form_page(request, browser, live_server):
    size, js = request.param
    context = browser.new_context(
        viewport=VIEWPORTS[size], base_url=live_server.url, java_script_enabled=js, is_mobile=size == "phone"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.label = f"{size}-{'js' if js else 'nojs'}"
    yield page
    context.close()


@pytest.fixture(params=list(VIEWPORTS))
def desktop_or_phone(request, browser, live_server):
    context = browser.new_context(viewport=VIEWPORTS[request.param], base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.label = request.param
    yield page
    context.close()


def fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_five_mistakes_show_five_errors_after_one_submit(form_page, screenshot, customer_a, agents_a):
    page = form_page
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    page.goto(REGISTER)
    page.get_by_label("Phone number", exact=True).fill("+1 202 555 01")
    page.locator("#id_sip_gateway").fill("sip:gw.example.com")
    page.locator("#id_sip_port").fill("99999")
    page.locator("#id_sip_password").fill("secret-typed-once")
    page.get_by_label("Additional settings").fill("{not json")
    # No agent typed: the fifth mistake.
    page.get_by_role("button", name="Register number", exact=True).last.click()
    page.wait_for_load_state()
    errors = page.locator(".field-errors")
    expect(errors).to_have_count(5)
    expect(page.locator("[data-error-summary] h2")).to_have_text("There are 5 problems")
    for field in ("phone_number", "agent", "sip_gateway", "sip_port", "additional_settings"):
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#id_{field}_error")).to_be_visible()
    expect(page.locator("#id_sip_password_helptext")).to_have_text(
        "Not kept, for your safety: type it again before you save."
    )
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert fits_width(page)
    # Each summary entry leads to its field.
    page.locator("[data-error-summary] a[href='#id_sip_port']").click()
    if page.label.endswith("-js"):
        expect(page.locator("#id_sip_port")).to_be_focused()
    screenshot(page, f"forms-five-errors-{page.label}")
    assert PhoneNumber.objects.count() == 0


def test_a_national_number_registers_with_a_default_country_and_is_refused_without(
    form_page, screenshot, customer_a, workspace_a, agents_a
):
    page = form_page
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")

    # Without a default country: refused, saying to add the country code.
    page.goto(REGISTER)
    page.get_by_label("Phone number", exact=True).fill("(202) 555-0143")
    page.get_by_label("Agent", exact=True).fill("A agent 1")
    page.get_by_role("button", name="Register number", exact=True).last.click()
    expect(page.locator("#id_phone_number_error")).to_contain_text(
        "National formats are not accepted without a country code: add it."
    )
    screenshot(page, f"forms-national-refused-{page.label}")

    # An admin of the workspace sets it on the settings page.
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/app/ws-a/settings/")
    page.get_by_label("Default country").select_option("US")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".messages, [role=status], .alert").first).to_contain_text("United States")
    assert fits_width(page)
    screenshot(page, f"forms-settings-{page.label}")

    # The register form says which country it assumes, and the same spelling now registers.
    page.goto(REGISTER)
    expect(page.locator("#id_phone_number_helptext")).to_contain_text("a number of United States")
    page.get_by_label("Phone number", exact=True).fill("475-234-5678")
    page.get_by_label("Agent", exact=True).fill("A agent 1")
    page.get_by_role("button", name="Register number", exact=True).last.click()
    page.wait_for_url("**/app/ws-a/numbers/*/")
    expect(page.locator("body")).to_contain_text("+1 475-234-5678")
    assert ChannelBinding.objects.get().phone_number.e164 == "+14752345678"


def test_the_agent_conflict_links_the_number_that_holds_the_agent(form_page, screenshot, customer_a, trunk_a, agents_a):
    page = form_page
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    page.goto(REGISTER)
    # Find the agent without knowing its exact name: busy agents are marked.
    page.get_by_label("Agent", exact=True).fill("agent")
    page.get_by_role("button", name="Find agents").click()
    matches = page.locator("[data-agent-matches]")
    expect(matches).to_contain_text("3 agents match")
    expect(matches.locator("li", has_text="A agent 1")).to_contain_text("already answers call on +12345678901")
    page.get_by_label("Phone number", exact=True).fill("+1 202 555 0150")
    page.get_by_label("Agent", exact=True).fill("A agent 1")
    page.get_by_role("button", name="Register number", exact=True).last.click()
    expect(page.locator("#id_agent_error")).to_contain_text("A agent 1 already answers call on +1 234-567-8901.")
    link = page.locator("[data-agent-holder] a")
    expect(link).to_have_text("Open +1 234-567-8901")
    assert fits_width(page)
    screenshot(page, f"forms-agent-conflict-{page.label}")
    link.click()
    page.wait_for_url(f"**/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/")


def test_a_csv_row_with_three_problems_shows_three_in_a_preview_that_fits(
    desktop_or_phone, screenshot, staff_user, workspace_a, agents_a, tmp_path
):
    page = desktop_or_phone
    services.workspace_update_settings(workspace=workspace_a, actor=Actor.command("tests"), default_region="")
    log_in(page, staff_user.username, USER_PASSWORD, path="/admin/login/")
    page.goto("/admin/channels_app/phonenumber/import/")
    long_settings = '{"note": "' + "a-very-long-value-" * 12 + '"}'
    path = tmp_path / "trunks.csv"
    path.write_text(
        csv_text(
            row("+1 202 555 0141", agents_a[0], additional_settings=long_settings, sip_gateway="sip.example.com"),
            row("+1 202 555 0141", agents_a[1], sip_gateway="sip:gw.example.com", sip_port="99999"),
        )
    )
    page.select_option("#id_workspace", str(workspace_a.pk))
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Preview").click()
    refused = page.locator("#line-3")
    expect(refused).to_contain_text("refused: 3 problems")
    expect(refused.locator(".errorlist li")).to_have_count(3)
    expect(refused).to_contain_text("This number is already bound on call.")
    expect(page.locator("#import-rows")).not_to_contain_text("VALIDATION_ERROR")
    if page.label == "desktop":
        assert page.evaluate("document.querySelector('#import-rows').scrollWidth") <= 1280
        assert fits_width(page)
    screenshot(page, f"forms-csv-preview-{page.label}")
