"""Self-serve pages for API tokens: list, create (shown once), revoke."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView

from channels_app import selectors, services
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error, add_dry_run_errors
from channels_app.forms import ConfirmForm, TokenCreateForm
from channels_app.models import TokenScope

from .base import WorkspaceMixin


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
    response is marked no-store. The same form posted again (a reload of that response) creates
    nothing and shows nothing: it leads back to the list with a message (`TokenCreateForm.nonce`)."""

    template_name = "channels_app/token_list.html"
    form_class = TokenCreateForm

    def get_context_data(self, **kwargs):
        now = timezone.now()
        tokens = []
        for token in selectors.token_list(workspace=self.workspace):
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
                creation_nonce=form.cleaned_data["nonce"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"expires_at": "expires_in"})
            form.service_refused = exc
            return self.form_invalid(form)
        if plaintext is None:
            messages.info(
                self.request,
                _(
                    "“%(name)s” was already created by this form, so nothing new was created. Its token was "
                    "shown once, when it was created; if you did not copy it, revoke it and create another."
                )
                % {"name": token.name},
            )
            return redirect("app:token_list", self.workspace.slug)
        context = self.get_context_data(form=self.get_form_class()(), new_token=token, plaintext=plaintext)
        return render(self.request, "channels_app/token_created.html", context)

    def form_invalid(self, form):
        if "nonce" in form.errors:  # a form from before nonces, or edited: show a fresh one
            messages.error(self.request, _("This form was out of date. Please fill it in again."))
            return redirect("app:token_list", self.workspace.slug)
        if getattr(form, "service_refused", None) is None:  # `all-at-once`: what else the service refuses
            data = form.cleaned_data
            add_dry_run_errors(
                form,
                lambda: services.token_create(
                    workspace=self.workspace,
                    actor=self.actor,
                    name=data.get("name", ""),
                    scope=data.get("scope", TokenScope.READ_WRITE),
                ),
                aliases={"expires_at": "expires_in"},
            )
        return super().form_invalid(form)


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
