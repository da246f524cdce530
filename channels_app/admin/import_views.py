"""Bulk registration from CSV in the admin: upload, preview every row, then commit the valid ones.

The preview runs the real engine (channels_app.imports) in a transaction that is rolled back, so
it shows exactly what a commit would do. Between the two steps the file travels back with the
form, encrypted with the field encryption key (it contains SIP passwords): it is never stored
on the server, never written to the session, and never in clear in the page.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import uuid
import zlib

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from channels_app import fields, imports
from channels_app.admin.base import admin_actor
from channels_app.models import Agent, Workspace

# The preview's table shows these in their own columns; every other cell goes in "Details".
SHOWN_COLUMNS = ("phone_number", "channel", "agent_uuid", "agent_name")
DETAIL_COLUMNS = tuple(column for column in imports.COLUMNS if column not in SHOWN_COLUMNS)
MAX_ADMIN_ROWS = 5_000  # a request must end well within the web server timeout; bigger files: import_trunks
PAYLOAD_MAX_AGE_SECONDS = 3600


# The downloadable template's example row (docs/admin.md): a call trunk, its agent by name.
TEMPLATE_EXAMPLE = {
    "phone_number": "+1 202 555 0143",
    "channel": "call",
    "agent_name": "Reception",
    "direction": "both",
    "sip_gateway": "sip.example.com",
    "sip_port": "5060",
    "sip_username": "trunk-user",
    "sip_password": "change-me",
    "additional_settings": '{"region": "us"}',
    "sip_inbound_addresses": "203.0.113.0/24",
}


def template_text() -> str:
    """A CSV file with every column and the example row, as the import reads it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(imports.COLUMNS)
    writer.writerow([TEMPLATE_EXAMPLE.get(column, "") for column in imports.COLUMNS])
    return buffer.getvalue()


class CsvImportForm(forms.Form):
    """Upload a CSV of trunks (the import_trunks columns) for one workspace."""

    MAX_BYTES = 5 * 1024 * 1024

    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name"))
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8 CSV with the header of the README's 'Bulk registration from CSV' section. At most 5 MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; use the import_trunks command."))
        return upload


class PayloadError(ValueError):
    """The preview's sealed file is missing, tampered with, someone else's, or too old."""


def seal(*, user_id: int, workspace_id: int, data: bytes) -> str:
    head = json.dumps({"user": user_id, "workspace": workspace_id, "at": int(time.time())}).encode()
    return fields.encrypt(base64.b64encode(zlib.compress(head + b"\n" + data)).decode("ascii"))


def unseal(token: str, *, user_id: int) -> tuple[int, bytes]:
    try:
        raw = zlib.decompress(base64.b64decode(fields.decrypt(token)))
        head, _sep, data = raw.partition(b"\n")
        meta = json.loads(head)
        workspace_id, sealed_by, sealed_at = int(meta["workspace"]), meta["user"], int(meta["at"])
    except (fields.CredentialDecryptionError, ValueError, KeyError, TypeError, zlib.error) as exc:
        raise PayloadError from exc
    if sealed_by != user_id or time.time() - sealed_at > PAYLOAD_MAX_AGE_SECONDS:
        raise PayloadError
    return workspace_id, data


@method_decorator(sensitive_post_parameters(), name="dispatch")
class ImportView(View):
    """GET: the upload form. POST with a file: the preview. POST with the sealed file: commit."""

    model_admin = None
    template_name = "admin/channels_app/phonenumber/import.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("channels_app.add_channelbinding"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        form = CsvImportForm(initial={"workspace": request.GET.get("workspace")})
        return self.render(request, form=form)

    def post(self, request):
        if "payload" in request.POST:
            return self.commit(request)
        form = CsvImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form=form)
        workspace = form.cleaned_data["workspace"]
        data = form.cleaned_data["file"].read()
        try:
            rows = imports.read_rows(data)
        except imports.CsvFormatError as exc:
            form.add_error("file", str(exc))
            return self.render(request, form=form)
        if not rows:
            form.add_error("file", _("The file has a header but no rows."))
        elif len(rows) > MAX_ADMIN_ROWS:
            form.add_error(
                "file",
                _("The file has %(n)d rows; the admin takes at most %(max)d. Use the import_trunks command.")
                % {"n": len(rows), "max": MAX_ADMIN_ROWS},
            )
        if form.errors:
            return self.render(request, form=form)
        report = imports.register_rows(workspace=workspace, actor=admin_actor(request), rows=rows, dry_run=True)
        payload = seal(user_id=request.user.pk, workspace_id=workspace.pk, data=data)
        return self.render(request, form=form, report=report, workspace=workspace, payload=payload)

    def commit(self, request):
        try:
            workspace_id, data = unseal(request.POST["payload"], user_id=request.user.pk)
            rows = imports.read_rows(data)
        except (PayloadError, imports.CsvFormatError):
            messages.error(request, _("The preview has expired or is not valid. Upload the file again."))
            return HttpResponseRedirect(reverse("admin:channels_app_phonenumber_import"))
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is None:
            messages.error(request, _("The workspace no longer exists."))
            return HttpResponseRedirect(reverse("admin:channels_app_phonenumber_import"))
        report = imports.register_rows(workspace=workspace, actor=admin_actor(request), rows=rows, dry_run=False)
        if report.valid_count:
            messages.success(
                request,
                _("Registered %(valid)d of %(total)d rows in %(workspace)s.")
                % {"valid": report.valid_count, "total": len(report.rows), "workspace": workspace.name},
            )
        return self.render(request, form=None, report=report, workspace=workspace, committed=True)

    def render(self, request, *, form, report=None, workspace=None, payload=None, committed=False):
        admin_site = self.model_admin.admin_site
        context = {
            **admin_site.each_context(request),
            "opts": self.model_admin.opts,
            "title": _("Register trunks from CSV"),
            "form": form,
            "report": report,
            "rows": self._rows(report, workspace) if report else [],
            "workspace": workspace,
            "payload": payload,
            "committed": committed,
            "columns": imports.COLUMNS,
            "max_rows": MAX_ADMIN_ROWS,
        }
        request.current_app = admin_site.name
        return TemplateResponse(request, self.template_name, context)

    @staticmethod
    def _rows(report: imports.ImportReport, workspace: Workspace) -> list[dict]:
        """Rows for the page, narrow enough for it: number, channel and agent (its name looked up,
        all rows' in one query), the other cells given as "column: value" (secrets only as "set")."""
        agent_keys = [_uuid_or_none(row.cells.get("agent_uuid", "")) for row in report.rows]
        agents = Agent.objects.filter(workspace=workspace, agent_uuid__in={key for key in agent_keys if key})
        names = dict(agents.values_list("agent_uuid", "name"))
        return [
            {
                "row": row,
                "agent_name": names.get(key),
                "details": [(column, row.cell(column)) for column in DETAIL_COLUMNS if row.cell(column)],
            }
            for row, key in zip(report.rows, agent_keys, strict=True)
        ]


def template_csv(request):
    """The CSV template: the header of every column and one example row (docs/admin.md)."""
    response = HttpResponse(template_text(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="trunks-template.csv"'
    return response


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
