"""Self-serve pages for customers, under /app/<workspace_slug>/.

Thin generic views: reads come from selectors, writes go through services as
`Actor(door=SELF_SERVE, user=...)`, and a service's `DomainError` goes back onto the form.
Tenancy: the workspace comes from the URL through the user's membership; a non-member, or another
workspace's number, binding or token, is the same 404 on every URL. Viewers read only: write pages
and every POST answer 403 (after the 404 checks, so a 403 never confirms that something exists).
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, ListView, RedirectView, TemplateView, View

from channels_app import fieldpaths, selectors, services
from channels_app.audit import Actor, Door
from channels_app.errors import DomainError, NotFound, ValidationFailed
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import (
    AgentChoiceForm,
    ConfirmForm,
    NumberFilterForm,
    TokenCreateForm,
    TrunkRegisterForm,
    TrunkUpdateForm,
)
from channels_app.models import Channel, PhoneNumber
from channels_app.sip import HealthStatus

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHANNEL_LABELS = {
    Channel.CALL: gettext_lazy("Call"),
    Channel.SMS: gettext_lazy("SMS"),
    Channel.WHATSAPP: gettext_lazy("WhatsApp"),
}
DOOR_LABELS = dict(Door.choices)
CREDENTIAL_POST_FIELDS = ("sip_username", "sip_password")


class WorkspaceMixin:
    """Resolve the workspace (404 unless a member), then the page's objects (404), then the role (403)."""

    write_page = False  # a form page: viewers are refused on GET too, not only on POST

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            membership = selectors.membership_get(user=request.user, workspace_slug=kwargs["workspace_slug"])
            if membership is None:
                raise Http404
            self.membership = membership
            self.workspace = membership.workspace
            self.actor = Actor(door=Door.SELF_SERVE, user=request.user)
            self.load_objects()
            if (self.write_page or request.method not in SAFE_METHODS) and not membership.can_write:
                raise PermissionDenied
            return super().dispatch(request, *args, **kwargs)
        except (Http404, NotFound):
            return render(request, "channels_app/not_found.html", status=404)
        except PermissionDenied:
            context = {"workspace": self.workspace, "membership": self.membership}
            return render(request, "channels_app/forbidden.html", context, status=403)

    def load_objects(self) -> None:
        """Look up what the URL names (raising NotFound), before any permission decision."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            workspace=self.workspace,
            membership=self.membership,
            can_write=self.membership.can_write,
            memberships=selectors.memberships_for_user(user=self.request.user),
        )
        return context


class NumberMixin(WorkspaceMixin):
    """Pages about one number of the workspace."""

    def load_objects(self) -> None:
        self.number = selectors.number_get(workspace=self.workspace, phone_number_uuid=self.kwargs["phone_number_uuid"])

    def number_url(self) -> str:
        return reverse("app:number_detail", args=[self.workspace.slug, self.number.phone_number_uuid])


class BindingMixin(WorkspaceMixin):
    """Pages about one (number, channel) binding of the workspace."""

    trunks_only = False

    def load_objects(self) -> None:
        self.binding = selectors.binding_get(
            workspace=self.workspace,
            phone_number_uuid=self.kwargs["phone_number_uuid"],
            channel=self.kwargs["channel"],
        )
        if self.trunks_only and not self.binding.is_trunk:
            raise Http404
        self.number = self.binding.phone_number

    def number_url(self) -> str:
        return reverse("app:number_detail", args=[self.workspace.slug, self.number.phone_number_uuid])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            binding=self.binding,
            number=self.number,
            channel_label=CHANNEL_LABELS[self.binding.channel],
            number_url=self.number_url(),
            **kwargs,
        )


# --- home ----------------------------------------------------------------------------------------


class HomeView(LoginRequiredMixin, TemplateView):
    """/app/: straight to the only workspace, or a chooser for members of several."""

    template_name = "channels_app/home.html"

    def get(self, request, *args, **kwargs):
        memberships = list(selectors.memberships_for_user(user=request.user))
        if len(memberships) == 1:
            return redirect("app:number_list", memberships[0].workspace.slug)
        return self.render_to_response({"memberships": memberships})


class WorkspaceHomeView(WorkspaceMixin, RedirectView):
    def get_redirect_url(self, *args, **kwargs):
        return reverse("app:number_list", args=[self.workspace.slug])


class NumberShortLinkView(LoginRequiredMixin, RedirectView):
    """/app/numbers/<uuid>/: the number's page in whichever of the user's workspaces holds it."""

    def get_redirect_url(self, *args, **kwargs):
        uuid = kwargs["phone_number_uuid"]
        workspace = selectors.number_workspace_for_user(user=self.request.user, phone_number_uuid=uuid)
        if workspace is None:
            raise Http404
        return reverse("app:number_detail", args=[workspace.slug, uuid])

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            return render(request, "channels_app/not_found.html", status=404)


# --- numbers -------------------------------------------------------------------------------------


def _channel_row(number: PhoneNumber) -> dict[str, Any]:
    bindings = {binding.channel: binding for binding in number.bindings.all()}
    return {"number": number, **{channel: bindings.get(channel) for channel in Channel.values}}


class NumberListView(WorkspaceMixin, ListView):
    """Every number of the workspace with its per-channel state; filters, search, pagination."""

    template_name = "channels_app/number_list.html"
    paginate_by = 20
    # The agent filter offers this many agents by name: agents grow with the inventory (one
    # number per channel each) and a select of every agent made the page grow with it.
    agent_filter_limit = 200

    def filter_agents(self) -> list:
        """The agents the filter offers: the first `agent_filter_limit` by name, and the chosen one."""
        agents = list(selectors.agent_list(workspace=self.workspace)[: self.agent_filter_limit + 1])
        self.agents_truncated = len(agents) > self.agent_filter_limit
        agents = agents[: self.agent_filter_limit]
        chosen = self.request.GET.get("agent")
        if chosen and all(str(agent.agent_uuid) != chosen for agent in agents):
            with suppress(NotFound):  # unknown: the form refuses it as an invalid choice
                agents.append(selectors.agent_get(workspace=self.workspace, agent_uuid=chosen))
        return agents

    def get_queryset(self):
        self.agents = self.filter_agents()
        self.filter_form = NumberFilterForm(self.request.GET or None, agents=self.agents)
        if self.agents_truncated:
            self.filter_form.fields["agent"].help_text = _("The first %(n)d agents by name.") % {
                "n": self.agent_filter_limit
            }
        filters = self.filter_form.filters() if self.filter_form.is_bound and self.filter_form.is_valid() else {}
        try:
            return selectors.number_list_with_trunks(workspace=self.workspace, **filters)
        except ValidationFailed as exc:
            add_domain_error(self.filter_form, exc)
            return PhoneNumber.objects.none()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            filter_form=self.filter_form,
            rows=[_channel_row(number) for number in context["object_list"]],
            agents=self.agents,
        )
        return context


@method_decorator(sensitive_post_parameters(*CREDENTIAL_POST_FIELDS), name="dispatch")
class TrunkRegisterView(WorkspaceMixin, FormView):
    """Register an external number on a channel (the API's POST /phone-numbers/trunks)."""

    template_name = "channels_app/trunk_form.html"
    form_class = TrunkRegisterForm
    write_page = True

    def get_initial(self):
        channel = self.request.GET.get("channel")
        return {
            "phone_number": self.request.GET.get("phone_number", ""),
            "channel": channel if channel in (Channel.CALL, Channel.WHATSAPP) else Channel.CALL,
        }

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agents": selectors.agent_list(workspace=self.workspace)}

    def form_valid(self, form):
        typed_number = form.cleaned_data["phone_number"]
        try:
            binding = services.trunk_register(workspace=self.workspace, actor=self.actor, **form.service_kwargs())
        except DomainError as exc:
            add_domain_error(form, exc)
            existing = None
            if exc.code == "NUMBER_ALREADY_BOUND":  # always a number of this workspace: offer a way to it
                existing = selectors.number_get_by_number(workspace=self.workspace, number=typed_number)
            return self.render_to_response(self.get_context_data(form=form, existing_number=existing))
        number = binding.phone_number
        messages.success(
            self.request,
            _("%(number)s is registered on %(channel)s and answered by %(agent)s.")
            % {
                "number": number.number.as_international,
                "channel": CHANNEL_LABELS[binding.channel],
                "agent": binding.agent.name,
            },
        )
        return redirect("app:number_detail", self.workspace.slug, number.phone_number_uuid)


def _display_value(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None or value == "":
        return "—"
    return str(value)


# A number's first history row lists every column; the page names only what identifies it.
_NUMBER_CREATED_KEYS = ("number", "source", "country_code", "type", "location")
# Shown in the "What" column already.
_NOT_SHOWN_AS_CHANGE = {"channel"}


def _event_rows(events: list[selectors.Event], agent_names: dict[str, str]) -> list[dict[str, Any]]:
    """Events as the page shows them: agent names instead of UUIDs, secrets only as "changed"."""
    rows = []
    for event in events:
        changes = event.changes
        if event.channel is None and "number" in changes:
            changes = {key: changes[key] for key in _NUMBER_CREATED_KEYS if key in changes}
        change_list = []
        for key, value in changes.items():
            if key in _NOT_SHOWN_AS_CHANGE:
                continue
            if key == "agent_uuid":
                value = agent_names.get(str(value), value)
            change_list.append((fieldpaths.label(key), _display_value(value)))
        rows.append(
            {
                "event": event,
                "at": event.at,
                "actor": event.actor,
                "door": event.door,
                "door_label": DOOR_LABELS.get(event.door, event.door or "—"),
                "action_label": event.action.replace("_", " "),
                "channel_label": CHANNEL_LABELS.get(event.channel, ""),
                "change_list": change_list,
            }
        )
    return rows


class NumberDetailView(NumberMixin, TemplateView):
    """The number's snapshot, per channel, with its actions and the activity history."""

    template_name = "channels_app/number_detail.html"
    events_per_page = 20

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        snapshot = selectors.snapshot(self.number)
        bindings = {binding.channel: binding for binding in self.number.bindings.all()}
        agent_names = {str(agent.agent_uuid): agent.name for agent in selectors.agent_list(workspace=self.workspace)}
        events = selectors.number_events(number=self.number)
        page = Paginator(events, self.events_per_page).get_page(self.request.GET.get("page"))
        channels = []
        for channel in (Channel.CALL, Channel.SMS, Channel.WHATSAPP):
            data = snapshot["channels"][channel]
            channels.append(
                {
                    "key": channel,
                    "label": CHANNEL_LABELS[channel],
                    "data": data,
                    "binding": bindings.get(channel),
                    "capable": data.get("capable", self.number.is_external or channel == Channel.WHATSAPP),
                    "can_add_trunk": self.number.is_external and channel in (Channel.CALL, Channel.WHATSAPP),
                    "can_bind": not self.number.is_external and data.get("capable", False),
                    "settings_json": json.dumps(
                        bindings[channel].additional_settings, indent=2, ensure_ascii=False, sort_keys=True
                    )
                    if channel in bindings and bindings[channel].additional_settings
                    else "",
                    "health": _health_view(data.get("trunk")),
                }
            )
        context.update(
            number=self.number,
            snapshot=snapshot,
            channels=channels,
            inbound=snapshot["channels"]["inbound"],
            events_page=page,
            events=_event_rows(list(page.object_list), agent_names),
            trunk_check={
                "timeout": settings.SIP_CHECK_TIMEOUT_SECONDS,
                "interval": settings.SIP_CHECK_MIN_INTERVAL_SECONDS,
            },
        )
        return context


# How each check status reads on the page: the pill's tone.
HEALTH_TONES = {
    HealthStatus.OK: "ok",
    HealthStatus.REACHABLE: "warn",
    HealthStatus.AUTH_FAILED: "danger",
    HealthStatus.UNREACHABLE: "danger",
    HealthStatus.DNS_FAILED: "danger",
    HealthStatus.REFUSED: "danger",
}
HEALTH_LABELS = dict(HealthStatus.choices)
GATEWAY_ROLES = {"gateway": gettext_lazy("Gateway"), "secondary_gateway": gettext_lazy("Secondary gateway")}


def _health_view(trunk: dict[str, Any] | None) -> dict[str, Any] | None:
    """The snapshot's `trunk.health` as the number page shows it: labels, tones, a datetime."""
    health = (trunk or {}).get("health")
    if not health:
        return None

    def described(item: dict[str, Any]) -> dict[str, Any]:
        status = item["status"]
        return {**item, "label": HEALTH_LABELS.get(status, status), "tone": HEALTH_TONES.get(status, "muted")}

    return {
        **described(health),
        "checked_at": parse_datetime(health["checked_at"]) if health["checked_at"] else None,
        "gateways": [
            {**described(gateway), "role_label": GATEWAY_ROLES.get(gateway["role"], gateway["role"])}
            for gateway in health["gateways"]
        ],
    }


class TrunkCheckView(BindingMixin, View):
    """The "Check now" button of a call trunk: POST runs services.trunk_check, then the number page.

    The result is stored on the trunk and shown by the number page (post/redirect/get: a reload
    never checks again). The check waits on the network for a few seconds, outside any
    transaction. A refusal (checked moments ago, no gateway) comes back as a plain message.
    """

    write_page = True
    trunks_only = True

    def load_objects(self) -> None:
        super().load_objects()
        if self.binding.channel != Channel.CALL:
            raise Http404  # a WhatsApp trunk has no SIP gateway to check

    def result_url(self) -> str:
        return self.number_url() + "#trunk-check"

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(self.result_url())

    def post(self, request, *args, **kwargs):
        try:
            binding = services.trunk_check(
                workspace=self.workspace, actor=self.actor, phone_number=self.number.e164, channel=Channel.CALL
            )
        except DomainError as exc:
            messages.error(request, exc.details if exc.code == "VALIDATION_ERROR" else exc.text)
            return HttpResponseRedirect(self.result_url())
        level = messages.SUCCESS if binding.health_status == HealthStatus.OK else messages.WARNING
        label = HEALTH_LABELS.get(binding.health_status, binding.health_status)
        messages.add_message(request, level, _("Trunk checked: %(result)s.") % {"result": label})
        return HttpResponseRedirect(self.result_url())


@method_decorator(sensitive_post_parameters(*CREDENTIAL_POST_FIELDS), name="dispatch")
class TrunkUpdateView(BindingMixin, FormView):
    """Edit a trunk: rule 8's merge (blank keeps a secret, a tick box clears it)."""

    template_name = "channels_app/trunk_update_form.html"
    form_class = TrunkUpdateForm
    write_page = True
    trunks_only = True

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "binding": self.binding}

    def form_valid(self, form):
        try:
            services.trunk_update(
                workspace=self.workspace,
                actor=self.actor,
                phone_number=self.number.e164,
                channel=self.binding.channel,
                **form.service_kwargs(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Trunk saved."))
        return HttpResponseRedirect(self.number_url())


class BindingAssignView(BindingMixin, FormView):
    """Give a channel of this number to another agent (rule 9: nothing else changes)."""

    template_name = "channels_app/binding_assign_form.html"
    form_class = AgentChoiceForm
    write_page = True

    def get_initial(self):
        return {"agent": str(self.binding.agent.agent_uuid)}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agents": selectors.agent_list(workspace=self.workspace)}

    def form_valid(self, form):
        agent_uuid = form.cleaned_data["agent"]
        try:
            if self.binding.is_trunk:
                binding = services.trunk_assign(
                    workspace=self.workspace,
                    actor=self.actor,
                    phone_number=self.number.e164,
                    channel=self.binding.channel,
                    agent_uuid=agent_uuid,
                )
            else:
                binding = services.binding_reassign(
                    workspace=self.workspace, actor=self.actor, binding_uuid=self.binding.uuid, agent_uuid=agent_uuid
                )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(channel)s is now answered by %(agent)s.")
            % {"channel": CHANNEL_LABELS[binding.channel], "agent": binding.agent.name},
        )
        return HttpResponseRedirect(self.number_url())


class PurchasedBindView(NumberMixin, FormView):
    """Bind an agent to a purchased number on call or SMS (the API's call provision and SMS assign)."""

    template_name = "channels_app/binding_create_form.html"
    form_class = AgentChoiceForm
    write_page = True

    def load_objects(self) -> None:
        super().load_objects()
        channel = self.kwargs["channel"]
        capable = {Channel.CALL: self.number.voice_capable, Channel.SMS: self.number.sms_capable}
        if self.number.is_external or not capable.get(channel):
            raise Http404
        if any(binding.channel == channel for binding in self.number.bindings.all()):
            raise Http404  # already bound: reassign or unbind instead
        self.channel = channel

    def get_form_kwargs(self):
        agents = selectors.agent_list(workspace=self.workspace)
        return {**super().get_form_kwargs(), "agents": agents, "choose_prompt": True}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            number=self.number,
            channel=self.channel,
            channel_label=CHANNEL_LABELS[self.channel],
            number_url=self.number_url(),
            **kwargs,
        )

    def form_valid(self, form):
        bind = services.call_provision if self.channel == Channel.CALL else services.sms_assign
        try:
            bind(
                workspace=self.workspace,
                actor=self.actor,
                agent_uuid=form.cleaned_data["agent"],
                phone_number_uuid=self.number.phone_number_uuid,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(channel)s is now answered by %(agent)s.")
            % {
                "channel": CHANNEL_LABELS[self.channel],
                "agent": dict(form.fields["agent"].choices)[form.cleaned_data["agent"]],
            },
        )
        return HttpResponseRedirect(self.number_url())


class BindingDeleteView(BindingMixin, FormView):
    """Confirm, then remove one (number, channel) binding (rule 10)."""

    template_name = "channels_app/binding_confirm_delete.html"
    form_class = ConfirmForm
    write_page = True

    def get_context_data(self, **kwargs):
        others = [b for b in self.number.bindings.all() if b.channel != self.binding.channel]
        return super().get_context_data(
            number_leaves=self.number.is_external and not others,
            other_channels=[CHANNEL_LABELS[b.channel] for b in others],
            **kwargs,
        )

    def form_valid(self, form):
        channel_label = CHANNEL_LABELS[self.binding.channel]
        shown = self.number.number.as_international
        try:
            if self.binding.is_trunk:
                remaining = services.trunk_delete(
                    workspace=self.workspace,
                    actor=self.actor,
                    phone_number=self.number.e164,
                    channel=self.binding.channel,
                )
            else:
                remaining = services.binding_delete(
                    workspace=self.workspace, actor=self.actor, binding_uuid=self.binding.uuid
                )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        if remaining is None:
            messages.success(
                self.request,
                _("The %(channel)s trunk is deleted and %(number)s has left your numbers.")
                % {"channel": channel_label, "number": shown},
            )
            return redirect("app:number_list", self.workspace.slug)
        messages.success(self.request, _("%(channel)s is unbound.") % {"channel": channel_label})
        return HttpResponseRedirect(self.number_url())


# --- API tokens ----------------------------------------------------------------------------------


def _token_state(token, now) -> tuple[str, str]:
    if token.revoked_at is not None:
        return "revoked", _("Revoked")
    if token.expires_at is not None and token.expires_at <= now:
        return "expired", _("Expired")
    return "active", _("Active")


@method_decorator(never_cache, name="dispatch")
class TokenListView(WorkspaceMixin, FormView):
    """The workspace's tokens, and the form that creates one. The new token is shown once, in the
    response to the POST that created it: it is stored nowhere (no session, no message), and the
    response is marked no-store."""

    template_name = "channels_app/token_list.html"
    form_class = TokenCreateForm

    def get_context_data(self, **kwargs):
        now = timezone.now()
        tokens = []
        for token in selectors.token_list(workspace=self.workspace).select_related("created_by"):
            state, state_label = _token_state(token, now)
            tokens.append({"token": token, "state": state, "state_label": state_label})
        return super().get_context_data(tokens=tokens, **kwargs)

    def form_valid(self, form):
        days = form.expiry_days()
        try:
            token, plaintext = services.token_create(
                workspace=self.workspace,
                actor=self.actor,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"expires_at": "expires_in"})
            return self.form_invalid(form)
        context = self.get_context_data(form=self.get_form_class()(), new_token=token, plaintext=plaintext)
        return render(self.request, "channels_app/token_created.html", context)


class TokenRevokeView(WorkspaceMixin, FormView):
    """Confirm, then revoke a token. Revoking is immediate and cannot be undone."""

    template_name = "channels_app/token_confirm_revoke.html"
    form_class = ConfirmForm
    write_page = True

    def load_objects(self) -> None:
        self.token = selectors.token_get(workspace=self.workspace, token_uuid=self.kwargs["token_uuid"])

    def get_context_data(self, **kwargs):
        state, state_label = _token_state(self.token, timezone.now())
        return super().get_context_data(token=self.token, state=state, state_label=state_label, **kwargs)

    def form_valid(self, form):
        try:
            token = services.token_revoke(workspace=self.workspace, actor=self.actor, token_uuid=self.token.uuid)
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("“%(name)s” is revoked: it no longer opens the API.") % {"name": token.name})
        return redirect("app:token_list", self.workspace.slug)
