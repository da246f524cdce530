"""Channel bindings (docs/architecture.md): (number, channel) -> agent, and on an external
number the trunk row with its SIP connection, routing fields or WhatsApp line.

Every rule the database can hold is a named constraint here; the rest is the services'.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from channels_app.audit import AuditRecord
from channels_app.fields import EncryptedCredentialField
from channels_app.routing.models import (  # noqa: F401 (TrunkAddressBlock: registers it)
    DEFAULT_NUMBER_FORMAT,
    DEFAULT_TRANSPORT,
    NumberFormat,
    Transport,
    TrunkAddressBlock,
)
from channels_app.sip.status import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

from .inventory import Agent, PhoneNumber, Workspace


class Channel(models.TextChoices):
    CALL = "call", _("Call")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


TRUNK_CHANNELS = (Channel.CALL, Channel.WHATSAPP)


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    BOTH = "both", _("Both")


SIP_FIELDS = ("sip_gateway", "sip_secondary_gateway", "sip_port", "sip_username", "sip_password")
WHATSAPP_FIELDS = ("wa_phone_number_id", "wa_business_account_id", "wa_access_token", "wa_app_secret")
WHATSAPP_SECRET_FIELDS = ("wa_access_token", "wa_app_secret")
# Write-only everywhere: never in a response, a page, history or a log.
SECRET_FIELDS = ("sip_username", "sip_password", *WHATSAPP_SECRET_FIELDS)
ENCRYPTED_FIELDS = (*SIP_FIELDS, *WHATSAPP_SECRET_FIELDS)
# A check result of either kind of trunk (docs/sip-check.md, docs/whatsapp.md).
HEALTH_CHOICES = [*HealthStatus.choices, (WhatsappHealth.NUMBER_MISMATCH.value, WhatsappHealth.NUMBER_MISMATCH.label)]
# How the edge routes a call trunk (docs/routing.md): plain, so that they can be indexed.
ROUTING_FIELDS = ("sip_inbound_addresses", "sip_transport", "sip_number_format")
# The last trunk check (docs/sip-check.md): kept out of history, a check changes nothing.
HEALTH_FIELDS = ("health_status", "health_details", "health_checked_at", "health_check_started_at")
DEFAULT_SIP_PORT = 5060


class ChannelBinding(models.Model):
    """(number, channel) -> agent. On an external number it is a trunk row with its settings.

    The SIP fields are all encrypted; username and password are write-only in every output. A
    WhatsApp trunk carries its Cloud API line (`wa_*`, the token and app secret encrypted and
    write-only) and the webhook identity the product generated for it (docs/whatsapp.md).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="bindings")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="bindings")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="bindings")
    is_trunk = models.BooleanField(default=False, editable=False)
    name = models.CharField(max_length=255, null=True, blank=True, validators=[MinLengthValidator(1)])
    direction = models.CharField(max_length=16, choices=Direction.choices, null=True, blank=True)
    sip_gateway = EncryptedCredentialField(max_length=255, null=True, blank=True)
    sip_secondary_gateway = EncryptedCredentialField(max_length=255, null=True, blank=True)
    sip_port = EncryptedCredentialField(max_length=5, null=True, blank=True)
    sip_username = EncryptedCredentialField(max_length=255, null=True, blank=True, validators=[MaxLengthValidator(255)])
    sip_password = EncryptedCredentialField(max_length=255, null=True, blank=True, validators=[MaxLengthValidator(255)])
    credentials_updated_at = models.DateTimeField(null=True, blank=True)
    # Call trunks only; the addresses are indexed block by block in TrunkAddressBlock.
    sip_inbound_addresses = models.JSONField(default=list, blank=True)
    sip_transport = models.CharField(max_length=8, choices=Transport.choices, null=True, blank=True)
    sip_number_format = models.CharField(max_length=16, choices=NumberFormat.choices, null=True, blank=True)
    # The WhatsApp Cloud API line of a WhatsApp trunk. The ids are plain (the phone number id is
    # unique across the installation); the access token and app secret are encrypted, write-only.
    wa_phone_number_id = models.CharField(max_length=32, null=True, blank=True)
    wa_business_account_id = models.CharField(max_length=32, null=True, blank=True)
    wa_access_token = EncryptedCredentialField(
        max_length=1024, null=True, blank=True, validators=[MaxLengthValidator(1024)]
    )
    wa_app_secret = EncryptedCredentialField(
        max_length=255, null=True, blank=True, validators=[MaxLengthValidator(255)]
    )
    # Generated with the WhatsApp trunk: its webhook address (/webhooks/whatsapp/<webhook_id>) and
    # the token Meta's verification handshake must echo.
    webhook_id = models.CharField(max_length=64, null=True, blank=True, editable=False)
    verify_token = models.CharField(max_length=64, null=True, blank=True, editable=False)
    additional_settings = models.JSONField(default=dict, blank=True)
    # Last trunk check of a call trunk (services.trunk_check); NULL status = never checked.
    health_status = models.CharField(max_length=16, choices=HEALTH_CHOICES, null=True, blank=True, editable=False)
    health_details = models.JSONField(default=dict, blank=True, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # No longer read nor written: the trunk check's rate limit moved to ProbeSlot. Kept for one
    # release, while servers running the previous code may still use it; then dropped
    # (docs/deployment.md, "Migrations without downtime").
    health_check_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        bases=[AuditRecord],
        excluded_fields=[*SECRET_FIELDS, *HEALTH_FIELDS, "webhook_id", "verify_token", "updated_at"],
    )

    class Meta:
        ordering = ["phone_number_id", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_number", "channel"],
                name="uniq_binding_number_channel",
                violation_error_code="NUMBER_ALREADY_BOUND",
                violation_error_message=_("This number is already bound on this channel."),
            ),
            models.UniqueConstraint(
                fields=["agent", "channel"],
                name="uniq_binding_agent_channel",
                violation_error_code="AGENT_CHANNEL_IN_USE",
                violation_error_message=_("This agent already serves a number on this channel."),
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="binding_channel_valid"),
            models.CheckConstraint(
                condition=Q(direction__isnull=True) | Q(direction__in=Direction.values),
                name="binding_direction_valid",
            ),
            # Direction and SIP exist on call trunks only.
            models.CheckConstraint(
                condition=(Q(channel=Channel.CALL, is_trunk=True) & Q(direction__isnull=False))
                | (
                    ~Q(channel=Channel.CALL, is_trunk=True)
                    & Q(direction__isnull=True)
                    & Q(sip_gateway__isnull=True)
                    & Q(sip_secondary_gateway__isnull=True)
                    & Q(sip_port__isnull=True)
                    & Q(sip_username__isnull=True)
                    & Q(sip_password__isnull=True)
                ),
                name="binding_sip_on_call_trunk_only",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("Direction and SIP settings apply to call trunks only."),
            ),
            # Transport and number format belong to call trunks; NULL reads as udp, e164.
            models.CheckConstraint(
                condition=(
                    Q(channel=Channel.CALL, is_trunk=True)
                    & (Q(sip_transport__isnull=True) | Q(sip_transport__in=Transport.values))
                    & (Q(sip_number_format__isnull=True) | Q(sip_number_format__in=NumberFormat.values))
                )
                | Q(sip_transport__isnull=True, sip_number_format__isnull=True),
                name="binding_routing_on_call_trunk_only",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("Transport and number format apply to call trunks only."),
            ),
            # A trunk row has a name; SMS is never a trunk.
            models.CheckConstraint(
                condition=(Q(is_trunk=True) & Q(name__isnull=False) & ~Q(name="") & ~Q(channel=Channel.SMS))
                | (Q(is_trunk=False) & Q(name__isnull=True)),
                name="binding_trunk_shape",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("A trunk has a name and is a call or WhatsApp binding."),
            ),
            # A call trunk's SIP check or a WhatsApp trunk's Graph check.
            models.CheckConstraint(
                condition=Q(health_status__isnull=True)
                | Q(channel=Channel.CALL, is_trunk=True, health_status__in=HealthStatus.values)
                | Q(channel=Channel.WHATSAPP, is_trunk=True, health_status__in=WhatsappHealth.values),
                name="binding_health_on_trunks_only",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("Only trunks carry a check result of their channel."),
            ),
            # `whatsapp-on-whatsapp`: the Cloud API line and the webhook identity belong to WhatsApp
            # trunks, and every WhatsApp trunk has its webhook identity.
            models.CheckConstraint(
                condition=(
                    Q(channel=Channel.WHATSAPP, is_trunk=True)
                    & Q(webhook_id__isnull=False)
                    & Q(verify_token__isnull=False)
                )
                | (
                    ~Q(channel=Channel.WHATSAPP, is_trunk=True)
                    & Q(webhook_id__isnull=True)
                    & Q(verify_token__isnull=True)
                    & Q(wa_phone_number_id__isnull=True)
                    & Q(wa_business_account_id__isnull=True)
                    & Q(wa_access_token__isnull=True)
                    & Q(wa_app_secret__isnull=True)
                ),
                name="binding_whatsapp_on_whatsapp_trunk_only",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("WhatsApp settings apply to WhatsApp trunks only."),
            ),
            # `whatsapp-id-once`: a WhatsApp Business number is connected to one trunk.
            models.UniqueConstraint(
                fields=["wa_phone_number_id"],
                name="uniq_binding_wa_phone_number_id",
                violation_error_code="WHATSAPP_ID_IN_USE",
                violation_error_message=_("This WhatsApp phone number id is already connected."),
            ),
            models.UniqueConstraint(fields=["webhook_id"], name="uniq_binding_webhook_id"),
            # `default-trunk-name`: 1-255 characters. PostgreSQL's varchar holds it too; SQLite needs the check.
            models.CheckConstraint(
                condition=Q(name__isnull=True) | LessThanOrEqual(Length("name"), 255),
                name="binding_name_length",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("A trunk name has at most 255 characters."),
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "channel"], name="binding_ws_channel_idx"),
        ]

    def __str__(self) -> str:
        """How people name a binding: its number as written internationally and its channel
        ("+1 202-555-0199 · Call"), in admin titles, breadcrumbs and confirmations."""
        return f"{self.phone_number.number.as_international} · {self.get_channel_display()}"

    @property
    def effective_port(self) -> int:
        return int(self.sip_port) if self.sip_port else DEFAULT_SIP_PORT

    @property
    def effective_transport(self) -> str | None:
        """A call trunk's transport (NULL reads as udp); None off call trunks."""
        return (self.sip_transport or DEFAULT_TRANSPORT) if self.is_call_trunk else None

    @property
    def effective_number_format(self) -> str | None:
        """A call trunk's number format (NULL reads as e164); None off call trunks."""
        return (self.sip_number_format or DEFAULT_NUMBER_FORMAT) if self.is_call_trunk else None

    @property
    def is_call_trunk(self) -> bool:
        return self.is_trunk and self.channel == Channel.CALL

    @property
    def webhook_url(self) -> str | None:
        """A WhatsApp trunk's webhook, absolute (PUBLIC_BASE_URL): what Meta's dashboard calls."""
        if not self.webhook_id:
            return None
        return settings.PUBLIC_BASE_URL + reverse("whatsapp-webhook", args=[self.webhook_id])
