"""The WhatsApp line in Chromium: the register form shows the WhatsApp fields only for WhatsApp,
and the number page shows what to paste into Meta, the line check and the message counters."""

from __future__ import annotations

import pytest

from channels_app.services import delivery
from channels_app.whatsapp.payload import Inbound
from tests.browser.conftest import log_in
from tests.conftest import USER_PASSWORD
from tests.whatsapp.conftest import line_a  # noqa: F401 - fixture
from tests.whatsapp.support import ACCESS_TOKEN, APP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_register_form_swaps_call_and_whatsapp_settings(page, customer_a, agent_a):
    log_in(page, "customer-a", USER_PASSWORD)
    page.goto("/app/ws-a/numbers/register/")
    assert page.get_by_label("Phone number ID").is_hidden()
    page.get_by_label("WhatsApp", exact=True).check()
    assert page.get_by_label("Phone number ID").is_visible()
    assert page.get_by_label("Gateway", exact=True).is_hidden()


def test_the_number_page_shows_the_webhook_the_check_and_the_messages(page, customer_a, line_a, screenshot):  # noqa: F811
    delivery.messages_receive(
        binding=line_a, messages=[Inbound("wamid.1", "16315551181", "text", None, {"text": {"body": "Hi"}}, None)]
    )
    log_in(page, "customer-a", USER_PASSWORD)
    page.goto(f"/app/ws-a/numbers/{line_a.phone_number.phone_number_uuid}/")
    assert page.get_by_label("Callback URL").input_value() == line_a.webhook_url
    assert page.get_by_label("Verify token").input_value() == line_a.verify_token
    assert page.locator('[data-counter="received"]').inner_text() == "1"
    assert page.locator('[data-counter="pending"]').inner_text() == "1"
    html = page.content()
    assert ACCESS_TOKEN not in html and APP_SECRET not in html
    screenshot(page, "whatsapp-number-page")
