"""The test call: a real call through a trunk's gateways, ended at once (docs/routing.md).

Rules: `destination-allowed` and `direction-enforced` (docs/rules.md) as on the edge, the trunk
check's address policy, and its rate limit (one check or test call per trunk per interval).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from channels_app import sip
from channels_app.audit import Actor
from channels_app.errors import DomainError, ValidationFailed
from channels_app.models import ChannelBinding, Direction, Workspace
from channels_app.routing import spelling
from channels_app.routing.outbound import destination_refusal
from channels_app.services import probe_limits
from channels_app.services.checks import _stored_credentials, _trunk_to_check

logger = logging.getLogger(__name__)


@dataclass
class TrunkTestCall:
    """What `trunk_test_call` did: the trunk, the destination called, and the exchange."""

    binding: ChannelBinding
    to: str  # E.164
    result: sip.CallResult


def _destination(binding: ChannelBinding, to: object) -> str:
    if not isinstance(to, str) or not to.strip():
        raise ValidationFailed.single("to", _("This field is required."))
    e164 = binding.phone_number.e164
    destination = spelling.destination(to.strip()[:64], home=e164)
    allowed = binding.phone_number.effective_settings["voice"]["whitelisted_destinations"]
    refusal = destination_refusal(destination, allowed)
    if refusal is not None:
        raise DomainError(
            "DESTINATION_NOT_ALLOWED", _("This destination cannot be called."), field="to", details=refusal
        )
    return destination.e164


@sensitive_variables("credentials")
def trunk_test_call(
    *, workspace: Workspace, actor: Actor, phone_number: object, channel: object, to: object
) -> TrunkTestCall:
    """Call `to` through the call trunk of `phone_number` and end the call at once.

    Raises UNSUPPORTED_CHANNEL, TRUNK_NOT_FOUND, VALIDATION_ERROR (`sip.gateway`: none set;
    `sip.transport`: the test call speaks UDP; `to`), DIRECTION_NOT_ALLOWED (an inbound-only trunk),
    DESTINATION_NOT_ALLOWED (`to`) and RATE_LIMITED. Not a transaction: it waits on the network for
    up to SIP_TEST_CALL_TIMEOUT_MS and holds no lock. Writes nothing but the rate limit's claim.
    """
    binding = _trunk_to_check(workspace, phone_number, channel)
    if binding.direction == Direction.INBOUND:
        raise DomainError(
            "DIRECTION_NOT_ALLOWED",
            _("This trunk places no outbound call."),
            field="phone_number",
            details=_("Its direction is inbound; a test call is an outbound call."),
        )
    if binding.effective_transport != "udp":
        raise ValidationFailed.single(
            "sip.transport",
            _("Test calls are sent over UDP; this trunk uses %(transport)s.")
            % {"transport": binding.effective_transport.upper()},
        )
    destination = _destination(binding, to)
    probe_limits.claim(
        probe_limits.trunk_probe_slots(workspace=workspace, binding=binding, actor=actor),
        interval=settings.SIP_CHECK_MIN_INTERVAL_SECONDS,
    )
    e164 = binding.phone_number.e164
    number_format = binding.effective_number_format
    gateways = [sip.Gateway("gateway", binding.sip_gateway, binding.effective_port)]
    if binding.sip_secondary_gateway:
        gateways.append(sip.Gateway("secondary_gateway", binding.sip_secondary_gateway, binding.effective_port))
    credentials = _stored_credentials(binding)
    result = sip.place_test_call(
        gateways,
        credentials,
        from_user=spelling.spelled(e164, number_format, home=e164),
        to_user=spelling.spelled(destination, number_format, home=e164),
        timeout=settings.SIP_TEST_CALL_TIMEOUT_SECONDS,
        first_answer_timeout=settings.SIP_EDGE_GATEWAY_TIMEOUT_MS / 1000,
        allow_private=settings.SIP_CHECK_ALLOW_PRIVATE,
    )
    del credentials
    logger.info("test call on trunk %s by %s (%s): %s", binding.uuid, actor.label, actor.door, result.outcome)
    return TrunkTestCall(binding=binding, to=destination, result=result)
