"""The audit trail pages: who changed what, through which door. Secrets only ever as "changed".

The events come from selectors (number_events, token_events), which read django-simple-history;
username and password are not in history at all, only the fact that they changed.
"""

from __future__ import annotations

from typing import Any

from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from channels_app.audit import Door
from channels_app.event_display import change_lines
from channels_app.models import Channel
from channels_app.selectors import Event

_DOORS = dict(Door.choices)
CHANNEL_LABELS = dict(Channel.choices)


def event_rows(events: list[Event]) -> list[dict[str, Any]]:
    """Events shaped for the page: door, action and channel in words, changes as before -> after
    (channels_app.event_display, the same words as the self-serve activity)."""
    return [
        {
            "at": event.at,
            "actor": event.actor,
            "action": event.action.replace("_", " "),
            "channel": CHANNEL_LABELS.get(event.channel, event.channel),
            "door_label": _DOORS.get(event.door, event.door or "—"),
            "change_list": change_lines(event, brief_creation=False),
        }
        for event in events
    ]


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
