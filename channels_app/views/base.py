"""What every self-serve page shares: the workspace from the URL through the user's membership,
the objects the URL names, and the role.

Tenancy: a non-member, or another workspace's number, binding or token, is the same 404 on every
URL. Viewers read only: write pages and every POST answer 403 (after the 404 checks, so a 403 never
confirms that something exists).
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy

from channels_app import selectors
from channels_app.audit import Actor, Door
from channels_app.errors import DomainError, NotFound
from channels_app.fieldpaths import add_domain_error, add_dry_run_errors
from channels_app.forms.agents import FIND_AGENT
from channels_app.models import Channel

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHANNEL_LABELS = {
    Channel.CALL: gettext_lazy("Call"),
    Channel.SMS: gettext_lazy("SMS"),
    Channel.WHATSAPP: gettext_lazy("WhatsApp"),
}
CREDENTIAL_POST_FIELDS = ("sip_username", "sip_password", "wa_access_token", "wa_app_secret")


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


def note_dropped_secrets(form, data, names) -> None:
    """A secret typed into a form shown again is not in the page any more: say so next to it."""
    for name in names:
        if name in form.fields and data.get(form.add_prefix(name)):
            note = gettext_lazy("Not kept, for your safety: type it again before you save.")
            form.fields[name].help_text = form[name].help_text = note  # the bound field keeps its own copy
            form.fields[name].widget.attrs["data-secret-dropped"] = ""


class FormRoundMixin:
    """What self-serve write forms share (`all-at-once`): every mistake of a submit at once.

    `write(form)` is the form's one service call. When the form's own fields refused some input,
    `form_invalid` runs `write` on the rest as a dry run (nothing written) and shows what else the
    service refuses. A secret typed into a form that comes back with errors is never sent back
    to the browser: the field says so. "Find agents" (a plain submit) shows the agent search's
    matches for what was typed, saving nothing and refusing nothing.
    """

    secret_fields = CREDENTIAL_POST_FIELDS
    dry_run = True  # False where the form has one input: its refusal is all there is to say

    def write(self, form):  # pragma: no cover - abstract
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        if FIND_AGENT in request.POST:
            kwargs = self.get_form_kwargs()
            data = kwargs.pop("data")
            kwargs.pop("files", None)
            kwargs["initial"] = {**kwargs.get("initial", {}), **data.dict()}
            form = self.get_form_class()(**kwargs)
            form.finding_agent = True
            note_dropped_secrets(form, data, self.secret_fields)
            return self.render_to_response(self.get_context_data(form=form))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            result = self.write(form)
        except DomainError as exc:
            add_domain_error(form, exc)
            form.service_refused = exc
            return self.form_invalid(form)
        return self.written(form, result)

    def form_invalid(self, form):
        if self.dry_run and getattr(form, "service_refused", None) is None:
            form.service_refused = add_dry_run_errors(form, lambda: self.write(form))
        note_dropped_secrets(form, form.data, self.secret_fields)
        return super().form_invalid(form)

    def written(self, form, result):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        refused = getattr(form, "service_refused", None)
        if refused is not None:
            # A conflict names the number that holds the number or the agent: link it.
            for part in refused.parts:
                if part.code == "AGENT_CHANNEL_IN_USE" and part.holder is not None:
                    context["agent_holder"] = part.holder
                elif part.code == "NUMBER_ALREADY_BOUND":
                    context["number_conflict"] = True
        return context
