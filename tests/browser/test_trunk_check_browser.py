"""The self-serve "Check now" button in Chromium: a customer checks a call trunk whose gateway is a
real SIP peer (sipp on 127.0.0.1) and reads the result on the number page.

Screenshots: test-output/screenshots/selfserve-trunk-check-*.png.
"""

from __future__ import annotations

import re

from channels_app import services
from tests.browser.conftest import log_in
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, USER_PASSWORD
from tests.sip import conftest as sip_fixtures

# The SIP peer and the address-policy switch of tests/sip/.
sip_peer, private_allowed = sip_fixtures.sip_peer, sip_fixtures.private_allowed


def test_a_customer_presses_check_now_and_sees_the_result_of_the_check(
    page,
    phone_page,
    live_server,
    screenshot,
    sip_peer,
    private_allowed,
    customer_a,
    workspace_a,
    agent_a,
    command_actor,
):
    peer = sip_peer("registrar.xml", username=MARKER_USERNAME, password=MARKER_PASSWORD)
    binding = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+1 202 555 0147",
        agent_uuid=agent_a.agent_uuid,
        channel="call",
        sip={"gateway": peer.host, "port": peer.port, "username": MARKER_USERNAME, "password": MARKER_PASSWORD},
    )
    number_page = f"/app/ws-a/numbers/{binding.phone_number.phone_number_uuid}/"
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    page.goto(number_page)

    check = page.locator("#trunk-check")
    assert check.locator("[data-health-status]").inner_text() == "Not checked yet"
    screenshot(page, "selfserve-trunk-check-before-desktop")

    check.get_by_role("button", name="Check now").click()

    page.wait_for_url(re.compile(r".*/numbers/[0-9a-f-]+/#trunk-check$"))
    assert page.get_by_role("status").inner_text() == "Trunk checked: Reachable, credentials accepted."
    assert check.locator("[data-health-status]").inner_text() == "Reachable, credentials accepted"
    assert "Checked " in check.inner_text() and " UTC" in check.inner_text()
    gateway = check.locator(".health__gateway")
    assert f"127.0.0.1:{peer.port}" in gateway.inner_text()
    assert f"127.0.0.1:{peer.port} accepted the credentials (SIP/2.0 200 OK)." in gateway.inner_text()
    assert re.search(r"OPTIONS\s+SIP/2\.0 200 OK · \d+\.\d ms", gateway.inner_text())
    assert re.search(r"REGISTER\s+SIP/2\.0 200 OK · \d+\.\d ms", gateway.inner_text())
    assert MARKER_PASSWORD not in page.content() and MARKER_USERNAME not in page.content()
    screenshot(page, "selfserve-trunk-check-ok-desktop")

    # Pressed again at once: refused, said plainly, and the stored result stays on the page.
    check.get_by_role("button", name="Check now").click()
    page.wait_for_load_state()
    assert re.fullmatch(
        r"This trunk was checked moments ago\. A trunk can be checked once every 30 seconds\. "
        r"Try again in \d+ seconds\.",
        page.get_by_role("status").inner_text(),
    )
    assert check.locator("[data-health-status]").inner_text() == "Reachable, credentials accepted"
    screenshot(page, "selfserve-trunk-check-rate-limited-desktop")
    assert len(peer.received()) == 3  # one OPTIONS and a challenged REGISTER: the second press sent nothing

    # The result reads on a phone too.
    log_in(phone_page, "customer-a", USER_PASSWORD)
    phone_page.wait_for_url("**/app/ws-a/numbers/")
    phone_page.goto(number_page + "#trunk-check")
    assert phone_page.locator("#trunk-check [data-health-status]").inner_text() == "Reachable, credentials accepted"
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone_page, "selfserve-trunk-check-ok-phone")
