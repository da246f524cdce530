"""Form fields of the staff admin's service forms: JSON typed in a textarea, bounded like every
other door's JSON, and the agent menu grouped by workspace."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels_app import inputs, selectors
from channels_app.models import Agent, Workspace


class JSONObjectField(forms.JSONField):
    """JSON typed in a textarea; empty means "not given" (shown empty, not as `null`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(**kwargs)

    def _bounds_problem(self, text: Any) -> str | None:
        """The bounded JSON path's limits (size, depth), checked before Django's json.loads
        recurses: refused text is shown back as typed."""
        if not isinstance(text, str):
            return None
        if len(text.encode("utf-8", errors="surrogatepass")) > inputs.MAX_JSON_BYTES:
            return _("JSON text is larger than %(n)d KiB.") % {"n": inputs.MAX_JSON_BYTES // 1024}
        return inputs.json_depth_problem(text)

    def to_python(self, value: Any) -> Any:
        problem = self._bounds_problem(value)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        try:
            converted = super().to_python(value)
        except ValueError:  # json.loads' other refusals: a number of more than 4,300 digits...
            invalid = self.error_messages["invalid"]
            raise forms.ValidationError(invalid, code="invalid", params={"value": value}) from None
        problem = inputs.storable_problem(converted)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self._bounds_problem(data):
            return _TypedText(data)
        try:
            return super().bound_data(data, initial)
        except ValueError:  # not a JSONDecodeError, which Django handles: shown back as typed
            return _TypedText(data)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, _TypedText):
            return str(value)
        return "" if value is None else super().prepare_value(value)


class _TypedText(str):
    """Text typed into a JSON field that was refused before parsing: shown back as it was."""


class AgentSelect(forms.Select):
    """Agents grouped by workspace; each option names its workspace for the page's filter script."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace_of: dict[str, str] = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        workspace_id = self.workspace_of.get(str(value))
        if workspace_id:
            option["attrs"]["data-workspace"] = workspace_id
        return option


class AgentChoiceField(forms.ChoiceField):
    """Pick an agent; the agents are listed per workspace (or of one workspace only)."""

    widget = AgentSelect

    def set_agents(self, *, workspace: Workspace | None = None) -> None:
        if workspace is not None:
            agents = selectors.agent_list(workspace=workspace).select_related("workspace")
        else:
            agents = Agent.objects.select_related("workspace").order_by("workspace__name", "name", "id")
        groups: dict[str, list[tuple[str, str]]] = {}
        workspace_of: dict[str, str] = {}
        for agent in agents:
            groups.setdefault(agent.workspace.name, []).append((str(agent.pk), agent.name))
            workspace_of[str(agent.pk)] = str(agent.workspace_id)
        self.choices = [("", "---------"), *groups.items()]
        self.widget.workspace_of = workspace_of

    def clean(self, value: Any) -> Agent | None:
        value = super().clean(value)
        return Agent.objects.filter(pk=value).first() if value else None
