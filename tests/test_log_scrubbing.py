"""Credentials and tokens never reach a log record or an error report."""

from __future__ import annotations

import logging

from django.test import RequestFactory

from channels_app import tokens
from channels_app.logging import ScrubSecretsFilter, SecretSafeExceptionReporterFilter, scrub
from tests.conftest import MARKER_PASSWORD


def test_scrub_masks_bearer_tokens_our_token_format_and_credential_pairs():
    token = tokens.generate()
    text = f'Authorization: Bearer {token} sip_password={MARKER_PASSWORD} {{"password": "{MARKER_PASSWORD}"}} {token}'
    cleaned = scrub(text)
    assert token not in cleaned
    assert MARKER_PASSWORD not in cleaned
    assert "********" in cleaned


def test_the_logging_filter_rewrites_the_record_and_keeps_it(caplog):
    logger = logging.getLogger("tests.scrub")
    logger.addFilter(ScrubSecretsFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tests.scrub"):
            logger.info("payload %s", {"sip": {"password": MARKER_PASSWORD}})
    finally:
        logger.filters.clear()
    assert len(caplog.records) == 1
    assert MARKER_PASSWORD not in caplog.text


def test_error_reports_hide_credential_post_parameters_and_the_authorization_header():
    request = RequestFactory().post(
        "/app/",
        {"sip_password": MARKER_PASSWORD, "sip_username": "someone", "name": "visible"},
        HTTP_AUTHORIZATION=f"Bearer {tokens.generate()}",
    )
    reporter = SecretSafeExceptionReporterFilter()
    params = reporter.get_post_parameters(request)
    assert params["sip_password"] != MARKER_PASSWORD
    assert params["sip_username"] != "someone"
    assert params["name"] == "visible"
    meta = reporter.get_safe_request_meta(request)
    assert meta["HTTP_AUTHORIZATION"] == reporter.cleansed_substitute
