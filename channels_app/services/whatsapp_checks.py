"""The WhatsApp line check: the trunk's phone number read from the Graph API with its stored
token, the result kept on the trunk like the SIP trunk check's (docs/whatsapp.md).

A function of its own beside `services.checks.trunk_check`; it shares that check's rate limit
(`services.probe_limits`: one check per trunk per SIP_CHECK_MIN_INTERVAL_SECONDS, across workers).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from channels_app import numbers
from channels_app.audit import Actor
from channels_app.errors import DomainError, ValidationFailed, trunk_not_found
from channels_app.models import SECRET_FIELDS, Channel, ChannelBinding, Workspace
from channels_app.services import probe_limits, rules
from channels_app.services.checks import trunk_check
from channels_app.whatsapp import graph

logger = logging.getLogger(__name__)


def _line_to_check(workspace: Workspace, phone_number: object) -> ChannelBinding:
    """The WhatsApp trunk to check, without its secrets (the token is read last)."""
    e164 = numbers.parse_field(phone_number, region=workspace.default_region)
    binding = (
        ChannelBinding.objects.select_related("phone_number")
        .defer(*SECRET_FIELDS)
        .filter(workspace=workspace, phone_number__number=e164, channel=Channel.WHATSAPP, is_trunk=True)
        .first()
    )
    if binding is None:
        raise trunk_not_found()
    errors: dict[str, list[str]] = {}
    if not binding.wa_phone_number_id:
        errors["whatsapp.phone_number_id"] = [_("Set the phone number id before checking this line.")]
    if not ChannelBinding.objects.filter(pk=binding.pk, wa_access_token__isnull=False).exists():
        errors["whatsapp.access_token"] = [_("Set an access token before checking this line.")]
    if errors:
        raise ValidationFailed(errors)
    return binding


@sensitive_variables("token")
def _stored_token(binding: ChannelBinding) -> str:
    return ChannelBinding.objects.filter(pk=binding.pk).values_list("wa_access_token", flat=True).get() or ""


@sensitive_variables("token")
def whatsapp_check(*, workspace: Workspace, actor: Actor, phone_number: object, channel: object = Channel.WHATSAPP):
    """Read the trunk's number from the Graph API (WHATSAPP_GRAPH_URL) with its stored token and
    keep the result on the binding: `ok`, `auth_failed`, `number_mismatch` or `unreachable`, with
    the display name, verified name and quality rating when the Graph API answers.

    Raises TRUNK_NOT_FOUND, VALIDATION_ERROR on `whatsapp.phone_number_id` / `whatsapp.access_token`
    (not set) and RATE_LIMITED. Not one transaction (the call waits on the network); a check is no
    change: no history row, `updated_at` untouched. The token is never logged nor stored elsewhere.
    """
    if rules.trunk_channel(channel) != Channel.WHATSAPP:
        raise DomainError("UNSUPPORTED_CHANNEL", _("This is the WhatsApp line check."), field="channel")
    binding = _line_to_check(workspace, phone_number)
    probe_limits.claim(
        [probe_limits.trunk_slot(workspace=workspace, number=binding.phone_number.e164, channel=binding.channel)],
        interval=settings.SIP_CHECK_MIN_INTERVAL_SECONDS,
    )
    token = _stored_token(binding)
    result = graph.check_line(
        base_url=settings.WHATSAPP_GRAPH_URL,
        phone_number_id=binding.wa_phone_number_id,
        access_token=token,
        e164=binding.phone_number.e164,
        timeout=settings.WHATSAPP_CHECK_TIMEOUT_SECONDS,
    )
    del token
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
    logger.info("whatsapp trunk %s checked by %s (%s): %s", binding.uuid, actor.label, actor.door, result.status)
    return binding


def any_trunk_check(*, workspace: Workspace, actor: Actor, phone_number: object, channel: object) -> ChannelBinding:
    """The check of the trunk's channel: SIP for call, the Graph API for WhatsApp."""
    if channel == Channel.WHATSAPP:
        return whatsapp_check(workspace=workspace, actor=actor, phone_number=phone_number)
    return trunk_check(workspace=workspace, actor=actor, phone_number=phone_number, channel=channel)
