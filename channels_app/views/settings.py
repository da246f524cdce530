"""The workspace's settings page: its default country (`default-region`), for its admins."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView

from channels_app import numbers, services
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error
from channels_app.forms import WorkspaceSettingsForm
from channels_app.models import Role

from .base import WorkspaceMixin


class WorkspaceSettingsView(WorkspaceMixin, FormView):
    """Admins of the workspace change its settings; developers and viewers are refused (403),
    as for members (docs/self-serve.md). Staff set the same field in the admin."""

    template_name = "channels_app/workspace_settings.html"
    form_class = WorkspaceSettingsForm
    write_page = True

    def load_objects(self) -> None:
        if self.membership.role != Role.ADMIN:
            raise PermissionDenied

    def get_initial(self):
        return {"default_region": self.workspace.default_region}

    def form_valid(self, form):
        try:
            workspace = services.workspace_update_settings(
                workspace=self.workspace, actor=self.actor, default_region=form.cleaned_data["default_region"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        if workspace.default_region:
            text = _("Numbers typed without a country code are now read as numbers of %(country)s.") % {
                "country": numbers.region_name(workspace.default_region)
            }
        else:
            text = _("No default country: every number needs its country code.")
        messages.success(self.request, text)
        return redirect("app:workspace_settings", self.workspace.slug)
