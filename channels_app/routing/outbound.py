"""The outbound decision (agent -> carrier): first refusal that applies, else relay.

1. the source is not one of the platform's media servers (AGENT_SOURCE_ADDRESSES):
   403 SOURCE_NOT_ALLOWED (the explainer skips this check: it asks about a call the platform
   places);
2. the number to call from (`X-Trunkadmin-Number`) has no call trunk: 404 NUMBER_NOT_ROUTED;
3. the trunk's direction is `inbound`: 403 DIRECTION_NOT_ALLOWED;
4. the destination is not a valid number, is an emergency or premium-rate number, or is outside
   the number's voice `whitelisted_destinations` (empty: every country): 403 DESTINATION_NOT_ALLOWED;
5. the trunk has no gateway: 503 NO_GATEWAY;
6. relay to the gateway (then the secondary gateway), over the trunk's transport, with the From
   and Request-URI users in the trunk's number format.

One indexed query (the trunk of the number, `routing.queries.trunk_of`). Reads only; no network.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings

from channels_app import channel_settings
from channels_app.models import Direction, Workspace
from channels_app.routing import addresses, queries, spelling
from channels_app.routing.decision import OUTBOUND, Checks, Decision, Gateway, Target, routed
from channels_app.sip.message import host_for_uri


@functools.lru_cache(maxsize=8)
def _networks(blocks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(block, strict=False) for block in blocks)


def from_media_server(source: str) -> bool:
    """Whether `source` is inside AGENT_SOURCE_ADDRESSES."""
    ip = addresses.parse_source(source)
    if ip is None:
        return False
    return any(
        ip.version == network.version and ip in network for network in _networks(tuple(settings.AGENT_SOURCE_ADDRESSES))
    )


def _gateway(role: str, host: str, trunk: queries.Trunk, dest_user: str) -> Gateway:
    port = trunk.effective_port
    transport = trunk.effective_transport
    where = f"{host_for_uri(host)}:{port}"
    parameter = "" if transport == "udp" else f";transport={transport}"
    return Gateway(
        role=role,
        host=host,
        port=port,
        transport=transport,
        uri=f"sip:{dest_user}@{where}{parameter}",
        next_hop=f"sip:{where};transport={transport}",
    )


def destination_refusal(destination: spelling.Destination, allowed: list[str]) -> str | None:
    """Why `destination-allowed` refuses this destination, in words; None when it may be called."""
    raw = destination.raw
    if destination.emergency:
        return f"“{raw}” is an emergency number: emergency calls never leave through a trunk."
    if destination.e164 is None:
        return f"“{raw}” is not a valid phone number."
    if destination.premium:
        return f"{destination.e164} is a premium-rate number: such calls are refused."
    if allowed and destination.region not in allowed:
        return (
            f"{destination.e164} is in {destination.region or 'no country'}, outside this number's voice "
            f"destinations ({', '.join(allowed)})."
        )
    return None


def decide_outbound(
    *, source: str | None, from_number: str | None, to: str | None, workspace: Workspace | None = None
) -> Decision:
    """What the edge does with a new INVITE from a media server (see the module docstring).

    `source` None (the explainer) skips the media-server check."""
    checks = Checks(OUTBOUND)
    if source is not None:
        if not from_media_server(source):
            return checks.refuse(
                "source_address",
                "SOURCE_NOT_ALLOWED",
                f"{source or 'The source'} is not one of the platform's media servers: outbound calls from it are "
                "refused.",
            )
        checks.passed("source_address", f"{source} is a media server of the platform.")
    readings = spelling.readings(from_number)
    e164 = readings.e164[0] if readings.e164 and str(from_number or "").strip().startswith("+") else None
    trunk = queries.trunk_of(e164, workspace_id=workspace.pk if workspace is not None else None) if e164 else None
    if trunk is None:
        if e164 is None:
            detail = f"“{from_number or ''}” is not a number in E.164 form (+14155550100)."
        elif workspace is not None:
            detail = (
                f"{e164} has no call trunk of yours."
                if _is_own(e164, workspace)
                else f"{e164} is not a number of yours."
            )
        else:
            detail = f"{e164} has no call trunk."
        return checks.refuse("number", "NUMBER_NOT_ROUTED", detail)
    binding = routed(trunk)
    checks.passed("number", f"{binding.number} calls out through its call trunk {binding.trunk_name}.")
    if trunk.direction == Direction.INBOUND:
        return checks.refuse(
            "direction",
            "DIRECTION_NOT_ALLOWED",
            f"Call trunk {binding.trunk_name} is inbound only: it places no outbound call.",
            binding=binding,
        )
    checks.passed("direction", f"Call trunk {binding.trunk_name} places outbound calls (direction {trunk.direction}).")
    destination = spelling.destination(to, home=binding.number)
    allowed = channel_settings.normalised(trunk.channel_settings)["voice"]["whitelisted_destinations"]
    refusal = destination_refusal(destination, allowed)
    if refusal is not None:
        return checks.refuse("destination", "DESTINATION_NOT_ALLOWED", refusal, binding=binding)
    where = f"in {', '.join(allowed)}" if allowed else "every country is allowed"
    checks.passed("destination", f"{destination.e164} ({destination.region}) may be called: {where}.")
    if not trunk.sip_gateway:
        return checks.refuse(
            "gateway", "NO_GATEWAY", f"Call trunk {binding.trunk_name} has no gateway.", binding=binding
        )
    number_format = trunk.effective_number_format
    dest_user = spelling.spelled(destination.e164, number_format, home=binding.number)
    gateways = [_gateway("gateway", trunk.sip_gateway, trunk, dest_user)]
    if trunk.sip_secondary_gateway:
        gateways.append(_gateway("secondary_gateway", trunk.sip_secondary_gateway, trunk, dest_user))
    first = gateways[0]
    then = f", then {gateways[1].host}:{gateways[1].port}" if len(gateways) > 1 else ""
    checks.passed("gateway", f"Calls leave through {first.host}:{first.port} over {first.transport.upper()}{then}.")
    from_user = spelling.spelled(binding.number, number_format, home=binding.number)
    target = Target(
        uri=first.uri,
        headers={"From": f"sip:{from_user}@{host_for_uri(first.host)}"},
        gateways=tuple(gateways),
        from_user=from_user,
        authenticates=bool(trunk.authenticates),
    )
    return checks.relay(f"Relayed to {first.host}:{first.port} as {first.uri}.", binding=binding, target=target)


def _is_own(e164: str, workspace: Workspace) -> bool:
    return workspace.phone_numbers.filter(number=e164).exists()
