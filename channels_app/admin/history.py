"""The audit trail pages: who changed what, through which door. Secrets only ever as "changed".

The events come from selectors (number_events, token_events), which read django-simple-history;
username and password are not in history at all, only the fact that they changed.
"""

from __future__ import annotations

import json
from typing import Any

from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from channels_app.audit import Door
from channels_app.selectors import Event

_DOORS = dict(Door.choices)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def event_rows(events: list[Event]) -> list[dict[str, Any]]:
    """Events shaped for the page: door label, changes as (field, value) pairs."""
    rows = []
    for event in events:
        changes = []
        for key, value in event.changes.items():
            if key == "agent_uuid" and event.agent_name:
                value = f"{event.agent_name} ({value})"
            changes.append((key, _shown(value)))
        rows.append(
            {
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "channel": event.channel,
                "door_label": _DOORS.get(event.door, event.door or "—"),
                "change_list": changes,
            }
        )
    return rows


def render_trail(modeladmin, request, obj, events: list[Event], *, subject: str) -> TemplateResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "object": obj,
        "subject": subject,
        "title": _("Audit trail: %(subject)s") % {"subject": subject},
        "events": event_rows(events),
        "show_channel": any(event.channel for event in events),
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/channels_app/audit_trail.html", context)
