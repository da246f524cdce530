"""A Paginator told its total: lists whose total the database keeps (the inventory counters,
`selectors.number_list_count`) page without counting a workspace's rows."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator


class CountedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, count: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count
