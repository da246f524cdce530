"""Phone numbers: the inventory, with bindings inline, search in any spelling, release, import."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from channels_app import selectors, services
from channels_app.admin import import_views, routing_views
from channels_app.admin.actions import confirmation_page, confirmed, each_or_none, selection
from channels_app.admin.base import (
    ChangeListMixin,
    ReadOnlyInline,
    ServiceAdminMixin,
    admin_actor,
    admin_url,
    missing_object,
)
from channels_app.admin.display import (
    BindingColumns,
    bindings_without_secrets,
    health_light,
    health_summary,
    is_call_trunk,
)
from channels_app.admin.filters import (
    NUMBER_SEARCH_HELP,
    NumberAgentFilter,
    NumberChannelFilter,
    NumberDirectionFilter,
    search_by_number,
)
from channels_app.admin.forms import NumberSettingsForm, PurchasedNumberForm
from channels_app.admin.history import render_trail
from channels_app.errors import DomainError
from channels_app.models import Channel, ChannelBinding, PhoneNumber, Source


def binding_action_button(binding: ChannelBinding, *, form_id: str, label: str) -> str:
    """A button of the bindings inline that runs a bindings changelist action for its row.

    It belongs to a small form outside the number's form (`form_id`, in the change_form template,
    holding the CSRF token and the action's name) and sends the row as `_selected_action`.
    """
    return format_html(
        '<button type="submit" class="binding-action-button" form="{}" name="_selected_action" value="{}">{}</button>',
        form_id,
        binding.pk,
        label,
    )


class BindingInline(BindingColumns, ReadOnlyInline):
    """The number's bindings; each row leads to its own pages and actions (edit, reassign, unbind)."""

    model = ChannelBinding
    fk_name = "phone_number"
    verbose_name = _("channel binding")
    verbose_name_plural = _("channel bindings")
    fields = ("channel", "agent_name", "kind", "name", "direction", "credentials", "last_check", "links")
    readonly_fields = fields

    class Media:
        css = {"all": ("channels_app/admin/admin.css",)}

    def get_queryset(self, request):
        # The number rides along: each row's title is its number and channel.
        bindings = bindings_without_secrets(super().get_queryset(request))
        return bindings.select_related("phone_number").order_by("channel")

    def get_fields(self, request, obj=None):
        # Inlines are instantiated per request: which buttons are offered belongs to this one.
        self.can_change = request.user.has_perm("channels_app.change_channelbinding")
        self.can_unbind = request.user.has_perm("channels_app.delete_channelbinding")
        self.number_url = admin_url(obj) if obj is not None else ""
        return super().get_fields(request, obj)

    @admin.display(description=_("last trunk check"))
    def last_check(self, binding: ChannelBinding) -> str:
        """The stored status and, for staff who may change bindings, a "check now" button.

        The button belongs to a small form outside the number's form (`trunk-check-form` in the
        change_form template, holding only the CSRF token), so no form is nested, Enter in a
        field still saves the number, and it works without JavaScript.
        """
        summary = health_summary(binding)
        if not is_call_trunk(binding) or not getattr(self, "can_change", False):
            return summary
        action = reverse("admin:channels_app_channelbinding_check", args=[binding.pk])
        return format_html(
            '{} <button type="submit" class="trunk-check-button" form="trunk-check-form" formaction="{}?{}">'
            "{}</button>",
            summary,
            action,
            urlencode({"next": self.number_url}),
            _("check now"),
        )

    @admin.display(description=_("agent"))
    def agent_name(self, binding: ChannelBinding) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(binding.agent), binding.agent.name)

    @admin.display(description=_("actions"))
    def links(self, binding: ChannelBinding) -> str:
        items = [format_html('<a href="{}">{}</a>', admin_url(binding), _("edit") if binding.is_trunk else _("view"))]
        if getattr(self, "can_change", False):
            items.append(binding_action_button(binding, form_id="binding-reassign-form", label=_("reassign")))
        if getattr(self, "can_unbind", False):
            items.append(binding_action_button(binding, form_id="binding-unbind-form", label=_("unbind")))
        items.append(format_html('<a href="{}">{}</a>', admin_url(binding, "history"), _("history")))
        return format_html_join(" · ", "{}", ((item,) for item in items))


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ServiceAdminMixin, ChangeListMixin, admin.ModelAdmin):
    list_display = ("number", "workspace", "source", "type", "country_code", "call", "whatsapp", "sms", "status")
    list_display_links = ("number",)
    list_filter = (
        "workspace",
        "source",
        NumberChannelFilter,
        NumberAgentFilter,
        NumberDirectionFilter,
        "type",
        "status",
    )
    list_select_related = ("workspace",)
    search_fields = ("location", "workspace__name", "workspace__slug")
    search_help_text = NUMBER_SEARCH_HELP
    ordering = ("number",)
    inlines = [BindingInline]
    actions = ["release_selected"]
    view_on_site = False

    add_fieldsets = (
        (None, {"fields": ("workspace", "number")}),
        (_("Capabilities"), {"fields": (("voice", "sms", "mms"), ("fax", "emergency", "local_calling"))}),
        (_("Billing"), {"fields": ("monthly_fee", "currency")}),
    )
    change_fieldsets = (
        (None, {"fields": ("number_display", "workspace", "source", "status", "type", "country_code", "location")}),
        (
            _("Capabilities, billing, compliance"),
            {"fields": ("capabilities", "billing", "compliance", "purchased_at")},
        ),
        (
            _("Channel settings"),
            {
                "fields": (
                    ("voice_enabled", "voice_channel_limit", "voice_whitelisted_destinations"),
                    ("sms_enabled", "sms_channel_limit", "sms_whitelisted_destinations"),
                    ("inbound_enabled", "inbound_channel_limit"),
                )
            },
        ),
        (_("Record"), {"fields": ("phone_number_uuid", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
    change_readonly = (
        "number_display",
        "workspace",
        "source",
        "status",
        "type",
        "country_code",
        "location",
        "capabilities",
        "billing",
        "compliance",
        "purchased_at",
        "phone_number_uuid",
        "created_at",
        "updated_at",
    )

    # --- list -------------------------------------------------------------------------------

    def get_queryset(self, request):
        bindings = ChannelBinding.objects.select_related("agent").only(
            "id",
            "phone_number_id",
            "channel",
            "is_trunk",
            "health_status",
            "health_checked_at",
            "agent__id",
            "agent__name",
        )
        return super().get_queryset(request).prefetch_related(Prefetch("bindings", queryset=bindings))

    def get_search_results(self, request, queryset, search_term):
        found = search_by_number(queryset, search_term, number_field="number", uuid_field="phone_number_uuid")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def _binding_on(self, number, channel) -> ChannelBinding | None:
        return next((binding for binding in number.bindings.all() if binding.channel == channel), None)

    def _agent_on(self, number, channel) -> str:
        binding = self._binding_on(number, channel)
        return binding.agent.name if binding is not None else "—"

    @admin.display(description=_("call"))
    def call(self, number):
        """The call agent and, for a call trunk, its health light (the last check, in words)."""
        binding = self._binding_on(number, Channel.CALL)
        if binding is None:
            return "—"
        if not is_call_trunk(binding):
            return binding.agent.name
        return format_html("{}<br>{}", binding.agent.name, health_light(binding))

    @admin.display(description=_("WhatsApp"))
    def whatsapp(self, number):
        return self._agent_on(number, Channel.WHATSAPP)

    @admin.display(description=_("SMS"))
    def sms(self, number):
        return self._agent_on(number, Channel.SMS)

    # --- add and change ---------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = NumberSettingsForm if obj is not None else PurchasedNumberForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.change_fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly if obj is not None else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Add a purchased number")}
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_release": self.has_release_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        if IS_POPUP_VAR in request.POST or "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, _("%(number)s was added to the inventory.") % {"number": obj}, messages.SUCCESS)
        return HttpResponseRedirect(admin_url(obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Numbers leave the inventory by release (purchased) or with their last trunk (external).
        return False

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("channels_app.delete_phonenumber")

    @admin.display(description=_("number"))
    def number_display(self, number):
        return number.e164

    @admin.display(description=_("capabilities"))
    def capabilities(self, number):
        names = ("voice", "sms", "mms", "fax", "emergency", "local_calling")
        return ", ".join(name for name in names if getattr(number, f"{name}_capable")) or "—"

    @admin.display(description=_("billing"))
    def billing(self, number):
        return f"{number.monthly_fee} {number.currency} / month"

    @admin.display(description=_("compliance"))
    def compliance(self, number):
        requirements = number.compliance_requirements or []
        if not requirements:
            return number.get_compliance_status_display()
        return format_html(
            "{}: {}", number.get_compliance_status_display(), format_html_join(", ", "{}", ((r,) for r in requirements))
        )

    # --- history --------------------------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        number = self.get_object(request, unquote(object_id))
        if number is None:
            return missing_object(self, request, object_id)
        if not self.has_view_or_change_permission(request, number):
            raise PermissionDenied
        events = selectors.number_events(number=number)
        return render_trail(self, request, number, events, subject=number.number.as_international)

    # --- release and import ----------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "import/",
                wrap(import_views.ImportView.as_view(model_admin=self)),
                name="channels_app_phonenumber_import",
            ),
            path(
                "import/template.csv",
                wrap(import_views.template_csv),
                name="channels_app_phonenumber_import_template",
            ),
            path(
                "<path:object_id>/explain/",
                wrap(lambda request, object_id: routing_views.explain_view(self, request, object_id)),
                name="channels_app_phonenumber_explain",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Release selected purchased numbers"), permissions=["release"])
    def release_selected(self, request, queryset):
        """Confirm, then release every selected purchased number with its bindings, or none."""
        numbers = selection(self, request, queryset.select_related("workspace").order_by("number"))
        if numbers is None:
            return None
        errors: dict[int, DomainError] = {}
        if confirmed(request):
            actor = admin_actor(request)
            errors = each_or_none(
                numbers,
                lambda number: services.number_release(
                    workspace=number.workspace, actor=actor, phone_number_uuid=number.phone_number_uuid
                ),
            )
            if not errors:
                self.message_user(
                    request,
                    _("Released %(n)d number(s): %(numbers)s.")
                    % {"n": len(numbers), "numbers": ", ".join(number.e164 for number in numbers)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:channels_app_phonenumber_changelist"))
            self.message_user(request, _("Nothing was released: fix the problems below."), messages.ERROR)
        return confirmation_page(
            self,
            request,
            action="release_selected",
            title=_("Release purchased numbers"),
            selected=numbers,
            back_url=admin_url(numbers[0]) if len(numbers) == 1 else None,
            numbers=[
                {"number": number, "error": errors.get(number.pk), "bindings": list(number.bindings.all())}
                for number in numbers
            ],
            has_external=any(number.source == Source.EXTERNAL for number in numbers),
        )
