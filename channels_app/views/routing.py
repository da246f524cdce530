"""Self-serve "Why would this call fail?": the routing explainer on a number's page (docs/routing.md).

A GET form (nothing is written): viewers may ask too. The answer is `routing.explain`'s, the one
the API gives, for the workspace of the page.
"""

from __future__ import annotations

from django.views.generic import TemplateView

from channels_app.errors import ValidationFailed
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import ExplainForm
from channels_app.routing.explain import explain

from .base import NumberMixin


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
