"""Keep credentials and API tokens out of log records and error reports."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from django.utils.datastructures import MultiValueDict
from django.views.debug import SafeExceptionReporterFilter
from rest_framework.request import Request

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


_SECRET_NAME = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|USERNAME", flags=re.IGNORECASE)
_WALK_LIMIT = 2_000  # containers and values looked at per frame chain: an error page stays cheap
_MIN_SECRET = 4  # shorter values are not searched for (they would hide unrelated text)


def _secret_strings(value: Any, found: set[str], budget: list[int]) -> None:
    """Every string held under a secret-looking key anywhere in `value` (dicts, lists, tuples,
    a DRF request's parsed data), walked without recursion and within `budget`."""
    pending = [(value, False)]
    while pending and budget[0] > 0:
        item, secret = pending.pop()
        budget[0] -= 1
        if isinstance(item, str):
            if secret and len(item) >= _MIN_SECRET:
                found.add(item)
        elif isinstance(item, dict):
            pending.extend(
                (v, secret or (isinstance(k, str) and bool(_SECRET_NAME.search(k)))) for k, v in item.items()
            )
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend((v, secret) for v in item)
        elif isinstance(item, MultiValueDict):
            pending.extend((v, secret or _secret_key(k)) for k, v in item.lists())
        elif isinstance(item, Request):
            # A body that cannot be parsed holds nothing to find.
            with contextlib.suppress(Exception):
                pending.append((item.data, secret))


def _secret_key(key: Any) -> bool:
    return isinstance(key, str) and _SECRET_NAME.search(key) is not None


class SecretSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active whatever `DEBUG` says, and hiding credentials in every frame.

    Django's own filter only works with DEBUG off and only in functions marked with
    `sensitive_variables`; a password travels through many frames (the view's form data, the
    service's keyword arguments, the validator's loop variable). Here, in every frame of a
    report: a variable with a secret-looking name is hidden; so is any variable whose text
    contains a value held under a secret-looking key (`password`, `sip_password`,
    `access_token`...) in that frame or any frame that called it, or in the request's POST
    data. POST fields with secret-looking names are hidden as well.
    """

    hidden_settings = _SECRET_NAME

    def is_active(self, request):
        return True  # the technical 500 page (DEBUG on) shows frames too

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if request is None:
            return params
        params = params.copy()
        for key in list(params.keys()):
            if self.hidden_settings.search(key):
                params[key] = self.cleansed_substitute
        return params

    def get_traceback_frame_variables(self, request, tb_frame):
        secrets: set[str] = set()
        budget = [_WALK_LIMIT]
        if request is not None:
            _secret_strings(getattr(request, "POST", {}), secrets, budget)
        frame = tb_frame
        while frame is not None and budget[0] > 0:
            for name, value in frame.f_locals.items():
                if _SECRET_NAME.search(name) and isinstance(value, str) and len(value) >= _MIN_SECRET:
                    secrets.add(value)
                _secret_strings(value, secrets, budget)
            frame = frame.f_back
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if _SECRET_NAME.search(name) or _shows_any(value, secrets):
                value = self.cleansed_substitute
            cleansed.append((name, value))
        return cleansed


def _shows_any(value: Any, secrets: set[str]) -> bool:
    if not secrets:
        return False
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails is shown by Django as that failure
        return False
    return any(secret in text for secret in secrets)
