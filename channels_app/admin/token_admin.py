"""API tokens: create (the token is shown once), revoke, audit trail. Only a hash is stored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app import selectors, services
from channels_app.admin.actions import confirmation_page, confirmed, each_or_none, selection
from channels_app.admin.base import (
    ChangeListMixin,
    ServiceAdminMixin,
    ServiceForm,
    admin_actor,
    admin_url,
    missing_object,
)
from channels_app.admin.filters import TokenStateFilter
from channels_app.admin.forms import TokenCreateForm
from channels_app.admin.history import render_trail
from channels_app.errors import DomainError
from channels_app.models import ApiToken


def token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return str(_("revoked"))
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return str(_("expired"))
    return str(_("active"))


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdminMixin, ChangeListMixin, admin.ModelAdmin):
    list_display = ("name", "workspace", "shown_prefix", "scope", "state", "created_at", "expires_at", "last_used_at")
    list_filter = ("workspace", "scope", TokenStateFilter)
    list_select_related = ("workspace", "created_by")
    search_fields = ("name", "prefix", "workspace__name", "workspace__slug")
    ordering = ("-created_at", "-id")
    actions = ["revoke_selected"]
    view_on_site = False

    add_fieldsets = ((None, {"fields": ("workspace", "name", "scope", "expires_at")}),)
    view_fieldsets = (
        (None, {"fields": ("name", "workspace", "shown_prefix", "scope", "state")}),
        (_("Dates"), {"fields": ("created_by", "created_at", "expires_at", "last_used_at", "revoked_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.view_fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return ("shown_prefix", "state") if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TokenCreateForm if obj is None else ServiceForm  # a token is only ever viewed
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request, obj=None) -> bool:
        # A token is never edited: it is created, used, and revoked.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked tokens stay, for the audit trail

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("channels_app.change_apitoken")

    @admin.display(description=_("prefix"))
    def shown_prefix(self, token):
        return f"{token.prefix}…"

    @admin.display(description=_("state"))
    def state(self, token):
        return token_state(token)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Create an API token")}
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_revoke": self.has_revoke_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        """Show the token once, on this page only: it is in no redirect, message or session."""
        plaintext = getattr(self._last_form(request), "plaintext", None)
        request.current_app = self.admin_site.name
        response = TemplateResponse(
            request,
            "admin/channels_app/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Token created"),
                "token": obj,
                "plaintext": plaintext,
            },
        )
        return response  # the admin's views are never cached (no-store)

    def save_form(self, request, form, change):
        request._token_form = form
        return super().save_form(request, form, change)

    @staticmethod
    def _last_form(request):
        return getattr(request, "_token_form", None)

    # --- revoke and history ----------------------------------------------------------------------

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        """Confirm, then revoke every selected token, or none of them."""
        tokens = selection(self, request, queryset.order_by("-created_at", "-id"))
        if tokens is None:
            return None
        errors: dict[int, DomainError] = {}
        if confirmed(request):
            actor = admin_actor(request)
            errors = each_or_none(
                tokens,
                lambda token: services.token_revoke(workspace=token.workspace, actor=actor, token_uuid=token.uuid),
            )
            if not errors:
                self.message_user(
                    request,
                    _("Revoked %(names)s.") % {"names": ", ".join(f"{t.name} ({t.prefix}…)" for t in tokens)},
                    messages.SUCCESS,
                )
                return None
            self.message_user(request, _("Nothing was revoked: fix the problems below."), messages.ERROR)
        return confirmation_page(
            self,
            request,
            action="revoke_selected",
            title=_("Revoke API tokens"),
            selected=tokens,
            back_url=admin_url(tokens[0]) if len(tokens) == 1 else None,
            tokens=[{"token": t, "state": token_state(t), "error": errors.get(t.pk)} for t in tokens],
        )

    def history_view(self, request, object_id, extra_context=None):
        token = self.get_object(request, unquote(object_id))
        if token is None:
            return missing_object(self, request, object_id)
        if not self.has_view_or_change_permission(request, token):
            raise PermissionDenied
        return render_trail(
            self, request, token, selectors.token_events(token=token), subject=f"{token.name} ({token.prefix}…)"
        )
