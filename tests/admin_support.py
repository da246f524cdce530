"""Helpers for the staff admin tests: URLs, form data, and reading errors off a rendered form.

Everything runs through Django's test client against the real database; nothing is mocked.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

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
