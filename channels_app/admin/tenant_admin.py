"""Workspaces, their members and their agents.

These carry no rule beyond their model constraints (no service owns them), so the admin edits
them as plain model forms, which run `full_clean()`. What would break a rule elsewhere is
refused here: an agent never moves to another workspace (its bindings would cross tenants), and
an agent or workspace that still has bindings cannot be deleted (PROTECT).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_app.admin.base import ChangeListMixin
from channels_app.models import Agent, Membership, Workspace


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
