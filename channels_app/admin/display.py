"""How a binding is shown wherever the admin lists it: credentials as "set / not set", the last
trunk check from the stored result. Nothing here decrypts a credential.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from channels_app.models import ENCRYPTED_FIELDS, Channel, ChannelBinding
from channels_app.sip import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


def bindings_without_secrets(queryset: QuerySet[ChannelBinding]) -> QuerySet[ChannelBinding]:
    """Bindings with their agent, the encrypted columns left unread, and whether secrets are set."""
    flags = {
        "has_username": "sip_username",
        "has_password": "sip_password",
        "has_access_token": "wa_access_token",
        "has_app_secret": "wa_app_secret",
    }
    return (
        queryset.select_related("agent")
        .defer(*ENCRYPTED_FIELDS)
        .annotate(
            **{
                flag: ExpressionWrapper(Q(**{f"{column}__isnull": False}), output_field=BooleanField())
                for flag, column in flags.items()
            }
        )
    )


def is_call_trunk(binding: ChannelBinding) -> bool:
    return binding.is_trunk and binding.channel == Channel.CALL


def is_whatsapp_trunk(binding: ChannelBinding) -> bool:
    return binding.is_trunk and binding.channel == Channel.WHATSAPP


def _flag(binding: ChannelBinding, flag: str, field: str) -> bool:
    value = getattr(binding, flag, None)
    return bool(getattr(binding, field)) if value is None else bool(value)


def credentials_status(binding: ChannelBinding) -> str:
    """ "set / not set" for username and password (access token and app secret), from NULL-ness:
    nothing is decrypted."""
    state = {True: _("set"), False: _("not set")}
    if is_whatsapp_trunk(binding):
        text = _("access token %(t)s, app secret %(s)s") % {
            "t": state[_flag(binding, "has_access_token", "wa_access_token")],
            "s": state[_flag(binding, "has_app_secret", "wa_app_secret")],
        }
        if binding.credentials_updated_at:
            return format_html("{} · {} {}", text, _("changed"), binding.credentials_updated_at.strftime(TIME_FORMAT))
        return text
    if not is_call_trunk(binding):
        return "—"
    has_username = getattr(binding, "has_username", None)
    has_password = getattr(binding, "has_password", None)
    if has_username is None:  # not loaded through bindings_without_secrets
        has_username, has_password = bool(binding.sip_username), bool(binding.sip_password)
    state = {True: _("set"), False: _("not set")}
    text = _("username %(u)s, password %(p)s") % {"u": state[bool(has_username)], "p": state[bool(has_password)]}
    if binding.credentials_updated_at:
        return format_html("{} · {} {}", text, _("changed"), binding.credentials_updated_at.strftime(TIME_FORMAT))
    return text


def health_summary(binding: ChannelBinding) -> str:
    """A call trunk's last check in a few words: its status and when."""
    if not is_call_trunk(binding):
        return "—"
    if not binding.health_status:
        return _("not checked since the last SIP change")
    when = binding.health_checked_at.strftime(TIME_FORMAT) if binding.health_checked_at else "—"
    return f"{binding.get_health_status_display()} ({when})"


# The light's tone per check status (the same tones as the self-serve pages).
LIGHT_TONES = {HealthStatus.OK: "ok", HealthStatus.REACHABLE: "warn"}


def health_light(binding: ChannelBinding) -> SafeString:
    """A call trunk's health light for lists: a dot in the status's tone beside the status and
    the time of the check in words (the colour is never the only signal)."""
    if not binding.health_status:
        tone, text = "muted", _("not checked yet")
    else:
        tone = LIGHT_TONES.get(binding.health_status, "danger")
        when = binding.health_checked_at.strftime("%-d %b %H:%M UTC") if binding.health_checked_at else "—"
        text = format_html("{} · {} {}", binding.get_health_status_display(), _("checked"), when)
    return format_html(
        '<span class="health-light health-light--{}" data-health-light="{}"><span class="health-light__dot" '
        'aria-hidden="true"></span>{}</span>',
        tone,
        binding.health_status or "none",
        text,
    )


def status_label(status: Any) -> str:
    return HealthStatus(status).label if status in HealthStatus.values else str(status)


def gateway_line(gateway: dict[str, Any]) -> SafeString:
    """One gateway of a stored check (`health_details["gateways"]`): where, status, message and the
    OPTIONS and REGISTER answers."""
    answers = []
    for method, answer in (("OPTIONS", gateway), ("REGISTER", gateway.get("register"))):
        if answer and answer.get("status_line"):
            rtt = f" in {answer['rtt_ms']:.1f} ms" if answer.get("rtt_ms") is not None else ""
            answers.append(f"{method}: {answer['status_line']}{rtt}")
    host, address = gateway.get("host"), gateway.get("address")
    return format_html(
        "{} {}:{}{} · <strong>{}</strong> · {}{}",
        _("secondary gateway") if gateway.get("role") == "secondary_gateway" else _("gateway"),
        host,
        gateway.get("port"),
        f" ({address})" if address and address != host else "",
        status_label(gateway.get("status")),
        gateway.get("message") or "",
        format_html(' <span class="quiet">{}</span>', " · ".join(answers)) if answers else "",
    )


def line_check_details(binding: ChannelBinding) -> str:
    """A WhatsApp trunk's last line check: status, when, and what the Graph API said."""
    if not binding.health_status:
        return _("not checked since the last change of the phone number id or token")
    when = binding.health_checked_at.strftime(TIME_FORMAT) if binding.health_checked_at else "—"
    details = binding.health_details or {}
    label = WhatsappHealth(binding.health_status).label if binding.health_status in WhatsappHealth.values else ""
    return format_html("<strong>{}</strong> ({}) · {}", label, when, details.get("message") or "")


def health_details(binding: ChannelBinding) -> str:
    """The stored result of the last trunk check: status, when, and each gateway's answer."""
    if is_whatsapp_trunk(binding):
        return line_check_details(binding)
    gateways = (binding.health_details or {}).get("gateways") or []
    if not is_call_trunk(binding) or binding.health_status is None or not gateways:
        return health_summary(binding)
    lines = format_html_join("", "<li>{}</li>", ((gateway_line(gateway),) for gateway in gateways))
    return format_html('{}<ul class="trunk-check">{}</ul>', health_summary(binding), lines)


class BindingColumns:
    """The columns a binding shows wherever it is listed: the binding's own pages, the number's."""

    @admin.display(description=_("kind"))
    def kind(self, binding: ChannelBinding) -> str:
        return _("trunk") if binding.is_trunk else _("purchased binding")

    @admin.display(description=_("SIP credentials"))
    def credentials(self, binding: ChannelBinding) -> str:
        return credentials_status(binding)
