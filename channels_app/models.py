"""The domain (docs/architecture.md). Every rule the database can hold is a named constraint here.

Rules that span rows of several tables (an SMS binding needs a purchased SMS-capable number,
a trunk row needs an external number) are enforced in services.py inside one transaction.
"""

from __future__ import annotations

import uuid
from functools import cached_property

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from channels_app import channel_settings
from channels_app.audit import AuditRecord
from channels_app.fields import EncryptedCredentialField, NationalNumberField
from channels_app.numbers import E164_PATTERN
from channels_app.routing.models import (  # noqa: F401 (TrunkAddressBlock: registers it)
    DEFAULT_NUMBER_FORMAT,
    DEFAULT_TRANSPORT,
    NumberFormat,
    Transport,
    TrunkAddressBlock,
)
from channels_app.sip.status import HealthStatus


class Workspace(models.Model):
    """A tenant. Everything else belongs to exactly one workspace."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    DEVELOPER = "developer", _("Developer")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    """A user's place in a workspace. `admin` and `developer` write; `viewer` only reads."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="uniq_membership_user_workspace"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.DEVELOPER)


class AgentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class Agent(models.Model):
    """A voice/text AI agent of a workspace. Managed by staff."""

    agent_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "name"], name="agent_workspace_name_idx")]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    PURCHASED = "purchased", _("Purchased")
    EXTERNAL = "external", _("External")


class NumberType(models.TextChoices):
    LOCAL = "local", _("Local")
    TOLL_FREE = "toll_free", _("Toll free")
    MOBILE = "mobile", _("Mobile")
    NATIONAL = "national", _("National")


class NumberStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class ComplianceStatus(models.TextChoices):
    APPROVED = "approved", _("Approved")
    PENDING = "pending", _("Pending")
    NOT_REQUIRED = "not_required", _("Not required")


def default_channel_settings() -> dict:
    """The full channel_settings shape with its defaults (see channels_app.channel_settings)."""
    return channel_settings.defaults()


class PhoneNumber(models.Model):
    """An inventory row: a purchased number, or an external one brought by the customer.

    `number` is unique across the installation: a number belongs to one workspace at a time.
    External numbers exist exactly as long as they have at least one binding.
    """

    phone_number_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="phone_numbers")
    number = PhoneNumberField(max_length=16)
    # Derived from `number` on every save: how a carrier may spell it nationally (docs/routing.md).
    national_number = NationalNumberField(db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    country_code = models.CharField(max_length=2, blank=True)
    type = models.CharField(max_length=16, choices=NumberType.choices, default=NumberType.LOCAL)
    location = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=NumberStatus.choices, default=NumberStatus.ACTIVE)
    compliance_status = models.CharField(
        max_length=16, choices=ComplianceStatus.choices, default=ComplianceStatus.APPROVED
    )
    compliance_requirements = models.JSONField(default=list, blank=True)
    voice_capable = models.BooleanField(default=True)
    sms_capable = models.BooleanField(default=False)
    mms_capable = models.BooleanField(default=False)
    fax_capable = models.BooleanField(default=False)
    emergency_capable = models.BooleanField(default=False)
    local_calling_capable = models.BooleanField(default=True)
    channel_settings = models.JSONField(default=default_channel_settings)
    monthly_fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    purchased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[AuditRecord], excluded_fields=["updated_at", "national_number"])

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                name="uniq_phone_number_number",
                violation_error_code="NUMBER_UNAVAILABLE",
                violation_error_message=_("This number is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(number__regex=E164_PATTERN),
                name="phone_number_e164",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("The number must be in E.164 format, e.g. +12025550123."),
            ),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="phone_number_source_valid"),
            models.CheckConstraint(condition=Q(type__in=NumberType.values), name="phone_number_type_valid"),
            models.CheckConstraint(
                condition=~Q(source=Source.EXTERNAL) | Q(monthly_fee=0),
                name="phone_number_external_not_billed",
                violation_error_message=_("External numbers are never billed."),
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="phone_number_fee_not_negative"),
        ]
        indexes = [
            models.Index(fields=["workspace", "source", "number"], name="number_ws_source_idx"),
            # A workspace's page of numbers in number order, without sorting the workspace.
            models.Index(fields=["workspace", "number"], name="number_ws_number_idx"),
        ]

    def __str__(self) -> str:
        return str(self.number)

    @property
    def e164(self) -> str:
        # as_e164 formats without asking phonenumbers whether the number is valid (str() does,
        # which for a +1 number tries every region sharing the code); stored numbers are valid.
        return self.number.as_e164

    @property
    def is_external(self) -> bool:
        return self.source == Source.EXTERNAL

    @property
    def digits(self) -> str:
        return self.e164.lstrip("+")

    @cached_property
    def effective_settings(self) -> dict:
        """`channel_settings` with every section and key present (defaults filled in)."""
        return channel_settings.normalised(self.channel_settings)

    def binding(self, channel: str) -> ChannelBinding | None:
        """The binding on `channel`, among the bindings a selector loaded with this number
        (`Prefetch("bindings", to_attr="channel_bindings")`, see channels_app.selectors)."""
        return next((binding for binding in self.channel_bindings if binding.channel == channel), None)


