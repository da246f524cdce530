"""Forms of the staff admin. They shape input and hand it to one service each.

SIP username and password are write-only: `PasswordInput(render_value=False)`, never an initial
value; blank keeps what is stored and an explicit "clear" box clears it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.translation import gettext_lazy as _

from channels_app import channel_settings as settings_doc
from channels_app import services
from channels_app.admin.base import PRIMARY_KEY, ServiceForm
from channels_app.admin.fields import AgentChoiceField, JSONObjectField
from channels_app.inputs import AmountField, WholeNumberField
from channels_app.models import Channel, Direction, NumberFormat, TokenScope, Transport, Workspace
from channels_app.routing.addresses import split_text
from channels_app.services.whatsapp import WHATSAPP_KEYS
from channels_app.validators import CREDENTIAL_KEYS

UNSET = services.UNSET
TRUNK_CHANNEL_CHOICES = [(Channel.CALL, _("Call")), (Channel.WHATSAPP, _("WhatsApp"))]

PHONE_HELP = _(
    "Any spelling with the country code: +1 (202) 555-0123, 12025550123, +44 20 7183 8750. Without +, "
    "a workspace with a default country reads it as a number of that country."
)
KEEP_HELP = _("Write-only. Leave blank to keep the stored value.")
ADDRESSES_HELP = _(
    "The carrier's signalling sources: IP addresses or CIDR blocks, one per line (at most 20, at most /8 for IPv4, "
    "/32 for IPv6). Empty: the trunk accepts no inbound call."
)


class RoutingFieldsMixin(forms.Form):
    """A call trunk's routing (docs/routing.md): plain values, shown back."""

    sip_inbound_addresses = forms.CharField(
        label=_("Inbound addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        help_text=ADDRESSES_HELP,
    )
    sip_transport = forms.ChoiceField(
        label=_("Transport"), required=False, choices=[("", _("Default (UDP)")), *Transport.choices]
    )
    sip_number_format = forms.ChoiceField(
        label=_("Number format"),
        required=False,
        choices=[("", _("Default (E.164)")), *NumberFormat.choices],
        help_text=_("How the carrier writes numbers; the edge reads all three."),
    )

    def routing_sip(self, data: dict[str, Any], keys: set[str] | None = None) -> dict[str, Any]:
        """The routing keys of `sip` (all given ones, or only `keys`), addresses as a list."""
        sip: dict[str, Any] = {}
        for key in ("inbound_addresses", "transport", "number_format"):
            if keys is not None and f"sip_{key}" not in keys:
                continue
            value = data.get(f"sip_{key}") or ""
            if key == "inbound_addresses":
                if value or keys is not None:
                    sip[key] = split_text(value)
            elif value or keys is not None:
                sip[key] = value
        return sip


def secret_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=KEEP_HELP,
    )


def whatsapp_id_input(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=_("Digits, from Meta's WhatsApp Manager."))


class TrunkRegisterForm(RoutingFieldsMixin, ServiceForm):
    """Register an external number on a channel: services.trunk_register, as the API's POST."""

    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name"))
    phone_number = forms.CharField(max_length=64, help_text=PHONE_HELP)
    # Offered: call and WhatsApp. Any other value goes to the service, which answers with the
    # contract's message (SMS: UNSUPPORTED_CHANNEL, pointing to the SMS assign endpoint).
    channel = forms.CharField(widget=forms.Select(choices=TRUNK_CHANNEL_CHOICES), initial=Channel.CALL)
    agent = AgentChoiceField()
    name = forms.CharField(required=False, help_text=_("Leave blank for the default, e.g. call_trunk_12025550123."))
    direction = forms.ChoiceField(
        required=False,
        choices=[("", _("Default (both)")), *Direction.choices],
        help_text=_("Call only; ignored for WhatsApp."),
    )
    sip_gateway = forms.CharField(
        label=_("SIP gateway"), required=False, help_text=_("Host name or IP address, no scheme or port.")
    )
    sip_port = forms.CharField(label=_("SIP port"), required=False, help_text=_("1-65535; blank means 5060."))
    sip_secondary_gateway = forms.CharField(label=_("SIP secondary gateway"), required=False)
    sip_username = secret_input(_("SIP username"))
    sip_password = secret_input(_("SIP password"))
    wa_phone_number_id = whatsapp_id_input(_("WhatsApp phone number id"))
    wa_business_account_id = whatsapp_id_input(_("WhatsApp Business account id"))
    wa_access_token = secret_input(_("WhatsApp access token"))
    wa_app_secret = secret_input(_("WhatsApp app secret"))
    additional_settings = JSONObjectField(help_text=_('A JSON object, e.g. {"region": "eu"}. At most 16 KiB.'))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workspace = self._chosen_workspace()
        self.fields["agent"].set_agents(workspace=workspace)
        for secret in ("sip_username", "sip_password", "wa_access_token", "wa_app_secret"):
            self.fields[secret].help_text = _("Write-only: never shown again.")

    def _chosen_workspace(self) -> Workspace | None:
        """With a workspace given in the address (?workspace=ID), list only its agents."""
        raw = self.initial.get("workspace")
        if raw and PRIMARY_KEY.fullmatch(str(raw)) and not self.is_bound:
            return Workspace.objects.filter(pk=raw).first()
        return None

    needed = ("workspace",)

    def perform(self, data: dict[str, Any]):
        sip = {key: data[f"sip_{key}"] for key in CREDENTIAL_KEYS if data.get(f"sip_{key}")}
        sip.update(self.routing_sip(data))
        whatsapp = {key: data[f"wa_{key}"] for key in WHATSAPP_KEYS if data.get(f"wa_{key}")}
        settings = data.get("additional_settings")
        return services.trunk_register(
            workspace=data["workspace"],
            actor=self.actor,
            phone_number=data.get("phone_number", UNSET),
            agent_uuid=getattr(data.get("agent"), "agent_uuid", UNSET),
            channel=data.get("channel", UNSET),
            name=data.get("name") or UNSET,
            direction=data.get("direction") or UNSET,
            sip=sip or UNSET,
            whatsapp=whatsapp or UNSET,
            additional_settings=UNSET if settings is None else settings,
        )


class TrunkEditForm(RoutingFieldsMixin, ServiceForm):
    """Edit a trunk: services.trunk_update with only what changed (`update-merges`)."""

    name = forms.CharField(required=False, help_text=_("Leave blank to go back to the default name."))
    direction = forms.ChoiceField(choices=Direction.choices)
    sip_gateway = forms.CharField(
        label=_("SIP gateway"), required=False, help_text=_("Host name or IP address; blank clears it.")
    )
    sip_port = forms.CharField(label=_("SIP port"), required=False, help_text=_("1-65535; blank means 5060."))
    sip_secondary_gateway = forms.CharField(label=_("SIP secondary gateway"), required=False)
    sip_username = secret_input(_("SIP username"))
    clear_sip_username = forms.BooleanField(required=False, label=_("Clear the stored SIP username"))
    sip_password = secret_input(_("SIP password"))
    clear_sip_password = forms.BooleanField(required=False, label=_("Clear the stored SIP password"))
    wa_phone_number_id = whatsapp_id_input(_("WhatsApp phone number id"))
    wa_business_account_id = whatsapp_id_input(_("WhatsApp Business account id"))
    wa_access_token = secret_input(_("WhatsApp access token"))
    clear_wa_access_token = forms.BooleanField(required=False, label=_("Clear the stored access token"))
    wa_app_secret = secret_input(_("WhatsApp app secret"))
    clear_wa_app_secret = forms.BooleanField(required=False, label=_("Clear the stored app secret"))
    additional_settings = JSONObjectField(help_text=_("A JSON object, replaced whole. Empty clears it."))

    CALL_ONLY = (
        "direction",
        "sip_gateway",
        "sip_port",
        "sip_secondary_gateway",
        "sip_username",
        "sip_password",
        "clear_sip_username",
        "clear_sip_password",
        "sip_inbound_addresses",
        "sip_transport",
        "sip_number_format",
    )
    WHATSAPP_ONLY = (
        "wa_phone_number_id",
        "wa_business_account_id",
        "wa_access_token",
        "wa_app_secret",
        "clear_wa_access_token",
        "clear_wa_app_secret",
    )
    SECRETS = (("sip", "username"), ("sip", "password"), ("wa", "access_token"), ("wa", "app_secret"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        binding = self.instance
        for field in self.WHATSAPP_ONLY if binding.channel == Channel.CALL else self.CALL_ONLY:
            self.fields.pop(field, None)
        # Initial values: never the username or password.
        self.initial.update(
            {
                "name": binding.name,
                "additional_settings": binding.additional_settings or None,
            }
        )
        if binding.channel == Channel.CALL:
            self.initial.update(
                {
                    "direction": binding.direction,
                    "sip_gateway": binding.sip_gateway or "",
                    "sip_port": binding.sip_port or "",
                    "sip_secondary_gateway": binding.sip_secondary_gateway or "",
                    "sip_inbound_addresses": "\n".join(binding.sip_inbound_addresses or []),
                    "sip_transport": binding.sip_transport or "",
                    "sip_number_format": binding.sip_number_format or "",
                }
            )
        else:
            self.initial.update(
                {
                    "wa_phone_number_id": binding.wa_phone_number_id or "",
                    "wa_business_account_id": binding.wa_business_account_id or "",
                }
            )

    def clean(self) -> dict[str, Any]:
        # Before ServiceForm.clean, which calls the service only when no field is refused.
        for prefix, key in self.SECRETS:
            if self.cleaned_data.get(f"clear_{prefix}_{key}") and self.cleaned_data.get(f"{prefix}_{key}"):
                self.add_error(f"{prefix}_{key}", _("Enter a new value or tick the clear box, not both."))
        return super().clean()

    def perform(self, data: dict[str, Any]):
        binding = self.instance
        changed = set(self.changed_data) & data.keys()  # a refused field is not given
        kwargs: dict[str, Any] = {}
        if "name" in changed:
            kwargs["name"] = data["name"] or None
        if "direction" in changed:
            kwargs["direction"] = data["direction"]
        sip: dict[str, str] = {}
        for key in ("gateway", "secondary_gateway", "port"):
            if f"sip_{key}" in changed:
                sip[key] = data[f"sip_{key}"] or ""
        for key in ("username", "password"):
            if data.get(f"clear_sip_{key}"):
                sip[key] = ""
            elif data.get(f"sip_{key}"):
                sip[key] = data[f"sip_{key}"]
        sip.update(self.routing_sip(data, keys=changed))
        if sip:
            kwargs["sip"] = sip
        whatsapp: dict[str, str] = {}
        for key in ("phone_number_id", "business_account_id"):
            if f"wa_{key}" in changed:
                whatsapp[key] = data[f"wa_{key}"] or ""
        for key in ("access_token", "app_secret"):
            if data.get(f"clear_wa_{key}"):
                whatsapp[key] = ""
            elif data.get(f"wa_{key}"):
                whatsapp[key] = data[f"wa_{key}"]
        if whatsapp:
            kwargs["whatsapp"] = whatsapp
        if "additional_settings" in changed:
            kwargs["additional_settings"] = data["additional_settings"] or {}
        return services.trunk_update(
            workspace=binding.workspace,
            actor=self.actor,
            phone_number=binding.phone_number.e164,
            channel=binding.channel,
            **kwargs,
        )


class ReadOnlyBindingForm(ServiceForm):
    """A binding on a purchased number has nothing to edit in place: reassign or unbind it."""

    def perform(self, data: dict[str, Any]):
        return self.instance


class ReassignForm(forms.Form):
    """Pick the agent to give the selected binding(s) to (services.binding_reassign)."""

    agent = AgentChoiceField(label=_("New agent"))

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].set_agents(workspace=workspace)


_LIST_SEPARATORS = re.compile(r"[\s,;]+")


class NumberSettingsForm(ServiceForm):
    """A number's channel settings: services.number_update_settings with what changed only."""

    voice_enabled = forms.BooleanField(required=False, label=_("Voice enabled"))
    voice_channel_limit = WholeNumberField(required=False, label=_("Voice channel limit"))
    voice_whitelisted_destinations = forms.CharField(
        required=False, label=_("Voice destinations"), help_text=_("ISO country codes, e.g. US, CA, GB.")
    )
    sms_enabled = forms.BooleanField(required=False, label=_("SMS enabled"))
    sms_channel_limit = WholeNumberField(required=False, label=_("SMS channel limit"))
    sms_whitelisted_destinations = forms.CharField(
        required=False, label=_("SMS destinations"), help_text=_("ISO country codes, e.g. US, CA, GB.")
    )
    inbound_enabled = forms.BooleanField(required=False, label=_("Inbound enabled"))
    inbound_channel_limit = WholeNumberField(required=False, label=_("Inbound channel limit"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = settings_doc.normalised(self.instance.channel_settings)
        for section, keys in settings_doc.SECTIONS.items():
            for key in keys:
                value = current[section][key]
                if key == "whitelisted_destinations":
                    value = ", ".join(value)
                self.initial[f"{section}_{key}"] = value

    def perform(self, data: dict[str, Any]):
        patch: dict[str, dict[str, Any]] = {}
        for field in set(self.changed_data) & data.keys():
            section, key = field.split("_", 1)
            value = data[field]
            if key == "whitelisted_destinations":
                value = [code for code in _LIST_SEPARATORS.split(value or "") if code]
            patch.setdefault(section, {})[key] = value
        number = self.instance
        if not patch:
            return number
        return services.number_update_settings(
            workspace=number.workspace,
            actor=self.actor,
            phone_number_uuid=number.phone_number_uuid,
            channel_settings=patch,
        )


class PurchasedNumberForm(ServiceForm):
    """Enter a number bought from a carrier: services.number_add_purchased."""

    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name"))
    number = forms.CharField(max_length=64, help_text=PHONE_HELP)
    voice = forms.BooleanField(required=False, initial=True)
    sms = forms.BooleanField(required=False)
    mms = forms.BooleanField(required=False)
    fax = forms.BooleanField(required=False)
    emergency = forms.BooleanField(required=False)
    local_calling = forms.BooleanField(required=False, initial=True)
    monthly_fee = AmountField(max_digits=8, decimal_places=2, min_value=0, initial=Decimal("1.15"))
    currency = forms.CharField(max_length=3, initial="USD")

    CAPABILITIES = ("voice", "sms", "mms", "fax", "emergency", "local_calling")
    needed = ("workspace",)

    def perform(self, data: dict[str, Any]):
        return services.number_add_purchased(
            workspace=data["workspace"],
            actor=self.actor,
            number=data.get("number", UNSET),
            capabilities={key: bool(data.get(key)) for key in self.CAPABILITIES},
            monthly_fee=data.get("monthly_fee", UNSET),
            currency=data.get("currency", "USD").upper(),
        )


class TokenCreateForm(ServiceForm):
    """Create an API token for a workspace: services.token_create. The token is shown once."""

    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name"))
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ_WRITE)
    expires_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text=_("Optional. Leave blank for no expiry.")
    )

    needed = ("workspace",)

    def perform(self, data: dict[str, Any]):
        token, self.plaintext = services.token_create(
            workspace=data["workspace"],
            actor=self.actor,
            name=data.get("name", UNSET),
            scope=data.get("scope", UNSET),
            expires_at=data.get("expires_at"),
        )
        return token
