"""Message deliveries of WhatsApp trunks: where each received message is on its way to the agent,
and "retry" for the dead ones (an action with a confirmation page, like the other actions).
Nothing here shows a message's text: only ids, times, attempts and the last problem."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_app import services
from channels_app.admin.actions import confirmation_page, confirmed, selection
from channels_app.admin.base import ChangeListMixin, admin_actor, admin_url
from channels_app.errors import DomainError
from channels_app.models import MessageDelivery


@admin.register(MessageDelivery)
class MessageDeliveryAdmin(ChangeListMixin, admin.ModelAdmin):
    list_display = ("message_id", "number", "workspace", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "binding__workspace")
    list_select_related = ("message", "binding__phone_number", "binding__workspace")
    search_fields = ("message__wa_message_id",)
    ordering = ("-created_at", "-id")
    actions = ["retry_selected"]
    fields = (
        "message_id",
        "number",
        "workspace",
        "agent",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "lease_until",
        "leased_by",
        "last_error",
        "last_error_at",
        "delivered_at",
        "dead_at",
        "created_at",
        "body_kept",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("message__body")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deliveries leave with their trunk; history of what happened stays

    @admin.display(description=_("message id"), ordering="message__wa_message_id")
    def message_id(self, delivery: MessageDelivery) -> str:
        return delivery.message.wa_message_id

    @admin.display(description=_("number"))
    def number(self, delivery: MessageDelivery) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(delivery.binding), delivery.binding.phone_number.e164)

    @admin.display(description=_("workspace"))
    def workspace(self, delivery: MessageDelivery) -> str:
        return delivery.binding.workspace.name

    @admin.display(description=_("agent"))
    def agent(self, delivery: MessageDelivery) -> str:
        return str(delivery.message.agent_uuid)

    @admin.display(description=_("text kept"), boolean=True)
    def body_kept(self, delivery: MessageDelivery) -> bool:
        return delivery.message.body_deleted_at is None

    @admin.action(description=_("Retry selected deliveries now"), permissions=["change"])
    def retry_selected(self, request, queryset):
        """Confirm, then make the selected deliveries due again (services.deliveries_retry)."""
        deliveries = selection(self, request, queryset.order_by("-created_at", "-id"))
        if deliveries is None:
            return None
        error = None
        if confirmed(request):
            try:
                count = services.deliveries_retry(actor=admin_actor(request), deliveries=deliveries)
            except DomainError as exc:
                error = exc
            else:
                for delivery in deliveries:
                    self.log_change(request, delivery, "Retried")
                self.message_user(request, _("%(n)d deliveries are due again.") % {"n": count}, messages.SUCCESS)
                return HttpResponseRedirect(request.get_full_path())
            self.message_user(request, _("Nothing was retried: see the problem below."), messages.ERROR)
        return confirmation_page(
            self,
            request,
            action="retry_selected",
            title=_("Retry deliveries"),
            selected=deliveries,
            deliveries=deliveries,
            error=error,
        )
