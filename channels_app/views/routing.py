"""Self-serve routing pages (docs/routing.md): "Why would this call fail?" and the test call.

The explainer is a GET form (nothing is written): viewers may ask too; its answer is
`routing.explain`'s, the one the API gives. The test call places a call: admins and developers.
"""

from __future__ import annotations

from django.http import Http404
from django.views.generic import FormView, TemplateView

from channels_app import services
from channels_app.errors import DomainError, ValidationFailed
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import ExplainForm, TestCallForm
from channels_app.models import Channel
from channels_app.routing.explain import explain

from .base import BindingMixin, NumberMixin


def explain_with(form: ExplainForm, *, workspace, number):
    """The decision for a bound form, or None with the refusal on the form."""
    if not form.is_valid():
        return None
    try:
        return explain(workspace=workspace, **form.question(number.e164))
    except ValidationFailed as exc:
        add_domain_error(form, exc)
        return None


class NumberExplainView(NumberMixin, TemplateView):
    template_name = "channels_app/number_explain.html"

    def get_context_data(self, **kwargs):
        asked = "to" in self.request.GET
        form = ExplainForm(self.request.GET if asked else None, initial={"to": self.number.e164})
        decision = explain_with(form, workspace=self.workspace, number=self.number) if asked else None
        return super().get_context_data(number=self.number, form=form, decision=decision, **kwargs)


class TrunkTestCallView(BindingMixin, FormView):
    """ "Test call" on a call trunk: GET asks the number, POST places the call and shows the exchange.

    The exchange is shown on the answer page itself (nothing is stored to show later); a reload asks
    the browser to post again, and the trunk's rate limit refuses a second call within the interval.
    """

    template_name = "channels_app/trunk_test_call.html"
    form_class = TestCallForm
    write_page = True
    trunks_only = True

    def load_objects(self) -> None:
        super().load_objects()
        if self.binding.channel != Channel.CALL:
            raise Http404

    def form_valid(self, form):
        try:
            call = services.trunk_test_call(
                workspace=self.workspace,
                actor=self.actor,
                phone_number=self.number.e164,
                channel=Channel.CALL,
                to=form.cleaned_data["to"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form, call=call))
