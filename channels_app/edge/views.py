"""The product's internal endpoints for the SIP edge (docs/routing.md, "The edge and the product").

`POST /internal/edge/route`: the routing decision for a new INVITE (routing.inbound /
routing.outbound), as a flat JSON object of strings, which Kamailio's json module reads field by
field. `POST /internal/edge/digest`: the `Authorization` / `Proxy-Authorization` value answering
a carrier's 401/407 for a trunk, computed here from the stored credentials: the password never
leaves the product.

Lean on purpose (contract: the decision costs at most 1.5x the API floor): plain Django views,
no DRF, no session, no throttle write, no audit record. They answer only the edge: HTTP basic
authentication with the user `edge` and SIP_EDGE_SECRET, compared in constant time; without a
secret configured they refuse everyone. Request bodies hold hex-encoded SIP user parts and
challenges (Kamailio's `{s.encode.hexa}`: no URL-encoding trap, any byte goes through) and are
never logged; error reports hide them (`sensitive_post_parameters`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from channels_app.models import Channel, ChannelBinding
from channels_app.routing.decision import Decision
from channels_app.routing.inbound import decide_inbound
from channels_app.routing.outbound import decide_outbound
from channels_app.sip import digest, message

logger = logging.getLogger("channels_app.edge")
EDGE_USER = "edge"
MAX_FIELD = 2048


def _authorised(request: HttpRequest) -> bool:
    secret = settings.SIP_EDGE_SECRET
    header = request.headers.get("Authorization", "")
    if not secret or not header.startswith("Basic "):
        return False
    try:
        user, _sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{EDGE_USER}:{secret}".encode()
    return hmac.compare_digest(f"{user}:{password}".encode(), expected)


def _refused() -> HttpResponse:
    response = HttpResponse("edge authentication required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="trunkadmin edge"'
    return response


def _field(request: HttpRequest, name: str) -> str:
    """A plain form field (addresses, digits, uuids), bounded."""
    return request.POST.get(name, "")[:MAX_FIELD]


def _hex_field(request: HttpRequest, name: str) -> str | None:
    """A hex-encoded field; None when it is not hex or not UTF-8 (a malformed request)."""
    raw = request.POST.get(name, "")[: 2 * MAX_FIELD]
    try:
        return bytes.fromhex(raw).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def edge_view(view):
    """POST only, CSRF-exempt (no browser talks to it), the edge's secret, bodies never reported."""
    return csrf_exempt(require_POST(sensitive_post_parameters()(view)))


def answer(decision: Decision) -> dict[str, str]:
    """The decision as the edge's configuration reads it: every value a string."""
    if not decision.relay:
        return {
            "action": "reject",
            "status": str(decision.sip_status),
            "reason": decision.reason_code or "",
            "phrase": decision.reason_phrase,
        }
    target, binding = decision.target, decision.binding
    assert target is not None and binding is not None
    if decision.direction == "inbound":
        return {
            "action": "relay",
            "uri": target.uri,
            "agent": target.headers["X-Trunkadmin-Agent"],
            "number": target.headers["X-Trunkadmin-Number"],
            "binding": target.headers["X-Trunkadmin-Binding"],
            "workspace": target.headers["X-Trunkadmin-Workspace"],
        }
    first, *rest = target.gateways
    return {
        "action": "relay",
        "uri": first.uri,
        "next_hop": first.next_hop,
        "from_user": target.from_user,
        "from_host": first.host if ":" not in first.host else f"[{first.host}]",
        "failover_uri": rest[0].uri if rest else "",
        "failover_next_hop": rest[0].next_hop if rest else "",
        "binding": binding.binding_uuid,
        "auth": "1" if target.authenticates else "0",
    }


@edge_view
def route(request: HttpRequest) -> HttpResponse:
    """The routing decision for one new INVITE."""
    if not _authorised(request):
        return _refused()
    source = _field(request, "source")
    to_user = _hex_field(request, "to_user_hex")
    if to_user is None:
        return HttpResponse("malformed\n", status=400, content_type="text/plain")
    if _field(request, "direction") == "outbound":
        number = _hex_field(request, "number_hex")
        if number is None:
            return HttpResponse("malformed\n", status=400, content_type="text/plain")
        decision = decide_outbound(source=source, from_number=number, to=_hex_field(request, "ruri_user_hex"))
    else:
        decision = decide_inbound(source=source, ruri_user=_hex_field(request, "ruri_user_hex"), to_user=to_user)
    return JsonResponse(answer(decision))


@sensitive_variables("username", "password")
def _answer_challenge(binding: ChannelBinding, *, challenge: str, method: str, uri: str) -> str | None:
    username, password = ChannelBinding.objects.filter(pk=binding.pk).values_list("sip_username", "sip_password").get()
    if not username or not password or message.has_control_characters(username):
        return None  # a header value cannot carry a line break
    try:
        chosen = digest.choose(digest.parse_challenges([challenge]))
    except digest.UnsupportedChallenge:
        return None
    if chosen.qop_options and "auth" not in chosen.qop_options:
        return None  # auth-int covers the body, which the edge does not send here
    return digest.answer(chosen, method=method, uri=uri, username=username, password=password)


def _gateway_host(uri: str) -> str:
    """The host of a SIP URI (`sip:user@host:port;params`), lower-case, without IPv6 brackets."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    host = rest.split("@", 1)[-1].split(";", 1)[0]
    return (urlsplit(f"//{host}").hostname or "").lower()


@edge_view
def digest_answer(request: HttpRequest) -> HttpResponse:
    """The digest answer to a carrier's challenge of an outbound INVITE (text/plain: the header
    value). 404 when the trunk has no username and password, the challenge is not one we answer,
    or the URI is not at one of the trunk's gateways (the edge may only ask for its own calls)."""
    if not _authorised(request):
        return _refused()
    challenge, uri = _hex_field(request, "challenge_hex"), _hex_field(request, "uri_hex")
    method = _field(request, "method") or "INVITE"
    if not challenge or not uri or method not in ("INVITE", "ACK", "BYE", "CANCEL"):
        return HttpResponse("malformed\n", status=400, content_type="text/plain")
    binding = (
        ChannelBinding.objects.filter(
            uuid=_uuid_or_none(_field(request, "binding")), channel=Channel.CALL, is_trunk=True
        )
        .only("id", "sip_gateway", "sip_secondary_gateway")
        .first()
    )
    gateways = (
        {host.lower() for host in (binding.sip_gateway, binding.sip_secondary_gateway) if host} if binding else set()
    )
    if binding is None or _gateway_host(uri) not in gateways:
        return HttpResponse("no such trunk\n", status=404, content_type="text/plain")
    value = _answer_challenge(binding, challenge=challenge, method=method, uri=uri)
    if value is None:
        return HttpResponse("no answer\n", status=404, content_type="text/plain")
    logger.info("edge: answered a digest challenge for trunk %s", binding.uuid)
    return HttpResponse(value, content_type="text/plain; charset=utf-8")


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
