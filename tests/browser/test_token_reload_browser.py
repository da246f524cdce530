"""Reloading the page that shows a new API token, in Chromium: the browser posts the form again,
and that creates nothing and shows nothing."""

from __future__ import annotations

import re

from channels_app.models import ApiToken
from tests.browser.conftest import log_in
from tests.conftest import USER_PASSWORD


def test_reloading_the_page_that_shows_a_new_token_creates_nothing_and_shows_nothing(page, screenshot, customer_a):
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    log_in(page, "customer-a", USER_PASSWORD)
    page.wait_for_url("**/app/ws-a/numbers/")
    page.goto("/app/ws-a/tokens/")
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create token").click()
    plaintext = page.get_by_label("New API token").input_value()
    assert plaintext.startswith("tka_")
    posts.clear()

    page.reload()  # Chromium sends the same POST again: the answer was no-store

    page.wait_for_url("**/app/ws-a/tokens/")
    assert [url for url in posts if url.endswith("/app/ws-a/tokens/")], posts  # it really posted again
    html = page.content()
    assert "“CRM sync” was already created by this form, so nothing new was created." in html
    assert plaintext not in html and not re.search(r"tka_[A-Za-z0-9_-]{49}", html)
    assert page.get_by_label("New API token").count() == 0
    assert ApiToken.objects.count() == 1
    screenshot(page, "selfserve-token-reloaded-desktop")
