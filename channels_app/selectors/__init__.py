"""Every read that carries tenancy, one function per question (see each module)."""

from channels_app.selectors.events import Event, number_events, token_events
from channels_app.selectors.numbers import (
    binding_get,
    call_trunks_for_check,
    number_get,
    number_list,
    trunk_list,
    whatsapp_trunks_for_check,
)
from channels_app.selectors.tokens import token_by_secret, token_get, token_list
from channels_app.selectors.workspaces import (
    agent_get,
    agent_list,
    agent_suggestions,
    agents_by_text,
    membership_get,
    memberships_for_user,
    number_workspace_for_user,
)

__all__ = [
    "Event",
    "agent_get",
    "agent_list",
    "agent_suggestions",
    "agents_by_text",
    "binding_get",
    "call_trunks_for_check",
    "membership_get",
    "memberships_for_user",
    "number_events",
    "number_get",
    "number_list",
    "number_workspace_for_user",
    "token_by_secret",
    "token_events",
    "token_get",
    "token_list",
    "trunk_list",
    "whatsapp_trunks_for_check",
]
