"""Self-serve forms of the numbers pages: choosing an agent, confirming, filtering the list,
asking why a call would fail, placing a test call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels_app import numbers
from channels_app.models import Channel, Workspace

from .agents import AgentSearchField, AgentSearchMixin
from .trunks import agent_choices


class AgentChoiceForm(AgentSearchMixin):
    """Choose the agent of a binding: reassign (PUT /phone-numbers/trunks/assign) or bind a
    purchased number (call provision, SMS assign). `clean_agent` gives the Agent."""

    agent = AgentSearchField()

    def __init__(self, *args: Any, workspace: Workspace, channel: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_agent_search(workspace=workspace, channel=channel)


class ConfirmForm(forms.Form):
    """A confirmation page's form: nothing but the CSRF token and the button."""


class NumberFilterForm(forms.Form):
    """Filters of the numbers page (the same ones as GET /phone-numbers)."""

    search = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number, in any format"), "inputmode": "tel"}),
    )
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("All sources")), ("purchased", _("Purchased")), ("external", _("External"))],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *Channel.choices],
    )
    agent = forms.ChoiceField(label=_("Agent"), required=False)

    def __init__(self, *args: Any, agents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", _("Any agent")), *agent_choices(agents)]

    def filters(self) -> dict[str, str]:
        """Keyword arguments for selectors.number_list (only the filters given)."""
        data = self.cleaned_data
        given = {
            "search": data["search"].strip(),
            "source": data["source"],
            "channel": data["channel"],
            "agent_uuid": data["agent"],
        }
        return {key: value for key, value in given.items() if value}

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and self.is_valid() and bool(self.filters())


class ExplainForm(forms.Form):
    """ "Why would this call fail?": the explainer's question about one number (routing.explain)."""

    direction = forms.ChoiceField(
        label=_("Call"),
        choices=[
            ("inbound", _("From a carrier to this number")),
            ("outbound", _("From the agent, out through the trunk")),
        ],
        initial="inbound",
        widget=forms.RadioSelect,
    )
    source_ip = forms.CharField(
        label=_("Carrier address"),
        required=False,
        help_text=_("Inbound: the address the carrier's call comes from, e.g. 203.0.113.10."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "decimal"}),
    )
    to = forms.CharField(
        label=_("Number called"),
        help_text=_("Inbound: this number as the carrier writes it. Outbound: the number the agent calls."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "tel"}),
    )

    def question(self, e164: str) -> dict[str, Any]:
        """Arguments for routing.explain about the number `e164`."""
        data = self.cleaned_data
        if data["direction"] == "inbound":
            return {"direction": "inbound", "to": data["to"], "source_ip": data["source_ip"]}
        return {"direction": "outbound", "to": data["to"], "from_number": e164}


class TestCallForm(forms.Form):
    """The number a test call rings (services.trunk_test_call)."""

    to = forms.CharField(
        label=_("Number to call"),
        help_text=_("It rings for an instant: the call is cancelled at the first ring, or hung up if answered."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel", "placeholder": "+1 415 555 0142"}),
    )


class WorkspaceSettingsForm(forms.Form):
    """A workspace's settings page (services.workspace_update_settings)."""

    default_region = forms.ChoiceField(
        label=_("Default country"),
        required=False,
        help_text=_(
            "Numbers typed without + and a country code, e.g. (202) 555-0143, are read as numbers of "
            "this country, on these pages, in the API and in CSV files. Without one, every number "
            "needs its country code."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_region"].choices = [
            ("", _("None: every number needs its country code")),
            *numbers.region_choices(),
        ]
