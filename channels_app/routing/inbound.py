"""The inbound decision (carrier -> agent): first refusal that applies, else relay.

1. the source S is inside no trunk's `inbound_addresses` in the whole installation:
   403 SOURCE_NOT_ALLOWED (unknown sources learn nothing about which numbers exist);
2. no call trunk that accepts S has a number the called user U spells (E.164, E.164 digits,
   national): 404 NUMBER_NOT_ROUTED;
3. that trunk's direction is `outbound`: 403 DIRECTION_NOT_ALLOWED;
4. its agent is not active: 480 AGENT_UNAVAILABLE;
5. relay to AGENT_SIP_URI with the X-Trunkadmin-* headers.

Indexed queries only (`routing.queries`): the call trunks whose number is one of U's readings and
that have an address block among S's candidate keys (`addresses`), and, when none does, whether
any block has one of those keys: one query for a call that goes through, two for a refusal. For the
explainer (`workspace` given), a U that spells no number of that workspace is NUMBER_NOT_ROUTED
("not a number of yours"), whatever another tenant holds; for its own numbers the steps are the
edge's. Reads only; no network.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from channels_app.models import AgentStatus, Channel, ChannelBinding, Direction, PhoneNumber, Workspace
from channels_app.routing import addresses, queries, spelling
from channels_app.routing.decision import INBOUND, Checks, Decision, Target, routed

AGENT_HEADERS = ("X-Trunkadmin-Agent", "X-Trunkadmin-Number", "X-Trunkadmin-Binding", "X-Trunkadmin-Workspace")


def called_user(ruri_user: str | None, to_user: str | None) -> str:
    """U: the Request-URI user, else the To user."""
    return ruri_user if ruri_user else (to_user or "")


def _rank(readings: spelling.Readings, trunk: queries.Trunk) -> int:
    """How U reads as this trunk's number: E.164 readings first, then national ones, in order."""
    ordered = [*readings.e164, *readings.national]
    for index, reading in enumerate(ordered):
        if reading in (trunk.e164, trunk.national_number):
            return index
    return len(ordered)


def _trunks(readings: spelling.Readings, keys: list[str], workspace: Workspace | None) -> list[queries.Trunk]:
    """Call trunks whose number U spells and that have a block containing S (by its keys)."""
    found = queries.accepting_trunks(
        e164=readings.e164,
        national=readings.national,
        keys=keys,
        workspace_id=workspace.pk if workspace is not None else None,
    )
    return sorted(found, key=lambda trunk: (_rank(readings, trunk), trunk.pk))


def target_uri(agent_uuid: str) -> str:
    return settings.AGENT_SIP_URI.format(agent_uuid=agent_uuid)


