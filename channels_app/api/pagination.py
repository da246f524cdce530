"""`page` (from 1) and `per_page` (default 15, at most 100) -> `data.pagination`.

Two queries whatever the size of the page or the table: one COUNT, one slice (plus the
prefetches of the queryset itself). A page past the end is an empty page, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from channels_app.errors import ValidationFailed

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100


def _positive_int(raw: str | None, field: str, default: int, maximum: int | None = None) -> int:
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise ValidationFailed.single(field, "Must be a whole number, 1 or more.")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise ValidationFailed.single(field, f"Must be at most {maximum}.")
    return value


def page_params(query) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    page = per_page = 0
    try:
        page = _positive_int(query.get("page"), "page", 1)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    try:
        per_page = _positive_int(query.get("per_page"), "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    if errors:
        raise ValidationFailed(errors)
    return page, per_page


def paginate(query, items: Sequence[Any], represent: Callable[[Any], dict]) -> dict[str, Any]:
    """Slice a queryset (or list) for the requested page and represent each item."""
    page, per_page = page_params(query)
    total = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    start = (page - 1) * per_page
    rows = list(items[start : start + per_page]) if start < total else []
    return {
        "items": [represent(row) for row in rows],
        "pagination": {
            "current_page": page,
            "per_page": per_page,
            "total": total,
            "last_page": max(1, math.ceil(total / per_page)),
        },
    }
