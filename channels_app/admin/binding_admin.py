"""Channel bindings: register an external number, edit a trunk, check it, reassign, unbind.

The add page is the "register external number" form (services.trunk_register, as the API's
POST /phone-numbers/trunks); a trunk's change page edits it through services.trunk_update.
Reassign (services.binding_reassign) and unbind (services.binding_delete) are changelist actions
with a confirmation page, offered on the binding's page and on its number's page too.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from channels_app import selectors, services
from channels_app.admin import routing_views
from channels_app.admin.actions import confirmation_page, confirmed, each_or_none, selection
from channels_app.admin.base import ChangeListMixin, ServiceAdminMixin, admin_actor, admin_url, missing_object
from channels_app.admin.display import BindingColumns, bindings_without_secrets, health_details
from channels_app.admin.filters import NUMBER_SEARCH_HELP, AgentFilter, search_by_number
from channels_app.admin.forms import ReadOnlyBindingForm, ReassignForm, TrunkEditForm, TrunkRegisterForm
from channels_app.admin.history import render_trail
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error
from channels_app.models import Channel, ChannelBinding, PhoneNumber
from channels_app.selectors.whatsapp import trunk_counters
from channels_app.sip import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

sensitive_credentials = method_decorator(
    sensitive_post_parameters("sip_username", "sip_password", "wa_access_token", "wa_app_secret")
)


def number_page_of(bindings: list[ChannelBinding]) -> str | None:
    """The number's page, when an action was about one binding of a number still in the inventory."""
    if len(bindings) == 1 and PhoneNumber.objects.filter(pk=bindings[0].phone_number_id).exists():
        return admin_url(bindings[0].phone_number)
    return None


def described(bindings: list[ChannelBinding]) -> str:
    return ", ".join(str(binding) for binding in bindings)


