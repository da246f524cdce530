"""The API's envelope, built in one place for every answer: views, the exception handler, and the
middleware that catches database faults outside DRF.

    {"success": true, "message": "...", "data": ...}
    {"success": false, "message": "...", "error": {"code": "UPPER_SNAKE", "details": "...", "field": ...}}
"""

from __future__ import annotations

from typing import Any


def success_body(message: str, data: Any) -> dict[str, Any]:
    return {"success": True, "message": message, "data": data}


def error_body(
    code: str,
    message: str,
    *,
    details: str | None = None,
    field: str | None = None,
    fields: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Validation errors add `fields` ({dotted.path: [messages]}); `field` and `details` carry the first."""
    error: dict[str, Any] = {"code": code, "details": details if details is not None else message, "field": field}
    if fields:
        error["fields"] = fields
    return {"success": False, "message": message, "error": error}
