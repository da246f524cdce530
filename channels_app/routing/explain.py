"""The explainer: what the edge would do with a call, for a workspace (docs/routing.md).

`explain` takes the inputs of `POST /api/v1/routing/explain` (and of the pages' "Why would this
call fail?" forms) as they are sent, refuses malformed ones with VALIDATION_ERROR on their field
(every mistake at once), and answers the edge's own decision for the workspace's numbers; a
number that is not the workspace's explains as NUMBER_NOT_ROUTED ("not a number of yours").
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from channels_app import numbers
from channels_app.errors import ValidationFailed
from channels_app.models import Workspace
from channels_app.routing import addresses
from channels_app.routing.decision import INBOUND, OUTBOUND, Decision
from channels_app.routing.inbound import decide_inbound
from channels_app.routing.outbound import decide_outbound

DIRECTIONS = (INBOUND, OUTBOUND)
MAX_USER = 255


def _wire_user(value: Any, field: str, errors: dict[str, list[str]]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors[field] = [_("This field is required.")]
        return None
    if len(value) > MAX_USER or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        errors[field] = [_("At most %(n)d printable characters: the user part of a SIP URI.") % {"n": MAX_USER}]
        return None
    return value.strip()


def explain(
    *, workspace: Workspace, direction: Any, to: Any = None, source_ip: Any = None, from_number: Any = None
) -> Decision:
    """Inbound: `to` (the Request-URI user, read exactly as the edge reads it) and `source_ip`.
    Outbound: `from_number` (any spelling) and `to` (the destination as the agent writes it)."""
    errors: dict[str, list[str]] = {}
    if direction not in DIRECTIONS:
        raise ValidationFailed.single("direction", _("Must be one of: inbound, outbound."))
    user = _wire_user(to, "to", errors)
    if direction == INBOUND:
        if addresses.parse_source(source_ip) is None:
            errors["source_ip"] = [_("Must be an IPv4 or IPv6 address, e.g. 203.0.113.10.")]
        if errors:
            raise ValidationFailed(errors)
        return decide_inbound(source=str(source_ip).strip(), ruri_user=user, workspace=workspace)
    e164 = None
    try:
        e164 = numbers.parse_field(from_number, field="from_number", region=workspace.default_region)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    if errors:
        raise ValidationFailed(errors)
    return decide_outbound(source=None, from_number=e164, to=user, workspace=workspace)