class NumberSourceFilter(admin.SimpleListFilter):
    title = _("number source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return [("external", _("External (trunk)")), ("purchased", _("Purchased"))]

    def queryset(self, request, queryset):
        if self.value() == "external":
            return queryset.filter(is_trunk=True)
        if self.value() == "purchased":
            return queryset.filter(is_trunk=False)
        return queryset


@admin.register(ChannelBinding)
class ChannelBindingAdmin(BindingColumns, ServiceAdminMixin, ChangeListMixin, admin.ModelAdmin):
    list_display = ("number", "channel", "agent", "workspace", "kind", "name", "direction", "credentials", "updated_at")
    list_display_links = ("number", "channel")
    list_filter = ("workspace", "channel", NumberSourceFilter, AgentFilter, "direction")
    list_select_related = ("phone_number", "agent", "workspace")
    search_fields = ("name", "agent__name")
    search_help_text = NUMBER_SEARCH_HELP
    ordering = ("phone_number__number", "channel")
    actions = ["reassign_selected", "unbind_selected"]
    view_on_site = False

    add_fieldsets = (
        (None, {"fields": ("workspace", "phone_number", "channel", "agent", "name", "direction")}),
        (
            _("SIP (call only)"),
            {"fields": ("sip_gateway", "sip_port", "sip_secondary_gateway", "sip_username", "sip_password")},
        ),
        (_("Routing (call only)"), {"fields": ("sip_inbound_addresses", "sip_transport", "sip_number_format")}),
        (
            _("WhatsApp (WhatsApp only)"),
            {"fields": ("wa_phone_number_id", "wa_business_account_id", "wa_access_token", "wa_app_secret")},
        ),
        (_("Additional settings"), {"fields": ("additional_settings",)}),
    )
    call_trunk_fieldsets = (
        (None, {"fields": ("number", "workspace", "channel", "agent_display", "name", "direction")}),
        (
            _("SIP"),
            {
                "fields": (
                    "sip_gateway",
                    "sip_port",
                    "sip_secondary_gateway",
                    "credentials",
                    ("sip_username", "clear_sip_username"),
                    ("sip_password", "clear_sip_password"),
                    "trunk_check",
                )
            },
        ),
        (_("Routing"), {"fields": ("sip_inbound_addresses", "sip_transport", "sip_number_format")}),
        (_("Additional settings"), {"fields": ("additional_settings",)}),
        (_("Record"), {"fields": ("uuid", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
    whatsapp_trunk_fieldsets = (
        (None, {"fields": ("number", "workspace", "channel", "agent_display", "name")}),
        (
            _("WhatsApp Cloud API line"),
            {
                "fields": (
                    "wa_phone_number_id",
                    "wa_business_account_id",
                    "credentials",
                    ("wa_access_token", "clear_wa_access_token"),
                    ("wa_app_secret", "clear_wa_app_secret"),
                    "webhook",
                    "trunk_check",
                    "messages",
                )
            },
        ),
        (_("Additional settings"), {"fields": ("additional_settings",)}),
        (_("Record"), {"fields": ("uuid", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
    purchased_fieldsets = (
        (None, {"fields": ("number", "workspace", "channel", "agent_display", "kind")}),
        (_("Record"), {"fields": ("uuid", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
    change_readonly = (
        "number",
        "workspace",
        "channel",
        "agent_display",
        "kind",
        "credentials",
        "trunk_check",
        "webhook",
        "messages",
        "uuid",
        "created_at",
        "updated_at",
    )

    class Media:
        js = ("channels_app/admin/register.js",)

    # --- list -------------------------------------------------------------------------------

    def get_queryset(self, request):
        # The changelist applies list_select_related only to a queryset without select_related.
        return bindings_without_secrets(super().get_queryset(request)).select_related(*self.list_select_related)

    def get_search_results(self, request, queryset, search_term):
        found = search_by_number(
            queryset, search_term, number_field="phone_number__number", uuid_field="phone_number__phone_number_uuid"
        )
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("number"), ordering="phone_number__number")
    def number(self, binding: ChannelBinding) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(binding.phone_number), binding.phone_number.e164)

    @admin.display(description=_("last trunk check"))
    def trunk_check(self, binding: ChannelBinding) -> str:
        """The stored result of the last check (status, when, each gateway's answer); "Check now" is
        in the page's tools."""
        return health_details(binding)

    @admin.display(description=_("webhook for Meta"))
    def webhook(self, binding: ChannelBinding) -> str:
        """What staff read out to a customer setting up Meta's dashboard."""
        if not binding.webhook_id:
            return "—"
        return format_html(
            "Callback URL <code>{}</code><br>Verify token <code>{}</code>", binding.webhook_url, binding.verify_token
        )

    @admin.display(description=_("messages"))
    def messages(self, binding: ChannelBinding) -> str:
        counts = trunk_counters(binding)
        link = reverse("admin:channels_app_messagedelivery_changelist") + f"?binding__id__exact={binding.pk}"
        text = format_html(
            '{} received, {} delivered, {} waiting, {} dead · <a href="{}">deliveries</a>',
            counts.received,
            counts.delivered,
            counts.pending,
            counts.dead,
            link,
        )
        if counts.last_error:
            return format_html("{}<br>{}: {}", text, _("last delivery problem"), counts.last_error)
        return text

    @admin.display(description=_("agent"))
    def agent_display(self, binding: ChannelBinding) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(binding.agent), binding.agent.name)

    # --- permissions: a binding is never deleted around the service ------------------------------

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.is_trunk:
            return False  # nothing to edit in place: reassign or unbind it
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A binding leaves by "unbind" (services.binding_delete): an external number goes with its
        # last trunk and the audit trail names the actor. Django's delete would do neither.
        return False

    def has_unbind_permission(self, request) -> bool:
        return request.user.has_perm("channels_app.delete_channelbinding")

    # --- register and edit ----------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TrunkRegisterForm
        elif obj.is_trunk:
            kwargs["form"] = TrunkEditForm
        else:
            kwargs["form"] = ReadOnlyBindingForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if not obj.is_trunk:
            return self.purchased_fieldsets
        return self.call_trunk_fieldsets if obj.channel == Channel.CALL else self.whatsapp_trunk_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly if obj is not None else ()

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        return {key: value for key, value in initial.items() if key not in ("sip_username", "sip_password")}

    @sensitive_credentials
    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Register external number")}
        return super().add_view(request, form_url, extra_context)

    @sensitive_credentials
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        if IS_POPUP_VAR in request.POST or "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            _("Registered %(number)s on %(channel)s for %(agent)s.")
            % {"number": obj.phone_number.e164, "channel": obj.channel, "agent": obj.agent.name},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(admin_url(obj.phone_number))

    def response_change(self, request, obj):
        if IS_POPUP_VAR in request.POST or "_continue" in request.POST:
            return super().response_change(request, obj)
        self.message_user(
            request,
            _("Saved the %(channel)s trunk of %(number)s.") % {"channel": obj.channel, "number": obj.phone_number.e164},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(admin_url(obj.phone_number))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["can_check_trunk"] = obj.is_trunk and self.has_change_permission(request, obj)
            context["can_reassign"] = self.has_change_permission(request)
            context["can_unbind"] = self.has_unbind_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- history and the trunk check -------------------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        binding = self.get_object(request, unquote(object_id))
        if binding is None:
            return missing_object(self, request, object_id)
        if not self.has_view_or_change_permission(request, binding):
            raise PermissionDenied
        number = binding.phone_number
        events = [event for event in selectors.number_events(number=number) if event.channel == binding.channel]
        return render_trail(self, request, binding, events, subject=str(binding))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/check/", wrap(self.check_view), name="channels_app_channelbinding_check"),
            path(
                "<path:object_id>/test-call/",
                wrap(lambda request, object_id: routing_views.test_call_view(self, request, object_id)),
                name="channels_app_channelbinding_test_call",
            ),
            *super().get_urls(),
        ]

    def check_view(self, request, object_id):
        """POST only: run the trunk's check (services.any_trunk_check), then back to `next` or its page.

        Not in a transaction: the check waits on the network for a few seconds and stores its
        result itself. A refusal (checked moments ago, no gateway) becomes an error message.
        """
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        binding = self.get_object(request, unquote(object_id))
        if binding is None:
            return missing_object(self, request, object_id)
        if not self.has_change_permission(request, binding):
            raise PermissionDenied
        back = request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = admin_url(binding)
        number = binding.phone_number.e164
        try:
            checked = services.any_trunk_check(
                workspace=binding.workspace,
                actor=admin_actor(request),
                phone_number=number,
                channel=binding.channel,
            )
        except DomainError as exc:
            self.message_user(request, exc.text, messages.ERROR)
            return HttpResponseRedirect(back)
        if checked.channel == Channel.WHATSAPP:
            result = WhatsappHealth(checked.health_status).label
        else:
            result = checked.get_health_status_display()
        self.message_user(
            request,
            _("Checked the %(channel)s trunk of %(number)s: %(result)s.")
            % {"channel": checked.channel, "number": number, "result": result},
            messages.SUCCESS if checked.health_status == HealthStatus.OK else messages.WARNING,
        )
        return HttpResponseRedirect(back)

    # --- reassign and unbind: actions with a confirmation page ------------------------------------

    @admin.action(description=_("Reassign selected bindings to another agent"), permissions=["change"])
    def reassign_selected(self, request, queryset):
        """Give the selected bindings to one agent of their workspace: all of them, or none."""
        bindings = selection(self, request, queryset.order_by("phone_number__number", "channel"))
        if bindings is None:
            return None
        if len({binding.workspace_id for binding in bindings}) > 1:
            self.message_user(request, _("Select bindings of one workspace to reassign them."), messages.ERROR)
            return None
        workspace = bindings[0].workspace
        form = ReassignForm(request.POST if confirmed(request) else None, workspace=workspace)
        errors: dict[int, DomainError] = {}
        if form.is_valid():
            agent = form.cleaned_data["agent"]
            actor = admin_actor(request)
            unchanged = [binding for binding in bindings if binding.agent_id == agent.pk]
            errors = each_or_none(
                bindings,
                lambda binding: services.binding_reassign(
                    workspace=workspace, actor=actor, binding_uuid=binding.uuid, agent_uuid=agent.agent_uuid
                ),
            )
            if not errors:
                self.reassigned_message(request, bindings, unchanged, agent)
                return HttpResponseRedirect(number_page_of(bindings) or request.get_full_path())
            if len(bindings) == 1:
                add_domain_error(form, errors[bindings[0].pk])
        return confirmation_page(
            self,
            request,
            action="reassign_selected",
            title=_("Reassign to another agent"),
            selected=bindings,
            back_url=number_page_of(bindings),
            form=form,
            workspace=workspace,
            bindings=[{"binding": binding, "error": errors.get(binding.pk)} for binding in bindings],
        )

    def reassigned_message(self, request, bindings, unchanged, agent) -> None:
        """What a reassignment did: a binding the agent already held is a no-op, and says so."""
        changed = [binding for binding in bindings if binding not in unchanged]
        if changed:
            self.message_user(
                request,
                _("Reassigned %(what)s to %(agent)s.") % {"what": described(changed), "agent": agent.name},
                messages.SUCCESS,
            )
        if unchanged:
            self.message_user(
                request,
                _("Nothing changed for %(what)s: %(agent)s already answers it.")
                % {"what": described(unchanged), "agent": agent.name},
                messages.INFO,
            )

    @admin.action(description=_("Unbind selected bindings"), permissions=["unbind"])
    def unbind_selected(self, request, queryset):
        """Confirm, then remove the selected bindings (external numbers leave with their last trunk)."""
        bindings = selection(self, request, queryset.order_by("phone_number__number", "channel"))
        if bindings is None:
            return None
        errors: dict[int, DomainError] = {}
        if confirmed(request):
            actor = admin_actor(request)
            gone: list[str] = []

            def unbind(binding: ChannelBinding) -> None:
                if services.binding_delete(workspace=binding.workspace, actor=actor, binding_uuid=binding.uuid) is None:
                    gone.append(binding.phone_number.e164)

            errors = each_or_none(bindings, unbind)
            if not errors:
                text = _("Unbound %(what)s.") % {"what": described(bindings)}
                if gone:
                    text += " " + _("%(numbers)s left the inventory with the last trunk.") % {
                        "numbers": ", ".join(gone)
                    }
                self.message_user(request, text, messages.SUCCESS)
                return HttpResponseRedirect(number_page_of(bindings) or request.get_full_path())
            self.message_user(request, _("Nothing was unbound: fix the problems below."), messages.ERROR)
        return confirmation_page(
            self,
            request,
            action="unbind_selected",
            title=_("Unbind"),
            selected=bindings,
            back_url=number_page_of(bindings),
            bindings=[{"binding": binding, "error": errors.get(binding.pk)} for binding in bindings],
        )
