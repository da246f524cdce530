"""API tokens: create (the token is shown once), revoke, audit trail. Only a hash is stored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app import selectors, services
from channels_app.admin.base import (
    ChangeListMixin,
    ServiceAdminMixin,
    ServiceForm,
    admin_actor,
    missing_object,
    redirect_with_ids,
    selected_ids,
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
        return redirect_with_ids(self, request, queryset, "channels_app_apitoken_revoke")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("revoke/", wrap(self.revoke_view), name="channels_app_apitoken_revoke"), *super().get_urls()]

    def revoke_view(self, request):
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        tokens = list(
            ApiToken.objects.filter(pk__in=selected_ids(request)).select_related("workspace").order_by("-created_at")
        )
        if not tokens:
            self.message_user(request, _("No tokens were selected."), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:channels_app_apitoken_changelist"))
        errors: dict[int, str] = {}
        if request.method == "POST":
            actor = admin_actor(request)
            with transaction.atomic():
                for token in tokens:
                    try:
                        services.token_revoke(workspace=token.workspace, actor=actor, token_uuid=token.uuid)
                    except DomainError as exc:
                        errors[token.pk] = exc.text
                if errors:
                    transaction.set_rollback(True)
            if not errors:
                self.message_user(
                    request,
                    _("Revoked %(names)s.") % {"names": ", ".join(f"{t.name} ({t.prefix}…)" for t in tokens)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:channels_app_apitoken_changelist"))
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            "admin/channels_app/apitoken/revoke.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Revoke API tokens"),
                "rows": [{"token": t, "state": token_state(t), "error": errors.get(t.pk)} for t in tokens],
                "ids": ",".join(str(t.pk) for t in tokens),
            },
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
