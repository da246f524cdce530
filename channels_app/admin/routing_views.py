"""The admin's routing pages: "Why would this call fail?" on a number (docs/routing.md).

The answer is `routing.explain`'s for the number's workspace, the one the API and the self-serve
page give. A GET form: staff who may view numbers may ask; nothing is written.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from channels_app.admin.base import admin_url, missing_object
from channels_app.forms import ExplainForm
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
