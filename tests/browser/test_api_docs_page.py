"""The interactive API docs render in Chromium under the project's strict CSP, with no CDN."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_page_renders_every_operation_under_the_strict_csp(page, live_server, screenshot):
    problems: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))

    page.goto("/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "trunkadmin API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert len(paths) == 18  # every operation of the schema: the trunk check, test call and explainer included
    assert any("/api/v1/phone-numbers/trunks" in path for path in paths)
    page.locator(".opblock-summary-path", has_text="/api/v1/phone-numbers/trunks/assign").first.click()
    page.wait_for_selector(".opblock.is-open")
    screenshot(page, "api-docs")

    assert hosts == {urlparse(live_server.url).netloc}
    assert [problem for problem in problems if "Content Security Policy" in problem or "Refused" in problem] == []
    assert problems == []
