"""`page` (from 1) and `per_page` (default 15, at most 100) -> `data.pagination`, on Django's Paginator.

A page past the end is an empty page with the true totals, not an error; a bad `page` or
`per_page` is a VALIDATION_ERROR on that parameter. The number lists count themselves from the
inventory counters (selectors.sql.NumberListing), so no request counts a workspace's rows.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, Paginator
from rest_framework.request import Request

from channels_app import inputs
from channels_app.errors import ValidationFailed

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100
MAX_PAGE = 999_999_999


def _positive_int(query: Any, name: str, default: int, errors: dict[str, list[str]]) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        return inputs.whole_number(raw, minimum=1, maximum=MAX_PAGE, message="Must be a whole number, 1 or more.")
    except inputs.InputError as exc:
        errors[name] = [exc.message]
        return default


def page_params(query: Any) -> tuple[int, int]:
    """(page, per_page) from the query string; both checked at once."""
    errors: dict[str, list[str]] = {}
    page = _positive_int(query, "page", 1, errors)
    per_page = _positive_int(query, "per_page", DEFAULT_PER_PAGE, errors)
    if "per_page" not in errors and per_page > MAX_PER_PAGE:
        errors["per_page"] = [f"Must be at most {MAX_PER_PAGE}."]
    if errors:
        raise ValidationFailed(errors)
    return page, per_page


def paginate(request: Request, items: Any, serializer_class: type) -> dict[str, Any]:
    """The requested page of `items` (a queryset, a listing or a list), rendered by `serializer_class`."""
    number, per_page = page_params(request.query_params)
    paginator = Paginator(items, per_page)
    try:
        rows = paginator.page(number).object_list
    except EmptyPage:
        rows = []
    return {
        "items": serializer_class(rows, many=True).data,
        "pagination": {
            "current_page": number,
            "per_page": per_page,
            "total": paginator.count,
            "last_page": paginator.num_pages,
        },
    }
