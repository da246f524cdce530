"""List filters and number search shared by the changelists.

Filters on a number's bindings use EXISTS subqueries, not joins: a join would repeat a number
bound on two channels and force a DISTINCT over the whole table.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app import numbers
from channels_app.models import Agent, Channel, ChannelBinding, Direction

WORKSPACE_PARAM = "workspace__id__exact"
NUMBER_SEARCH_HELP = _(
    "Search by number in any spelling: +1 (234) 567-8901, 12345678901, 020 7183 8750 or a few digits."
)


def search_by_number(queryset: QuerySet, term: str, *, number_field: str, uuid_field: str) -> QuerySet | None:
    """Filter by the digits of `term`, however it is spelled; None when the term has no digits.

    Matching is on digits, so every spelling of rule 13 and any partial run of digits finds the
    stored E.164 number. A "(0)" is dropped ("+44 (0)20 7183 8750"). Leading zeros (a national
    trunk prefix, or the 00 international prefix) are also tried without them, so
    "020 7183 8750" finds +442071838750. A UUID finds its row.
    """
    term = term.strip()
    if not term:
        return None
    try:
        return queryset.filter(**{uuid_field: uuid.UUID(term)})
    except ValueError:
        pass
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


class AgentFilter(admin.SimpleListFilter):
    """Agents of the workspace chosen in the workspace filter, or every agent with its workspace."""

    title = _("agent")
    parameter_name = "agent"

    def lookups(self, request, model_admin):
        agents = Agent.objects.select_related("workspace").order_by("workspace__name", "name", "id")
        workspace_id = request.GET.get(WORKSPACE_PARAM, "")
        if workspace_id.isdigit():
            return [(str(agent.pk), agent.name) for agent in agents.filter(workspace_id=workspace_id)]
        return [(str(agent.pk), f"{agent.name} ({agent.workspace.name})") for agent in agents]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return self.filter_agent(queryset, int(value))

    def filter_agent(self, queryset, agent_id: int):
        return queryset.filter(agent_id=agent_id)


class NumberAgentFilter(AgentFilter):
    def filter_agent(self, queryset, agent_id: int):
        return queryset.filter(_bindings_of_number(agent_id=agent_id))


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
