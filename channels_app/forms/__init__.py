"""Self-serve forms: they shape input for the services and show the services' errors (see each
module). No rule is restated in them."""

from .numbers import (
    AgentChoiceForm,
    ConfirmForm,
    ExplainForm,
    NumberFilterForm,
    TestCallForm,
    WorkspaceSettingsForm,
)
from .tokens import TokenCreateForm, form_nonce
from .trunks import TrunkRegisterForm, TrunkUpdateForm, WriteOnlyTextInput, agent_choices, parse_json_text

__all__ = [
    "AgentChoiceForm",
    "ConfirmForm",
    "ExplainForm",
    "NumberFilterForm",
    "TestCallForm",
    "TokenCreateForm",
    "TrunkRegisterForm",
    "TrunkUpdateForm",
    "WorkspaceSettingsForm",
    "WriteOnlyTextInput",
    "agent_choices",
    "form_nonce",
    "parse_json_text",
]
