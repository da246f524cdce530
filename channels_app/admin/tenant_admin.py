"""Workspaces, their members and their agents.

These carry no rule beyond their model constraints (no service owns them), so the admin edits
them as plain model forms, which run `full_clean()`. What would break a rule elsewhere is
refused here: an agent never moves to another workspace (its bindings would cross tenants), and
an agent or workspace that still has bindings cannot be deleted (PROTECT).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_app.admin.base import ChangeListMixin
from channels_app.models import Agent, ApiToken, ChannelBinding, Membership, PhoneNumber, Workspace

# What the staff overview counts per workspace, and the changelist each count leads to.
OVERVIEW_COLUMNS = (
    ("numbers", PhoneNumber, "phonenumber", _("numbers")),
    ("bindings", ChannelBinding, "channelbinding", _("bindings")),
    ("agents", Agent, "agent", _("agents")),
    ("tokens", ApiToken, "apitoken", _("API tokens")),
    ("members", Membership, "membership", _("members")),
)


def changelist_of(model_name: str, workspace: Workspace) -> str:
    """A changelist of the admin filtered by one workspace."""
    return f"{reverse(f'admin:channels_app_{model_name}_changelist')}?workspace__id__exact={workspace.pk}"


def _count_of(model) -> Coalesce:
    rows = model.objects.filter(workspace=OuterRef("pk")).order_by().values("workspace")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class AgentInline(admin.TabularInline):
    model = Agent
    extra = 0
    fields = ("name", "status", "agent_uuid")
    readonly_fields = ("agent_uuid",)
    show_change_link = True


@admin.register(Workspace)
class WorkspaceAdmin(ChangeListMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "default_region", "uuid", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("uuid", "created_at")
    fields = ("name", "slug", "default_region", "uuid", "created_at")
    inlines = [MembershipInline, AgentInline]
    ordering = ("name",)

    def get_urls(self):
        overview = self.admin_site.admin_view(self.overview_view)
        return [path("overview/", overview, name="channels_app_workspace_overview"), *super().get_urls()]

    def overview_view(self, request):
        """Staff's "View site": every workspace, each count a link into the admin filtered by it.

        Staff see customers' workspaces here, through the admin and its permissions, never
        through the self-serve pages (which answer members only)."""
        workspaces = Workspace.objects.order_by("name").annotate(
            **{f"count_{key}": _count_of(model) for key, model, _name, _label in OVERVIEW_COLUMNS}
        )
        rows = [
            {
                "workspace": workspace,
                "links": [
                    {
                        "label": label,
                        "count": getattr(workspace, f"count_{key}"),
                        "url": changelist_of(name, workspace),
                    }
                    for key, _model, name, label in OVERVIEW_COLUMNS
                ],
            }
            for workspace in workspaces
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Workspaces"),
            "rows": rows,
            "columns": [label for _key, _model, _name, label in OVERVIEW_COLUMNS],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/channels_app/workspace/overview.html", context)

    def get_readonly_fields(self, request, obj=None):
        # The slug names the workspace in commands and URLs: fixed once created.
        return (*self.readonly_fields, "slug") if obj is not None else self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields


@admin.register(Agent)
class AgentAdmin(ChangeListMixin, admin.ModelAdmin):
    list_display = ("name", "workspace", "status", "agent_uuid", "numbers", "created_at")
    list_filter = ("workspace", "status")
    list_select_related = ("workspace",)
    search_fields = ("name", "workspace__name", "workspace__slug", "=agent_uuid")
    autocomplete_fields = ("workspace",)
    readonly_fields = ("agent_uuid", "created_at")
    fields = ("workspace", "name", "status", "agent_uuid", "created_at")
    ordering = ("workspace__name", "name", "id")

    @admin.display(description=_("numbers"))
    def numbers(self, agent):
        url = reverse("admin:channels_app_phonenumber_changelist")
        return format_html('<a href="{}?agent={}">{}</a>', url, agent.agent_uuid, _("numbers it serves"))

    def get_readonly_fields(self, request, obj=None):
        # An agent never changes workspace: its bindings would point across tenants.
        return (*self.readonly_fields, "workspace") if obj is not None else self.readonly_fields


@admin.register(Membership)
class MembershipAdmin(ChangeListMixin, admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role", "workspace")
    list_select_related = ("user", "workspace")
    search_fields = ("user__username", "user__email", "workspace__name", "workspace__slug")
    autocomplete_fields = ("user", "workspace")
    ordering = ("workspace__name", "user__username")
