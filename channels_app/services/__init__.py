"""Every write of the contract, once, for all three doors (see each module).

Each service is keyword-only, runs in one transaction under the caller's `Actor` (for the audit
trail), validates its whole input before touching a row, and turns a constraint violation lost to
a concurrent request into the same domain error the pre-check would have raised: the database has
the last word, and a race never surfaces as a crash.
"""

from channels_app.services.base import UNSET, rolled_back
from channels_app.services.bulk import trunk_register_many
from channels_app.services.checks import trunk_check
from channels_app.services.delivery import deliveries_retry
from channels_app.services.numbers import number_add_purchased, number_release, number_update_settings
from channels_app.services.purchased import call_provision, sms_assign
from channels_app.services.test_calls import trunk_test_call
from channels_app.services.tokens import token_create, token_revoke, token_touch
from channels_app.services.trunks import (
    binding_delete,
    binding_reassign,
    default_trunk_name,
    trunk_assign,
    trunk_delete,
    trunk_register,
    trunk_update,
)
from channels_app.services.whatsapp_checks import any_trunk_check, whatsapp_check
from channels_app.services.workspaces import workspace_update_settings

__all__ = [
    "UNSET",
    "any_trunk_check",
    "binding_delete",
    "binding_reassign",
    "call_provision",
    "default_trunk_name",
    "deliveries_retry",
    "number_add_purchased",
    "number_release",
    "number_update_settings",
    "rolled_back",
    "sms_assign",
    "token_create",
    "token_revoke",
    "token_touch",
    "trunk_assign",
    "trunk_check",
    "trunk_delete",
    "trunk_register",
    "trunk_register_many",
    "trunk_test_call",
    "trunk_update",
    "whatsapp_check",
    "workspace_update_settings",
]
