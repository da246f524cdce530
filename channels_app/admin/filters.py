"""List filters and number search shared by the changelists.

Filters on a number's bindings use EXISTS subqueries, not joins: a join would repeat a number
bound on two channels and force a DISTINCT over the whole table.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app import numbers
from channels_app.models import Channel, ChannelBinding, Direction

NUMBER_SEARCH_HELP = _(
    "Search by number in any spelling: +1 (234) 567-8901, 12345678901, 020 7183 8750 or a few digits."
)


def search_by_number(queryset: QuerySet, term: str, *, number_field: str, uuid_field: str) -> QuerySet | None:
    """Filter by the digits of `term`, however it is spelled; None when the term has no digits.

    Matching is on digits, so every spelling (`any-spelling`) and any partial run of digits finds the
    stored E.164 number. A "(0)" is dropped ("+44 (0)20 7183 8750"). Leading zeros (a national
    trunk prefix, or the 00 international prefix) are also tried without them, so
    "020 7183 8750" finds +442071838750. A UUID finds its row. A whole valid number
    is first looked up on the unique index: the partial-digits match reads every number, which
    grows with the inventory (docs/performance.md). Only a hit is kept: a national spelling
    without its country code ("364 461 8640" for +1 364 461 8640) can also read as another
    country's valid number (+36 44 618 640), and must still find the number by its digits.
    """
    term = term.strip()
    if not term:
        return None
    try:
        return queryset.filter(**{uuid_field: uuid.UUID(term)})
    except ValueError:
        pass
    try:
        exact = queryset.filter(**{number_field: numbers.to_e164(term)})
    except numbers.InvalidNumber:
        pass
    else:
        if exact.exists():
            return exact
    digits = numbers.search_digits(term.replace("(0)", ""))  # "+44 (0)20 ...": the (0) is not dialled
    if not digits:
        return None
    condition = Q(**{f"{number_field}__contains": digits})
    without_zeros = digits.lstrip("0")
    if without_zeros and without_zeros != digits:
        condition |= Q(**{f"{number_field}__contains": without_zeros})
    return queryset.filter(condition)


def _bindings_of_number(**lookup) -> Exists:
    return Exists(ChannelBinding.objects.filter(phone_number=OuterRef("pk"), **lookup))


class NumberChannelFilter(admin.SimpleListFilter):
    title = _("bound on channel")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return [*Channel.choices, ("none", _("Not bound"))]

    def queryset(self, request, queryset):
        value = self.value()
        if value in Channel.values:
            return queryset.filter(_bindings_of_number(channel=value))
        if value == "none":
            return queryset.exclude(_bindings_of_number())
        return queryset


class NumberDirectionFilter(admin.SimpleListFilter):
    title = _("call direction")
    parameter_name = "direction"

    def lookups(self, request, model_admin):
        return Direction.choices

    def queryset(self, request, queryset):
        if self.value() in Direction.values:
            return queryset.filter(_bindings_of_number(channel=Channel.CALL, direction=self.value()))
        return queryset


class AgentFilter(admin.ListFilter):
    """Filter by agent: a name (or part of it) or an agent UUID typed into the sidebar.

    A list of links would hold every agent of the installation (tens of thousands): too long to
    render or to read. The typed value narrows the list with one EXISTS or join, whatever the
    number of agents.
    """

    title = _("agent")
    parameter_name = "agent"
    template = "admin/channels_app/input_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        value = params.pop(self.parameter_name, None)
        self.value = (value[-1] if isinstance(value, list) else value or "").strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def agent_lookup(self) -> dict[str, object]:
        try:
            return {"agent__agent_uuid": uuid.UUID(self.value)}
        except ValueError:
            return {"agent__name__icontains": self.value}

    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        return queryset.filter(**self.agent_lookup())

    def choices(self, changelist):
        kept = QueryDict(changelist.get_query_string(remove=[self.parameter_name])[1:])
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value,
            "hidden": [(name, value) for name, values in kept.lists() for value in values],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
            "placeholder": _("name or UUID"),
        }


class NumberAgentFilter(AgentFilter):
    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        return queryset.filter(_bindings_of_number(**self.agent_lookup()))


class TokenStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if value == "active":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
        return queryset
