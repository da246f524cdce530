"""Self-serve pages about one channel of a number: edit a trunk, reassign, bind, unbind."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from channels_app import selectors, services
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import AgentChoiceForm, ConfirmForm, TrunkUpdateForm
from channels_app.models import Channel

from .base import CHANNEL_LABELS, CREDENTIAL_POST_FIELDS, BindingMixin, FormRoundMixin, NumberMixin


@method_decorator(sensitive_post_parameters(*CREDENTIAL_POST_FIELDS), name="dispatch")
class TrunkUpdateView(FormRoundMixin, BindingMixin, FormView):
    """Edit a trunk: `update-merges` (blank keeps a secret, a tick box clears it)."""

    template_name = "channels_app/trunk_update_form.html"
    form_class = TrunkUpdateForm
    write_page = True
    trunks_only = True

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "binding": self.binding}

    def write(self, form):
        return services.trunk_update(
            workspace=self.workspace,
            actor=self.actor,
            phone_number=self.number.e164,
            channel=self.binding.channel,
            **form.service_kwargs(),
        )

    def written(self, form, result):
        messages.success(self.request, _("Trunk saved."))
        return HttpResponseRedirect(self.number_url())


class BindingAssignView(FormRoundMixin, BindingMixin, FormView):
    """Give a channel of this number to another agent (`assign-changes-the-agent-only`)."""

    template_name = "channels_app/binding_assign_form.html"
    form_class = AgentChoiceForm
    write_page = True
    dry_run = False  # the agent is the only input: nothing else to ask the service about

    def get_initial(self):
        # The current agent by name, or by UUID when another agent shares its name.
        agent = self.binding.agent
        shared = len(selectors.agents_by_text(workspace=self.workspace, texts=[agent.name])[agent.name.lower()]) > 1
        return {"agent": str(agent.agent_uuid) if shared else agent.name}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "workspace": self.workspace, "channel": self.binding.channel}

    def write(self, form):
        agent = form.cleaned_data.get("agent")
        self.unchanged = agent is not None and agent.pk == self.binding.agent_id
        return services.binding_reassign(
            workspace=self.workspace,
            actor=self.actor,
            binding_uuid=self.binding.uuid,
            agent_uuid=agent.agent_uuid if agent else None,
        )

    def written(self, form, binding):
        labels = {"channel": CHANNEL_LABELS[binding.channel], "agent": binding.agent.name}
        if self.unchanged:  # the service's no-op: nothing was written, nothing recorded
            messages.info(self.request, _("Nothing changed: %(agent)s already answers %(channel)s.") % labels)
        else:
            messages.success(self.request, _("%(channel)s is now answered by %(agent)s.") % labels)
        return HttpResponseRedirect(self.number_url())


class PurchasedBindView(FormRoundMixin, NumberMixin, FormView):
    """Bind an agent to a purchased number on call or SMS (the API's call provision and SMS assign)."""

    template_name = "channels_app/binding_create_form.html"
    form_class = AgentChoiceForm
    write_page = True
    dry_run = False  # the agent is the only input: nothing else to ask the service about

    def load_objects(self) -> None:
        super().load_objects()
        channel = self.kwargs["channel"]
        capable = {Channel.CALL: self.number.voice_capable, Channel.SMS: self.number.sms_capable}
        if self.number.is_external or not capable.get(channel):
            raise Http404
        if self.number.binding(channel) is not None:
            raise Http404  # already bound: reassign or unbind instead
        self.channel = channel

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "workspace": self.workspace, "channel": self.channel}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            number=self.number,
            channel=self.channel,
            channel_label=CHANNEL_LABELS[self.channel],
            number_url=self.number_url(),
            **kwargs,
        )

    def write(self, form):
        bind = services.call_provision if self.channel == Channel.CALL else services.sms_assign
        agent = form.cleaned_data["agent"]
        bind(
            workspace=self.workspace,
            actor=self.actor,
            agent_uuid=agent.agent_uuid,
            phone_number_uuid=self.number.phone_number_uuid,
        )
        return agent

    def written(self, form, agent):
        messages.success(
            self.request,
            _("%(channel)s is now answered by %(agent)s.")
            % {"channel": CHANNEL_LABELS[self.channel], "agent": agent.name},
        )
        return HttpResponseRedirect(self.number_url())


class BindingDeleteView(BindingMixin, FormView):
    """Confirm, then remove one (number, channel) binding (`last-trunk-takes-the-number`)."""

    template_name = "channels_app/binding_confirm_delete.html"
    form_class = ConfirmForm
    write_page = True

    def get_context_data(self, **kwargs):
        others = [b for b in self.number.channel_bindings if b.channel != self.binding.channel]
        return super().get_context_data(
            number_leaves=self.number.is_external and not others,
            other_channels=[CHANNEL_LABELS[b.channel] for b in others],
            **kwargs,
        )

    def form_valid(self, form):
        channel_label = CHANNEL_LABELS[self.binding.channel]
        shown = self.number.number.as_international
        try:
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
