"""Self-serve pages about numbers: the list, a number's page, registering a trunk, checking it.

Thin generic views: reads come from selectors, writes go through services as
`Actor(door=SELF_SERVE, user=...)`, and a service's `DomainError` goes back onto the form.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, ListView, RedirectView, TemplateView, View

from channels_app import selectors, services
from channels_app.audit import Door
from channels_app.errors import DomainError, NotFound, ValidationFailed
from channels_app.event_display import change_lines
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import ExplainForm, NumberFilterForm, TrunkRegisterForm
from channels_app.models import Channel
from channels_app.selectors.whatsapp import trunk_counters
from channels_app.sip import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

from .base import CHANNEL_LABELS, CREDENTIAL_POST_FIELDS, BindingMixin, FormRoundMixin, NumberMixin, WorkspaceMixin

DOOR_LABELS = dict(Door.choices)


class HomeView(LoginRequiredMixin, TemplateView):
    """/app/: straight to the only workspace, or a chooser for members of several; staff who are
    members of none go to the admin's workspace overview."""

    template_name = "channels_app/home.html"

    def get(self, request, *args, **kwargs):
        memberships = list(selectors.memberships_for_user(user=request.user))
        if not memberships and request.user.is_staff:
            # Staff work in the admin: its workspace overview, under the admin's own permissions.
            return redirect("admin:channels_app_workspace_overview")
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
            return selectors.number_list(workspace=self.workspace, **filters)
        except ValidationFailed as exc:
            add_domain_error(self.filter_form, exc)
            return []

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, agents=self.agents, **kwargs)


@method_decorator(sensitive_post_parameters(*CREDENTIAL_POST_FIELDS), name="dispatch")
class TrunkRegisterView(FormRoundMixin, WorkspaceMixin, FormView):
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
        return {**super().get_form_kwargs(), "workspace": self.workspace}

    def write(self, form):
        return services.trunk_register(workspace=self.workspace, actor=self.actor, **form.service_kwargs())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context.pop("number_conflict", False):  # always a number of this workspace: offer a way to it
            with suppress(DomainError):
                context["existing_number"] = selectors.number_get(
                    workspace=self.workspace, number=context["form"].data.get("phone_number", "")
                )
        return context

    def written(self, form, binding):
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


def _event_rows(events: list[selectors.Event]) -> list[dict[str, Any]]:
    """Events as the page shows them: each change as before -> after in words, secrets only as
    "changed" (channels_app.event_display)."""
    rows = []
    for event in events:
        rows.append(
            {
                "event": event,
                "at": event.at,
                "actor": event.actor,
                "door": event.door,
                "door_label": DOOR_LABELS.get(event.door, event.door or "—"),
                "action_label": event.action.replace("_", " "),
                "channel_label": CHANNEL_LABELS.get(event.channel, ""),
                "change_list": change_lines(event),
            }
        )
    return rows


class NumberDetailView(NumberMixin, TemplateView):
    """The number's channels (what its Snapshot says), their actions, and the activity history."""

    template_name = "channels_app/number_detail.html"
    events_per_page = 20

    def channels(self) -> list[dict[str, Any]]:
        """The three channel cards, in order: the binding, the settings section, what can be done."""
        number = self.number
        cards = []
        for channel, section, capable in (
            (Channel.CALL, "voice", number.voice_capable),
            (Channel.SMS, "sms", number.sms_capable),
            (Channel.WHATSAPP, None, True),
        ):
            binding = number.binding(channel)
            cards.append(
                {
                    "key": channel,
                    "label": CHANNEL_LABELS[channel],
                    "binding": binding,
                    "counters": trunk_counters(binding)
                    if binding is not None and binding.is_trunk and channel == Channel.WHATSAPP
                    else None,
                    "settings": number.effective_settings[section] if section else None,
                    "capable": capable,
                    "can_add_trunk": number.is_external and channel in (Channel.CALL, Channel.WHATSAPP),
                    "can_bind": not number.is_external and channel != Channel.WHATSAPP and capable,
                }
            )
        return cards

    def get_context_data(self, **kwargs):
        events = selectors.number_events(number=self.number)
        page = Paginator(events, self.events_per_page).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            number=self.number,
            channels=self.channels(),
            inbound=self.number.effective_settings["inbound"],
            events_page=page,
            events=_event_rows(list(page.object_list)),
            trunk_check={
                "timeout": settings.SIP_CHECK_TIMEOUT_SECONDS,
                "interval": settings.SIP_CHECK_MIN_INTERVAL_SECONDS,
            },
            explain_form=ExplainForm(initial={"to": self.number.e164}),
            edge={
                "address": settings.SIP_EDGE_PUBLIC_ADDRESS,
                "transports": "UDP, TCP or TLS" if settings.SIP_EDGE_TLS_CERTIFICATE else "UDP or TCP",
                "signalling": settings.SIP_SIGNALLING_ADDRESSES,
            },
            **kwargs,
        )


class TrunkCheckView(BindingMixin, View):
    """The "Check now" button of a trunk: POST runs its channel's check (services.any_trunk_check:
    SIP for call, the Graph API for WhatsApp), then the number page.

    The result is stored on the trunk and shown by the number page (post/redirect/get: a reload
    never checks again). The check waits on the network for a few seconds, outside any
    transaction. A refusal (checked moments ago, no gateway) comes back as a plain message.
    """

    write_page = True
    trunks_only = True

    def result_url(self) -> str:
        return self.number_url() + ("#line-check" if self.binding.channel == Channel.WHATSAPP else "#trunk-check")

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(self.result_url())

    def post(self, request, *args, **kwargs):
        try:
            binding = services.any_trunk_check(
                workspace=self.workspace, actor=self.actor, phone_number=self.number.e164, channel=self.binding.channel
            )
        except DomainError as exc:
            messages.error(request, exc.details if exc.code == "VALIDATION_ERROR" else exc.text)
            return HttpResponseRedirect(self.result_url())
        level = messages.SUCCESS if binding.health_status == HealthStatus.OK else messages.WARNING
        if binding.channel == Channel.WHATSAPP:
            result = WhatsappHealth(binding.health_status).label
        else:
            result = binding.get_health_status_display()
        messages.add_message(request, level, _("Trunk checked: %(result)s.") % {"result": result})
        return HttpResponseRedirect(self.result_url())
