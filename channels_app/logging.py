"""Keep credentials and API tokens out of log records and error reports."""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

# Bearer tokens, our token format, Meta's, and common credential keys in text ("password=...").
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.=]+"),
    re.compile(r"\btka_[A-Za-z0-9_]+"),
    re.compile(r"\bEAA[A-Za-z0-9]{16,}"),  # Meta access tokens (WhatsApp lines)
    re.compile(r"(?i)((?:sip_)?(?:password|username|secret|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"),
]


def scrub(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "********", text)
        else:
            text = pattern.sub("********", text)
    return text


class ScrubSecretsFilter(logging.Filter):
    """Rewrites each record's message with secrets masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class SecretSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding SIP credential and token keys in POST data and settings."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|USERNAME", flags=re.IGNORECASE
    )

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is None:
            return params
        params = params.copy()
        for key in list(params.keys()):
            if self.hidden_settings.search(key):
                params[key] = self.cleansed_substitute
        return params
