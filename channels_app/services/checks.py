"""The trunk check: a call trunk's gateways asked over SIP, the result kept on the trunk
(docs/sip-check.md)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from channels_app import numbers, sip
from channels_app.audit import Actor
from channels_app.errors import DomainError, ValidationFailed, trunk_not_found
from channels_app.models import SECRET_FIELDS, Channel, ChannelBinding, Workspace
from channels_app.services import probe_limits, rules

logger = logging.getLogger(__name__)


def _trunk_to_check(workspace: Workspace, phone_number: object, channel: object) -> ChannelBinding:
    """The call trunk to check, without its username and password (those are read last)."""
    channel = rules.trunk_channel(channel)
    if channel != Channel.CALL:
        raise DomainError(
            "UNSUPPORTED_CHANNEL",
            _("Only call trunks can be checked."),
            field="channel",
            details=_("A WhatsApp trunk has no SIP gateway to check."),
        )
    e164 = numbers.parse_field(phone_number, region=workspace.default_region)
    binding = (
        ChannelBinding.objects.select_related("phone_number")
        .defer(*SECRET_FIELDS)
        .filter(workspace=workspace, phone_number__number=e164, channel=channel, is_trunk=True)
        .first()
    )
    if binding is None:
        raise trunk_not_found()
    if not binding.sip_gateway:
        raise ValidationFailed.single("sip.gateway", _("Set a gateway before checking this trunk."))
    return binding


@sensitive_variables("username", "password")
def _stored_credentials(binding: ChannelBinding) -> sip.Credentials | None:
    """Decrypt the username and password, for the check only (None unless both are set)."""
    username, password = ChannelBinding.objects.filter(pk=binding.pk).values_list("sip_username", "sip_password").get()
    if not username or not password:
        return None
    return sip.Credentials(username, password)


@sensitive_variables("credentials")
def trunk_check(*, workspace: Workspace, actor: Actor, phone_number: object, channel: object) -> ChannelBinding:
    """Check a call trunk's gateways now and keep the result on the binding (docs/sip-check.md).

    OPTIONS to each gateway, then a digest-answered REGISTER when a username and password are
    stored. Returns the binding with `health_status`, `health_details` and `health_checked_at` set.
    Raises UNSUPPORTED_CHANNEL (sms, whatsapp), TRUNK_NOT_FOUND, VALIDATION_ERROR on `sip.gateway`
    (none set) and RATE_LIMITED (`retry_after`) within SIP_CHECK_MIN_INTERVAL_SECONDS of the last
    check of this trunk or of one of its gateway addresses (services.probe_limits).

    Deliberately not one transaction: the network part lasts up to SIP_CHECK_TIMEOUT_SECONDS and
    must hold no lock; call it outside `transaction.atomic()`. A check is not a change, so it
    writes no history row and leaves `updated_at` alone.
    """
    binding = _trunk_to_check(workspace, phone_number, channel)
    probe_limits.claim(
        probe_limits.trunk_probe_slots(workspace=workspace, binding=binding, actor=actor),
        interval=settings.SIP_CHECK_MIN_INTERVAL_SECONDS,
    )
    gateways = [sip.Gateway("gateway", binding.sip_gateway, binding.effective_port)]
    if binding.sip_secondary_gateway:
        gateways.append(sip.Gateway("secondary_gateway", binding.sip_secondary_gateway, binding.effective_port))
    credentials = _stored_credentials(binding)
    result = sip.check_trunk(
        gateways,
        credentials,
        timeout=settings.SIP_CHECK_TIMEOUT_SECONDS,
        allow_private=settings.SIP_CHECK_ALLOW_PRIVATE,
    )
    del credentials
    binding.health_status = result.status
    binding.health_details = result.as_json()
    binding.health_checked_at = timezone.now()
    stored = ChannelBinding.objects.filter(pk=binding.pk).update(
        health_status=binding.health_status,
        health_details=binding.health_details,
        health_checked_at=binding.health_checked_at,
    )
    if not stored:  # deleted while the check ran
        raise trunk_not_found()
    logger.info("trunk %s checked by %s (%s): %s", binding.uuid, actor.label, actor.door, result.status)
    return binding