def decide_inbound(
    *, source: str, ruri_user: str | None, to_user: str | None = None, workspace: Workspace | None = None
) -> Decision:
    """What the edge does with a new INVITE from `source` (see the module docstring)."""
    checks = Checks(INBOUND)
    raw_user = called_user(ruri_user, to_user)
    readings = spelling.readings(raw_user)
    ip = addresses.parse_source(source)
    if workspace is not None and not _spells_a_number_of(workspace, readings):
        return checks.refuse("number", "NUMBER_NOT_ROUTED", _not_yours(raw_user, readings))
    keys = addresses.candidate_keys(ip) if ip is not None else []
    # The trunks first: when one accepts S, S is known (one query for a call that goes through).
    trunks = _trunks(readings, keys, workspace) if readings and keys else []
    if not trunks and not queries.source_known(keys):
        detail = (
            f"{source or 'The source'} is not among the inbound addresses of any trunk: calls from it are refused "
            "before any number is looked at."
        )
        if workspace is not None:  # the explainer, about a number of the workspace: say what to fix
            detail += " " + _no_trunk(raw_user, readings, ip or source, workspace)
        return checks.refuse("source_address", "SOURCE_NOT_ALLOWED", detail)
    checks.passed("source_address", f"{ip} is an inbound address of a trunk of this installation.")
    if not trunks:
        detail = _no_trunk(raw_user, readings, ip, workspace)
        return checks.refuse("number", "NUMBER_NOT_ROUTED", detail)
    trunk = trunks[0]
    binding = routed(trunk)
    checks.passed(
        "number",
        f"“{raw_user}” is {binding.number}, the number of call trunk {binding.trunk_name}, which accepts {ip}.",
    )
    if trunk.direction == Direction.OUTBOUND:
        return checks.refuse(
            "direction",
            "DIRECTION_NOT_ALLOWED",
            f"Call trunk {binding.trunk_name} is outbound only: it takes no inbound call.",
            binding=binding,
        )
    checks.passed("direction", f"Call trunk {binding.trunk_name} takes inbound calls (direction {trunk.direction}).")
    if trunk.agent_status != AgentStatus.ACTIVE:
        status = AgentStatus(trunk.agent_status).label if trunk.agent_status in AgentStatus.values else "unavailable"
        return checks.refuse(
            "agent",
            "AGENT_UNAVAILABLE",
            f"The agent {binding.agent_name} is {str(status).lower()}: it answers no call.",
            binding=binding,
        )
    checks.passed("agent", f"The agent {binding.agent_name} is active.")
    uri = target_uri(binding.agent_uuid)
    headers = dict(
        zip(
            AGENT_HEADERS,
            (binding.agent_uuid, binding.number, binding.binding_uuid, binding.workspace_slug),
            strict=True,
        )
    )
    return checks.relay(
        f"Relayed to the agent {binding.agent_name} at {uri}.", binding=binding, target=Target(uri=uri, headers=headers)
    )


# --- the explainer's words for a workspace's own numbers -------------------------------------------


def _own_numbers(workspace: Workspace, readings: spelling.Readings):
    own = PhoneNumber.objects.filter(workspace=workspace).filter(
        Q(number__in=readings.e164) | Q(national_number__in=readings.national)
    )
    return own.only("id", "number", "national_number")


def _spells_a_number_of(workspace: Workspace, readings: spelling.Readings) -> bool:
    return bool(readings) and _own_numbers(workspace, readings).exists()


def _not_yours(raw_user: str, readings: spelling.Readings) -> str:
    if not readings:
        return f"“{raw_user}” is not a phone number."
    return f"“{raw_user}” is not a number of yours."


def _number_rank(readings: spelling.Readings, number: PhoneNumber) -> int:
    ordered = [*readings.e164, *readings.national]
    matches = [index for index, reading in enumerate(ordered) if reading in (number.e164, number.national_number)]
    return min(matches, default=len(ordered))


def _no_trunk(raw_user: str, readings: spelling.Readings, ip, workspace: Workspace | None) -> str:
    """Why no trunk matched, in words; for the explainer, about the workspace's own number."""
    if not readings:
        return f"“{raw_user}” is not a phone number."
    if workspace is not None:
        numbers = sorted(_own_numbers(workspace, readings), key=lambda number: _number_rank(readings, number))
        if numbers:
            number = numbers[0]
            trunk = (
                ChannelBinding.objects.filter(phone_number=number, channel=Channel.CALL, is_trunk=True)
                .only("name", "sip_inbound_addresses")
                .first()
            )
            if trunk is None:
                return f"{number.e164} is yours but has no call trunk: inbound calls reach it only through one."
            if not trunk.sip_inbound_addresses:
                return (
                    f"{number.e164} is yours, but its call trunk {trunk.name} lists no inbound addresses: it "
                    "accepts no inbound call."
                )
            return (
                f"{number.e164} is yours, but its call trunk {trunk.name} does not list {ip} among its inbound "
                f"addresses ({', '.join(trunk.sip_inbound_addresses)})."
            )
    return f"No call trunk that accepts {ip} has a number spelled “{raw_user}”."