class InventoryCount(models.Model):
    """How many numbers a workspace holds per source, kept by database triggers.

    Lists answer their total from here instead of counting the workspace's rows, so a page costs
    the same at 1,000 or 1,000,000 numbers (docs/performance.md). Triggers on the phone number
    table (migration 0004) add and subtract on every insert, delete and change of workspace or
    source, whatever wrote the row (services, bulk inserts, the shell). On PostgreSQL each
    connection writes its own stripe (`slot`, from the backend pid) so concurrent transactions
    never wait on one counter row; the total is the sum of a workspace's stripes.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    slot = models.SmallIntegerField(default=0)
    numbers = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source", "slot"], name="uniq_inventory_count_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.source}/{self.slot}: {self.numbers}"


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
SECRET_FIELDS = ("sip_username", "sip_password")
# How the edge routes a call trunk (docs/routing.md): plain, so that they can be indexed.
ROUTING_FIELDS = ("sip_inbound_addresses", "sip_transport", "sip_number_format")
# The last trunk check (docs/sip-check.md): kept out of history, a check changes nothing.
HEALTH_FIELDS = ("health_status", "health_details", "health_checked_at", "health_check_started_at")
DEFAULT_SIP_PORT = 5060


class ChannelBinding(models.Model):
    """(number, channel) -> agent. On an external number it is a trunk row with its settings.

    The SIP fields are all encrypted; username and password are write-only in every output.
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
    additional_settings = models.JSONField(default=dict, blank=True)
    # Last trunk check of a call trunk (services.trunk_check); NULL status = never checked.
    health_status = models.CharField(max_length=16, choices=HealthStatus.choices, null=True, blank=True, editable=False)
    health_details = models.JSONField(default=dict, blank=True, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the last check started: the per-trunk rate limit is settled on this column.
    health_check_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        bases=[AuditRecord],
        excluded_fields=[*SECRET_FIELDS, *HEALTH_FIELDS, "updated_at"],
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
            # Only call trunks have a SIP gateway to check.
            models.CheckConstraint(
                condition=Q(health_status__isnull=True)
                | Q(channel=Channel.CALL, is_trunk=True, health_status__in=HealthStatus.values),
                name="binding_health_on_call_trunk_only",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("Only call trunks carry a trunk check result."),
            ),
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
        return f"{self.phone_number_id}/{self.channel} -> {self.agent_id}"

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


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    READ_WRITE = "read_write", _("Read and write")


class ApiToken(models.Model):
    """A workspace's API token. Only a SHA-256 hash of the secret is stored.

    The plaintext is shown once at creation (see channels_app.tokens for its format).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.READ_WRITE)
    prefix = models.CharField(max_length=16, help_text=_("First characters of the token, to recognise it."))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(bases=[AuditRecord], excluded_fields=["token_hash", "last_used_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=TokenScope.values), name="api_token_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE
