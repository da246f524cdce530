"""Self-serve forms of trunks: register and edit, with their SIP, routing and WhatsApp fields.

No rule is restated here. A form turns text into the values a service takes (JSON text into an
object, blank into "not given") and puts a `DomainError` back next to the field it names.
SIP username and password are write-only: their inputs never render a value back.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels_app import inputs, numbers
from channels_app.models import Channel, ChannelBinding, Direction, NumberFormat, Transport, Workspace
from channels_app.routing.addresses import split_text
from channels_app.routing.models import DEFAULT_NUMBER_FORMAT, DEFAULT_TRANSPORT
from channels_app.services import UNSET

from .agents import AgentSearchField, AgentSearchMixin


class WriteOnlyTextInput(forms.TextInput):
    """A text input that never renders its value back (SIP usernames are write-only)."""

    def format_value(self, value):
        return None


def _secret_input(**attrs: str) -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", **attrs})


def parse_json_text(text: str) -> Any:
    """JSON text -> value, through the bounded JSON path (depth and size limited while parsing);
    the service decides whether the value is acceptable (an object...)."""
    try:
        return inputs.parse_json(text)
    except inputs.InputError as exc:
        raise forms.ValidationError(exc.message, code="invalid_json") from None


def agent_choices(agents) -> list[tuple[str, str]]:
    return [(str(agent.agent_uuid), agent.name) for agent in agents]


SETTINGS_HELP = _('A JSON object passed to your agent as is, e.g. {"region": "eu"}.')
GATEWAY_HELP = _("Host name or IP address only: no sip:, no port.")
INBOUND_ADDRESSES_HELP = _(
    "The addresses your carrier sends calls from: IP addresses or blocks such as 203.0.113.0/24, one per line "
    "(at most 20). Leave empty and this trunk accepts no inbound call."
)
NUMBER_FORMAT_HELP = _("How your carrier writes numbers. We accept all three from it and write this one to it.")
ROUTING_DEFAULTS = {"transport": DEFAULT_TRANSPORT, "number_format": DEFAULT_NUMBER_FORMAT}


class SipFieldsMixin(forms.Form):
    """The SIP connection of a call trunk. Gateway, port and secondary gateway are shown back;
    username and password never are."""

    sip_gateway = forms.CharField(
        label=_("Gateway"),
        required=False,
        help_text=GATEWAY_HELP,
        widget=forms.TextInput(attrs={"placeholder": "sip.example.com", "autocomplete": "off", "spellcheck": "false"}),
    )
    sip_port = forms.CharField(
        label=_("Port"),
        required=False,
        help_text=_("Default 5060."),
        widget=forms.TextInput(attrs={"placeholder": "5060", "inputmode": "numeric", "autocomplete": "off"}),
    )
    sip_secondary_gateway = forms.CharField(
        label=_("Secondary gateway"),
        required=False,
        help_text=_("Optional fallback host."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    sip_username = forms.CharField(
        label=_("Username"),
        required=False,
        strip=False,
        widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    sip_password = forms.CharField(label=_("Password"), required=False, strip=False, widget=_secret_input())
    sip_transport = forms.ChoiceField(
        label=_("Transport"), choices=Transport.choices, initial=DEFAULT_TRANSPORT, required=False
    )
    sip_inbound_addresses = forms.CharField(
        label=_("Carrier addresses"),
        required=False,
        help_text=INBOUND_ADDRESSES_HELP,
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "class": "mono", "placeholder": "203.0.113.0/24"}
        ),
    )
    sip_number_format = forms.ChoiceField(
        label=_("Number format"),
        choices=NumberFormat.choices,
        initial=DEFAULT_NUMBER_FORMAT,
        required=False,
        help_text=NUMBER_FORMAT_HELP,
    )

    def routing_changes(self, current: dict[str, Any]) -> dict[str, Any]:
        """The routing keys of `sip` whose typed value differs from `current` (the stored values,
        or the defaults on a new trunk); inbound addresses as a list, split at spaces and lines."""
        data = self.cleaned_data  # a field the form refused is not given
        changes: dict[str, Any] = {}
        if "sip_inbound_addresses" in data:
            typed = split_text(data["sip_inbound_addresses"])
            if typed != current.get("inbound_addresses", []):
                changes["inbound_addresses"] = typed
        for key in ("transport", "number_format"):
            if f"sip_{key}" not in data:
                continue
            value = data[f"sip_{key}"] or ROUTING_DEFAULTS[key]
            if value != current.get(key, ROUTING_DEFAULTS[key]):
                changes[key] = value
        return changes


WHATSAPP_ID_ATTRS = {"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}


class WhatsappFieldsMixin(forms.Form):
    """The Cloud API line of a WhatsApp trunk (docs/whatsapp.md). The ids are shown back; the
    access token and app secret never are."""

    wa_phone_number_id = forms.CharField(
        label=_("Phone number ID"),
        required=False,
        help_text=_("WhatsApp Manager → API Setup: “Phone number ID”."),
        widget=forms.TextInput(attrs=WHATSAPP_ID_ATTRS),
    )
    wa_business_account_id = forms.CharField(
        label=_("WhatsApp Business Account ID"),
        required=False,
        help_text=_("WhatsApp Manager → API Setup: “WhatsApp Business Account ID”."),
        widget=forms.TextInput(attrs=WHATSAPP_ID_ATTRS),
    )
    wa_access_token = forms.CharField(
        label=_("Access token"),
        required=False,
        strip=False,
        help_text=_("A system user's permanent token with whatsapp_business_management."),
        widget=_secret_input(),
    )
    wa_app_secret = forms.CharField(
        label=_("App secret"),
        required=False,
        strip=False,
        help_text=_("App Dashboard → App settings → Basic: “App secret”. Signs the webhook."),
        widget=_secret_input(),
    )

    WHATSAPP_KEYS = ("phone_number_id", "business_account_id", "access_token", "app_secret")


class TrunkRegisterForm(AgentSearchMixin, WhatsappFieldsMixin, SipFieldsMixin):
    """Register an external number on one channel (POST /phone-numbers/trunks, as a page)."""

    phone_number = forms.CharField(
        label=_("Phone number"),
        help_text=_("International format with the country code. Spaces, dashes and brackets are fine."),
        widget=forms.TextInput(
            attrs={"placeholder": "+1 202 555 0123", "inputmode": "tel", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(Channel.CALL, _("Call (SIP trunk)")), (Channel.WHATSAPP, _("WhatsApp"))],
        initial=Channel.CALL,
        widget=forms.RadioSelect(attrs={"data-channel-choice": ""}),
        help_text=_("SMS goes through purchased numbers, not trunks."),
    )
    agent = AgentSearchField()
    name = forms.CharField(
        label=_("Name"),
        required=False,
        help_text=_("Leave blank for the default name shown."),
        widget=forms.TextInput(attrs={"placeholder": "call_trunk_<digits>", "data-default-name": ""}),
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=Direction.choices,
        initial=Direction.BOTH,
        required=False,
        widget=forms.RadioSelect,
    )
    additional_settings = forms.CharField(
        label=_("Additional settings"),
        required=False,
        help_text=SETTINGS_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )

    field_order = ["phone_number", "channel", "agent", "name", "direction"]

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel = (self.data if self.is_bound else self.initial).get("channel")
        self.setup_agent_search(workspace=workspace, channel=channel if channel in Channel.values else Channel.CALL)
        region = workspace.default_region
        if region:  # `default-region`: say which country a number without + belongs to
            self.fields["phone_number"].help_text = _(
                "Without + and a country code, we read it as a number of %(country)s. "
                "Spaces, dashes and brackets are fine."
            ) % {"country": numbers.region_name(region)}
            self.fields["phone_number"].widget.attrs["placeholder"] = numbers.example_national(region)

    def clean_additional_settings(self) -> Any:
        text = self.cleaned_data["additional_settings"].strip()
        return parse_json_text(text) if text else UNSET

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for services.trunk_register: a blank optional field is "not given"."""
        # A field the form refused is "not given" (the dry run of `all-at-once` asks about the rest).
        data = {name: self.cleaned_data.get(name, "") for name in self.fields}
        agent = self.cleaned_data.get("agent")
        kwargs: dict[str, Any] = {
            "phone_number": data["phone_number"] or UNSET,
            "channel": data["channel"] or UNSET,
            "agent_uuid": agent.agent_uuid if agent else UNSET,
            "name": data["name"].strip() or UNSET,
            "additional_settings": self.cleaned_data.get("additional_settings", UNSET),
        }
        if data["channel"] == Channel.CALL:
            kwargs["direction"] = data["direction"] or UNSET
        sip = {
            key: data[f"sip_{key}"]
            for key in ("gateway", "port", "secondary_gateway", "username", "password")
            if data[f"sip_{key}"] != ""
        }
        # Transport and number format only when they are not the defaults their menus start on.
        sip.update(self.routing_changes({}))
        # Sent for WhatsApp too, so the service can say SIP belongs to calls (never dropped silently).
        kwargs["sip"] = sip or UNSET
        whatsapp = {key: data[f"wa_{key}"] for key in self.WHATSAPP_KEYS if data[f"wa_{key}"] != ""}
        kwargs["whatsapp"] = whatsapp or UNSET  # likewise on a call trunk
        return kwargs


class TrunkUpdateForm(WhatsappFieldsMixin, SipFieldsMixin):
    """Edit a trunk (PATCH /phone-numbers/trunks, as a page).

    Gateway, port and secondary gateway (the WhatsApp ids) show their value: change or empty them
    to change or clear. Username and password (access token and app secret) are blank: blank
    keeps the saved value, a tick box removes it.
    """

    name = forms.CharField(label=_("Name"), required=False, help_text=_("Leave blank for the default name."))
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, widget=forms.RadioSelect)
    clear_username = forms.BooleanField(label=_("Remove the saved username"), required=False)
    clear_password = forms.BooleanField(label=_("Remove the saved password"), required=False)
    clear_access_token = forms.BooleanField(label=_("Remove the saved access token"), required=False)
    clear_app_secret = forms.BooleanField(label=_("Remove the saved app secret"), required=False)
    additional_settings = forms.CharField(
        label=_("Additional settings"),
        required=False,
        help_text=_('A JSON object; empty it to remove all settings, e.g. {"region": "eu"}.'),
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
    )

    field_order = ["name", "direction"]

    def __init__(self, *args: Any, binding: ChannelBinding, **kwargs: Any) -> None:
        self.binding = binding
        current_settings = binding.additional_settings or {}
        kwargs["initial"] = {
            "name": binding.name,
            "direction": binding.direction,
            "sip_gateway": binding.sip_gateway or "",
            "sip_port": binding.sip_port or "",
            "sip_secondary_gateway": binding.sip_secondary_gateway or "",
            "wa_phone_number_id": binding.wa_phone_number_id or "",
            "wa_business_account_id": binding.wa_business_account_id or "",
            "sip_inbound_addresses": "\n".join(binding.sip_inbound_addresses or []),
            "sip_transport": binding.effective_transport,
            "sip_number_format": binding.effective_number_format,
            "additional_settings": json.dumps(current_settings, indent=2, ensure_ascii=False)
            if current_settings
            else "",
        }
        super().__init__(*args, **kwargs)
        digits = binding.phone_number.digits
        self.fields["name"].widget.attrs["placeholder"] = f"{binding.channel}_trunk_{digits}"
        has_username = getattr(binding, "has_username", False)
        has_password = getattr(binding, "has_password", False)
        self.fields["sip_username"].help_text = (
            _("A username is saved. Leave blank to keep it, or type a new one.")
            if has_username
            else _("No username saved.")
        )
        self.fields["sip_password"].help_text = (
            _("A password is saved. Leave blank to keep it, or type a new one.")
            if has_password
            else _("No password saved.")
        )
        if not has_username:
            del self.fields["clear_username"]
        if not has_password:
            del self.fields["clear_password"]
        for key, label in (("access_token", _("An access token")), ("app_secret", _("An app secret"))):
            if getattr(binding, f"has_{key}", False):
                self.fields[f"wa_{key}"].help_text = _(
                    "%(what)s is saved. Leave blank to keep it, or type a new one."
                ) % {"what": label}
            else:
                del self.fields[f"clear_{key}"]
        call_only = ("sip_", "clear_username", "clear_password", "direction")
        whatsapp_only = ("wa_", "clear_access_token", "clear_app_secret")
        drop = whatsapp_only if binding.channel == Channel.CALL else call_only
        for name in [name for name in self.fields if name.startswith(drop)]:
            del self.fields[name]

    def clean_additional_settings(self) -> Any:
        text = self.cleaned_data["additional_settings"].strip()
        return parse_json_text(text) if text else {}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key, field in (
            ("username", "sip_username"),
            ("password", "sip_password"),
            ("access_token", "wa_access_token"),
            ("app_secret", "wa_app_secret"),
        ):
            if data.get(f"clear_{key}") and data.get(field):
                self.add_error(field, _("Either type a new value or tick “remove”, not both."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for services.trunk_update: only what changed, with `update-merges` for `sip`.
        A field the form refused reads as its shown value: unchanged."""
        data = {name: self.cleaned_data.get(name, self.initial.get(name) or "") for name in self.fields}
        kwargs: dict[str, Any] = {
            "name": data["name"].strip() or None,  # None: back to the default name
            "additional_settings": self.cleaned_data.get("additional_settings", UNSET),
        }
        if self.binding.channel == Channel.WHATSAPP:
            whatsapp: dict[str, str] = {}
            for key in ("phone_number_id", "business_account_id"):
                typed = data[f"wa_{key}"].strip()
                if typed != (self.initial.get(f"wa_{key}") or ""):
                    whatsapp[key] = typed  # "" clears
            for key in ("access_token", "app_secret"):
                if data.get(f"clear_{key}"):
                    whatsapp[key] = ""
                elif data[f"wa_{key}"] != "":
                    whatsapp[key] = data[f"wa_{key}"]
            kwargs["whatsapp"] = whatsapp or UNSET
            return kwargs
        if self.binding.channel != Channel.CALL:
            return kwargs
        kwargs["direction"] = data["direction"] or UNSET
        sip: dict[str, str] = {}
        for key in ("gateway", "port", "secondary_gateway"):
            typed = data[f"sip_{key}"].strip()
            if typed != (self.initial.get(f"sip_{key}") or ""):
                sip[key] = typed  # "" clears
        for key in ("username", "password"):
            if data.get(f"clear_{key}"):
                sip[key] = ""
            elif data[f"sip_{key}"] != "":
                sip[key] = data[f"sip_{key}"]
        binding = self.binding
        sip.update(
            self.routing_changes(
                {
                    "inbound_addresses": binding.sip_inbound_addresses or [],
                    "transport": binding.effective_transport,
                    "number_format": binding.effective_number_format,
                }
            )
        )
        kwargs["sip"] = sip or UNSET
        return kwargs
