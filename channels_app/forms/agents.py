"""The agent of a self-serve form: a search by name or UUID, not a menu of every agent.

A menu of every agent grew with the workspace (tens of thousands of agents made a page of
megabytes). The field is a text input: the agent's name (any case) or its UUID. Its suggestions
are a bounded query (selectors.agent_suggestions): a `<datalist>` the browser filters as one
types, with or without JavaScript, and after "Find agents" (a plain submit) the list of matches
for what was typed, each marked with the number it already answers on the form's channel.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels_app import selectors
from channels_app.errors import ValidationFailed
from channels_app.models import Agent, Workspace
from channels_app.services import rules

AGENT_OPTIONS_ID = "agent-options"
# The submit button that asks for matches instead of saving (works without JavaScript).
FIND_AGENT = "find_agent"


class AgentSearchField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Agent"))
        kwargs.setdefault("help_text", _("Type the agent's name or UUID; suggestions appear as you type."))
        kwargs.setdefault("error_messages", {"required": _("Choose an agent: type its name or UUID.")})
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"list": AGENT_OPTIONS_ID, "autocomplete": "off", "spellcheck": "false"}),
        )
        super().__init__(**kwargs)


class AgentSearchMixin(forms.Form):
    """A form whose `agent` field is an AgentSearchField; `clean_agent` returns the Agent."""

    workspace: Workspace
    agent_channel: str | None

    def setup_agent_search(self, *, workspace: Workspace, channel: str | None) -> None:
        self.workspace = workspace
        self.agent_channel = channel
        self.finding_agent = False  # set by the view on "Find agents"

    @property
    def typed_agent(self) -> str:
        if self.is_bound:
            return str(self.data.get(self.add_prefix("agent"), ""))
        return str(self.initial.get("agent") or "")

    def agent_options(self) -> list[dict[str, Any]]:
        """The suggestions: agents matching what was typed (the first ones by name when nothing
        was, or when a saved choice is shown). A name two suggestions share is offered as UUIDs."""
        typed = self.typed_agent if self.is_bound or self.finding_agent else ""
        agents = selectors.agent_suggestions(workspace=self.workspace, channel=self.agent_channel, text=typed)
        names = [agent.name.lower() for agent in agents]
        return [
            {
                "agent": agent,
                "value": agent.name if names.count(agent.name.lower()) == 1 else str(agent.agent_uuid),
                "busy_number": getattr(agent, "busy_number", None),
            }
            for agent in agents
        ]

    def clean_agent(self) -> Agent:
        text = self.cleaned_data["agent"]
        found = selectors.agents_by_text(workspace=self.workspace, texts=[text])
        try:
            return rules.agent_named(text, found.get(text.strip().lower(), []))
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.details, code="agent") from exc
