"""Read a WhatsApp Business phone number from Meta's Graph API: is the line healthy?

No Django models here: `services.whatsapp_check` loads the trunk, decrypts its token for this call
only and stores the result. The standard library's HTTP client, one GET with a timeout; the token
travels in the Authorization header only and is never logged, put into a URL or into a result.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from channels_app.whatsapp.status import WhatsappHealth

FIELDS = "display_phone_number,verified_name,quality_rating,code_verification_status"
MAX_ANSWER_BYTES = 64 * 1024
# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling): the token is
# invalid or expired (190, 102, 463/467 subcodes), or lacks the permission (10, 200-299).
AUTH_CODES = {102, 190, 10}
AUTH_RANGE = range(200, 300)
# "Unsupported get request / object does not exist", "unknown path": no such number for this token.
UNKNOWN_OBJECT_CODES = {100, 803}


@dataclass(frozen=True)
class LineCheck:
    """The result of one check, as stored on the trunk (`health_details`)."""

    status: str
    message: str
    http_status: int | None = None
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None
    error_code: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "http_status": self.http_status,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "quality_rating": self.quality_rating,
            "error_code": self.error_code,
        }


def _digits(text: str | None) -> str:
    return re.sub(r"[^0-9]", "", text or "")


def _text(value: Any, limit: int = 255) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def check_line(*, base_url: str, phone_number_id: str, access_token: str, e164: str, timeout: float) -> LineCheck:
    """GET {base_url}/{phone_number_id} with the token, and what the answer says about the line
    of `e164`. Never raises for a network or Graph problem: that is a status."""
    url = f"{base_url.rstrip('/')}/{urllib.parse.quote(phone_number_id, safe='')}?fields={FIELDS}"
    request = urllib.request.Request(  # noqa: S310 - the scheme is the configured WHATSAPP_GRAPH_URL's
        url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_ANSWER_BYTES + 1)
        exc.close()
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return LineCheck(
            WhatsappHealth.UNREACHABLE, f"The Graph API did not answer ({type(reason).__name__}). Try again later."
        )
    try:
        answer = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        return LineCheck(
            WhatsappHealth.UNREACHABLE,
            f"The Graph API answered HTTP {status} without a readable body. Try again later.",
            http_status=status,
        )
    if status >= 400 or "error" in answer:
        return _graph_error(status, answer.get("error"))
    shown = _text(answer.get("display_phone_number"))
    found = LineCheck(
        WhatsappHealth.OK,
        "",
        http_status=status,
        display_phone_number=shown,
        verified_name=_text(answer.get("verified_name")),
        quality_rating=_text(answer.get("quality_rating"), 32),
    )
    if _digits(shown) != _digits(e164):
        message = (
            f"This phone number id belongs to {shown or 'another number'}, not {e164}. "
            "Copy the phone number id of this number from the WhatsApp Manager."
        )
        return LineCheck(**{**found.__dict__, "status": WhatsappHealth.NUMBER_MISMATCH, "message": message})
    rating = f", quality rating {found.quality_rating}" if found.quality_rating else ""
    message = f"Connected as {found.verified_name or shown}{rating}."
    return LineCheck(**{**found.__dict__, "message": message})


def _graph_error(status: int, error: Any) -> LineCheck:
    """A Graph error answer as a status with a message in plain words (never the token)."""
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    if status in (401, 403) or code in AUTH_CODES or (code is not None and code in AUTH_RANGE):
        return LineCheck(
            WhatsappHealth.AUTH_FAILED,
            "Meta refused the access token (expired, revoked or without the whatsapp_business_management "
            "permission). Generate a new one and save it on this trunk.",
            http_status=status,
            error_code=code,
        )
    if status == 404 or code in UNKNOWN_OBJECT_CODES:
        return LineCheck(
            WhatsappHealth.NUMBER_MISMATCH,
            "The Graph API knows no phone number with this id for this token. Check the phone number id.",
            http_status=status,
            error_code=code,
        )
    return LineCheck(
        WhatsappHealth.UNREACHABLE,
        f"The Graph API answered HTTP {status}"
        + (f" (error {code})" if code is not None else "")
        + ". Try again later.",
        http_status=status,
        error_code=code,
    )
