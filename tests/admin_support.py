"""Helpers for the staff admin tests: URLs, form data, and reading errors off a rendered form.

Everything runs through Django's test client against the real database; nothing is mocked.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from channels_app import imports

REGISTER_URL = "/admin/channels_app/channelbinding/add/"
NUMBERS_URL = "/admin/channels_app/phonenumber/"
BINDINGS_URL = "/admin/channels_app/channelbinding/"
TOKENS_URL = "/admin/channels_app/apitoken/"
IMPORT_URL = "/admin/channels_app/phonenumber/import/"


def change_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def history_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])


def run_action(client, changelist: str, action: str, objects: list[Any], *, confirm: bool = False, **fields: Any):
    """POST a changelist action for `objects`, as the changelist's action bar sends it: the first
    call answers with the confirmation page; `confirm=True` adds the page's `post` marker."""
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], "index": "0", **fields}
    if confirm:
        data.pop("index")
        data["post"] = "yes"
    return client.post(changelist, data)


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def form_fields(html: str, form_id: str) -> dict[str, list[str]]:
    """The hidden inputs of the form `form_id` of a page, except the CSRF token: what it sends."""
    form = re.search(rf'<form[^>]*id="{form_id}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form {form_id}"
    fields: dict[str, list[str]] = {}
    for name, value in _HIDDEN.findall(form.group(1)):
        if name != "csrfmiddlewaretoken":
            fields.setdefault(name, []).append(value)
    return fields


def confirm(client, page, form_id: str, **fields: Any):
    """Submit an action's confirmation page as a browser would: its hidden inputs plus `fields`,
    to the address the page was served at."""
    assert page.status_code == 200, page.status_code
    return client.post(page.wsgi_request.path, {**form_fields(page.content.decode(), form_id), **fields})


def object_tool_forms(html: str) -> list[dict[str, Any]]:
    """The POST forms of a change page's tools: where each posts and what it sends."""
    tools = re.search(r'<ul class="object-tools">(.*?)</ul>', html, re.S)
    found = []
    for action, body in re.findall(
        r'<form method="post" action="([^"]+)" class="object-tools-form">(.*?)</form>',
        tools.group(1) if tools else "",
        re.S,
    ):
        fields = {name: value for name, value in _HIDDEN.findall(body) if name != "csrfmiddlewaretoken"}
        found.append({"url": action, **fields})
    return found


def register_data(workspace, agent, **fields: Any) -> dict[str, Any]:
    """POST data of the "register external number" form; keyword arguments override."""
    data = {
        "workspace": workspace.pk,
        "phone_number": "+1 (202) 555-0143",
        "channel": "call",
        "agent": agent.pk,
        "name": "",
        "direction": "",
        "sip_gateway": "",
        "sip_port": "",
        "sip_secondary_gateway": "",
        "sip_username": "",
        "sip_password": "",
        "additional_settings": "",
    }
    data.update(fields)
    return data


def trunk_edit_data(binding, **fields: Any) -> dict[str, Any]:
    """POST data of a trunk's change form, as the page renders it (secrets blank), plus overrides."""
    data: dict[str, Any] = {"name": binding.name, "additional_settings": ""}
    if binding.additional_settings:
        data["additional_settings"] = json.dumps(binding.additional_settings)
    if binding.channel == "call":
        data.update(
            {
                "direction": binding.direction,
                "sip_gateway": binding.sip_gateway or "",
                "sip_port": binding.sip_port or "",
                "sip_secondary_gateway": binding.sip_secondary_gateway or "",
                "sip_username": "",
                "sip_password": "",
            }
        )
    data.update(fields)
    return {key: value for key, value in data.items() if value is not False}


def bindings_management_form(total: int = 0) -> dict[str, Any]:
    """The (read-only) bindings inline's management form on a number's change page."""
    return {
        "bindings-TOTAL_FORMS": total,
        "bindings-INITIAL_FORMS": total,
        "bindings-MIN_NUM_FORMS": 0,
        "bindings-MAX_NUM_FORMS": 1000,
    }


def form_errors(response) -> dict[str, list[str]]:
    """Errors of the admin form on a re-rendered page: {field or "__all__": [messages]}."""
    context = response.context
    form = context["adminform"].form if "adminform" in context else context["form"]
    return {field: [str(message) for message in messages] for field, messages in form.errors.items()}


HEADER = ",".join(imports.COLUMNS)


def csv_text(*rows: str, header: str = HEADER) -> str:
    """A CSV file of the contract's columns with the given data lines."""
    return "\n".join([header, *rows]) + "\n"


def row(number: str, agent, channel: str = "call", **cells: str) -> str:
    """One CSV data line: a trunk for `agent`, other columns empty unless given."""
    values = dict.fromkeys(imports.COLUMNS, "")
    values.update(phone_number=number, channel=channel, agent_uuid=str(agent.agent_uuid), **cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([values[column] for column in imports.COLUMNS])
    return out.getvalue()
