"""Template filters that format model instances for the self-serve pages."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from channels_app.models import ChannelBinding, NumberFormat, PhoneNumber, Transport
from channels_app.routing.spelling import spelled
from channels_app.sip import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

register = template.Library()

# How each check status reads on a page: the pill's tone.
HEALTH_TONES = {
    HealthStatus.OK: "ok",
    HealthStatus.REACHABLE: "warn",
    HealthStatus.AUTH_FAILED: "danger",
    HealthStatus.UNREACHABLE: "danger",
    HealthStatus.DNS_FAILED: "danger",
    HealthStatus.REFUSED: "danger",
    WhatsappHealth.NUMBER_MISMATCH: "danger",
}
GATEWAY_ROLES = {"gateway": _("Gateway"), "secondary_gateway": _("Secondary gateway")}


@register.filter
def binding_on(number: PhoneNumber, channel: str) -> ChannelBinding | None:
    """`number|binding_on:"call"`: the number's binding on that channel, or None."""
    return number.binding(channel)


@register.filter
def health_label(status: str | None) -> str:
    """A trunk check status in words ("Reachable")."""
    return str(HealthStatus(status).label) if status in HealthStatus.values else (status or "")


@register.filter
def line_health_label(status: str | None) -> str:
    """A WhatsApp line check status in words ("Access token refused")."""
    return str(WhatsappHealth(status).label) if status in WhatsappHealth.values else (status or "")


@register.filter
def health_tone(status: str | None) -> str:
    return HEALTH_TONES.get(status, "muted")


@register.filter
def gateway_role(role: str) -> str:
    return str(GATEWAY_ROLES.get(role, role))


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON value laid out for reading (additional settings)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def number_format_label(value: str | None) -> str:
    """A number format in words ("National (4155550100)")."""
    return str(NumberFormat(value).label) if value in NumberFormat.values else (value or "")


@register.filter
def transport_label(value: str | None) -> str:
    return str(Transport(value).label) if value in Transport.values else (value or "")


@register.filter
def on_the_wire(binding: ChannelBinding) -> str:
    """The trunk's number as the edge writes it to the carrier (its number format)."""
    e164 = binding.phone_number.e164
    return spelled(e164, binding.effective_number_format, home=e164)
