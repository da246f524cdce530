"""The admin's routing pages (docs/routing.md): "Why would this call fail?" on a number, and the
test call on a call trunk.

The explanation is `routing.explain`'s for the number's workspace, the one the API and the
self-serve page give: a GET form, for staff who may view numbers. The test call is
`services.trunk_test_call`'s, for staff who may change bindings.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from channels_app import services
from channels_app.admin.base import admin_actor, admin_url, missing_object
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import ExplainForm, TestCallForm
from channels_app.models import Channel
from channels_app.views.routing import explain_with


def explain_view(model_admin, request, object_id):
    """GET /admin/channels_app/phonenumber/<id>/explain/: the question, and the answer in words."""
    number = model_admin.get_object(request, unquote(object_id))
    if number is None:
        return missing_object(model_admin, request, object_id)
    if not model_admin.has_view_or_change_permission(request, number):
        raise PermissionDenied
    asked = "to" in request.GET
    form = ExplainForm(request.GET if asked else None, initial={"to": number.e164})
    decision = explain_with(form, workspace=number.workspace, number=number) if asked else None
    admin_site = model_admin.admin_site
    context = {
        **admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Why would this call fail? %(number)s") % {"number": number.e164},
        "original": number,
        "number_url": admin_url(number),
        "form": form,
        "decision": decision,
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/channels_app/phonenumber/explain.html", context)


def test_call_view(model_admin, request, object_id):
    """/admin/channels_app/channelbinding/<id>/test-call/: GET asks the number, POST places the call
    (services.trunk_test_call, outside any transaction) and shows the exchange. Needs the change
    permission on channel bindings, as "Check now" does."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    binding = model_admin.get_object(request, unquote(object_id))
    if binding is None:
        return missing_object(model_admin, request, object_id)
    if not (binding.is_trunk and binding.channel == Channel.CALL):
        raise PermissionDenied
    form = TestCallForm(request.POST if request.method == "POST" else None)
    call = None
    if form.is_bound and form.is_valid():
        try:
            call = services.trunk_test_call(
                workspace=binding.workspace,
                actor=admin_actor(request),
                phone_number=binding.phone_number.e164,
                channel=Channel.CALL,
                to=form.cleaned_data["to"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
    admin_site = model_admin.admin_site
    context = {
        **admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Test call from %(number)s") % {"number": binding.phone_number.e164},
        "original": binding,
        "binding_url": admin_url(binding),
        "form": form,
        "call": call,
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/channels_app/channelbinding/test_call.html", context)
