"""The project's middleware.

`PrivateResponsesMiddleware`: every answer to an authenticated request is `Cache-Control: no-store,
private`.

`DatabaseFaultMiddleware` turns database faults that escape a view into clean answers, never a
traceback:
- SQLite "database is locked" (a writer held the lock past the busy timeout) and a lost
  PostgreSQL connection are transient: 503 with Retry-After.
- Any other database error: 500.
API paths get the JSON error envelope; pages get a plain error page. Each service runs in one
transaction, so whatever failed was rolled back as a whole.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import patch_cache_control

from channels_app.api.envelope import error_body

logger = logging.getLogger("channels_app.faults")
RETRY_AFTER_SECONDS = 2


def is_transient(exc: BaseException) -> bool:
    """A fault worth retrying: lock contention or a dropped connection."""
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc).lower()
        return any(word in text for word in ("locked", "busy", "connection", "terminat", "timeout", "server closed"))
    return False


def error_envelope(status: int, *, transient: bool) -> JsonResponse:
    if transient:
        body = error_body("SERVICE_UNAVAILABLE", "Service temporarily unavailable", details="Please retry later.")
    else:
        body = error_body("INTERNAL_ERROR", "Internal server error", details="An unexpected error occurred.")
    response = JsonResponse(body, status=status)
    if transient:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class PrivateResponsesMiddleware:
    """`Cache-Control: no-store, private` on every response to an authenticated request: a
    signed-in user's page (self-serve and admin) or a token's API answer.

    Such an answer carries one tenant's data: no shared cache (a proxy, a CDN) may keep it and no
    browser may store it on disk. The one place that decides it, for every door and every view,
    error pages included. Left alone: static files (answered by WhiteNoise before this runs),
    and what answers nobody in particular: anonymous pages (the login page and `/api/v1/health`
    set their own no-cache headers) and the public OpenAPI schema and docs page, the same for
    everyone (they authenticate no one, so DRF marks their requests anonymous).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _authenticated(request):
            patch_cache_control(response, no_store=True, private=True)
        return response


def _authenticated(request: HttpRequest) -> bool:
    if getattr(request, "auth", None) is not None:  # an API token (DRF sets it on the request)
        return True
    try:
        user = getattr(request, "user", None)  # a session user, or the token's principal
        return bool(user is not None and user.is_authenticated)
    except DatabaseError:  # the session could not be read: the answer may still be someone's
        return True


class DatabaseFaultMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DatabaseError):
            return None
        transient = is_transient(exception)
        status = 503 if transient else 500
        logger.error("Database fault on %s %s: %s", request.method, request.path, type(exception).__name__)
        if request.path.startswith("/api/"):
            return error_envelope(status, transient=transient)
        body = loader.render_to_string(f"{status}.html", request=None)
        response = HttpResponse(body, status=status)
        if transient:
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
