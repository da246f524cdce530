"""One exception handler: every failure of the API becomes the contract's error envelope.

    {"success": false, "message": "...", "error": {"code": "UPPER_SNAKE", "details": "...", "field": ...}}

Validation errors add `error.fields` ({dotted.path: [messages]}); `field` and `details` carry the
first. Unexpected errors are logged and answered with INTERNAL_ERROR, never with their text.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from channels_app.errors import ERROR_STATUS, DomainError
from channels_app.fields import CredentialDecryptionError

from .authentication import INVALID_DETAILS, INVALID_MESSAGE, MISSING_DETAILS, MISSING_MESSAGE
from .envelope import error_body
from .parsers import JSONLimitExceeded

logger = logging.getLogger("channels_app.api")

VALIDATION_MESSAGE = "The request is not valid."
RETRY_LATER = "Please retry later."


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {dotted.path: [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") and not prefix else str(key)
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def validation_response(fields: dict[str, list[str]]) -> Response:
    first_field, first_messages = next(iter(fields.items()))
    body = error_body(
        "VALIDATION_ERROR",
        VALIDATION_MESSAGE,
        details=first_messages[0] if first_messages else VALIDATION_MESSAGE,
        field=None if first_field == "non_field_errors" else first_field,
        fields=fields,
    )
    return Response(body, status=ERROR_STATUS["VALIDATION_ERROR"])


def _respond(code: str, message: str, details: str | None = None, *, headers: dict | None = None) -> Response:
    return Response(error_body(code, message, details=details), status=ERROR_STATUS[code], headers=headers)


def api_exception_handler(exc: Exception, context: dict) -> Response:
    set_rollback()
    response = _response_for(exc)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header and response.status_code == 401:
        response["WWW-Authenticate"] = auth_header
    return response


def _response_for(exc: Exception) -> Response:
    if isinstance(exc, DomainError):
        if exc.code == "VALIDATION_ERROR" and exc.fields:
            return validation_response(exc.fields)
        body = error_body(exc.code, exc.message, details=exc.details, field=exc.field, fields=exc.fields)
        retry_after = getattr(exc, "retry_after", None) or (1 if exc.status in (429, 503) else None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return Response(body, status=exc.status, headers=headers)
    if isinstance(exc, drf.NotAuthenticated):
        return _respond("MISSING_AUTH_TOKEN", MISSING_MESSAGE, MISSING_DETAILS)
    if isinstance(exc, drf.AuthenticationFailed):
        return _respond("INVALID_AUTH_TOKEN", INVALID_MESSAGE, INVALID_DETAILS)
    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        return _respond("INSUFFICIENT_SCOPE", "This token cannot make this request")
    if isinstance(exc, (drf.NotFound, Http404)):
        return _respond("NOT_FOUND", "Not found", "No API resource at this address.")
    if isinstance(exc, drf.MethodNotAllowed):
        return _respond("METHOD_NOT_ALLOWED", "Method not allowed", str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return _respond("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "Send the body as application/json.")
    if isinstance(exc, JSONLimitExceeded):
        return _respond("INVALID_JSON", "Invalid JSON", str(exc.detail))
    if isinstance(exc, drf.ParseError):
        return _respond("INVALID_JSON", "Invalid JSON", "The request body is not valid JSON.")
    if isinstance(exc, RequestDataTooBig):
        return _respond("INVALID_JSON", "Request body too large", "The request body is larger than the API accepts.")
    if isinstance(exc, drf.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        return _respond(
            "RATE_LIMITED",
            "Too many requests",
            f"This token made too many requests; retry in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, drf.ValidationError):
        return validation_response(_flatten(exc.detail) or {"non_field_errors": [VALIDATION_MESSAGE]})
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return validation_response(_flatten(detail))
    if isinstance(exc, CredentialDecryptionError):
        logger.error("Stored credentials cannot be decrypted with the configured keys")
        return _respond("SERVICE_UNAVAILABLE", "Service unavailable", RETRY_LATER, headers={"Retry-After": "30"})
    if isinstance(exc, OperationalError):
        logger.exception("Database unavailable while serving an API request")
        return _respond("SERVICE_UNAVAILABLE", "Service unavailable", RETRY_LATER, headers={"Retry-After": "5"})
    if isinstance(exc, drf.APIException) and exc.status_code < 500:
        return _respond("VALIDATION_ERROR", VALIDATION_MESSAGE, str(exc.detail))
    if isinstance(exc, DatabaseError):
        logger.exception("Database error while serving an API request")
    else:
        logger.exception("Unexpected error while serving an API request")
    return _respond("INTERNAL_ERROR", "Internal server error", "Something went wrong on our side.")
