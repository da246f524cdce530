"""The inventory (docs/architecture.md): workspaces, members, agents and numbers.

Every rule the database can hold is a named constraint here. Rules that span rows of several
tables (an SMS binding needs a purchased SMS-capable number, a trunk row needs an external number)
are enforced in the services inside one transaction.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from channels_app import channel_settings
from channels_app.audit import AuditRecord
from channels_app.fields import NationalNumberField
from channels_app.numbers import E164_PATTERN, validate_region

if TYPE_CHECKING:
    from channels_app.models.bindings import ChannelBinding


class Workspace(models.Model):
    """A tenant. Everything else belongs to exactly one workspace."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    # `default-region`: how a number typed without "+" is read in this workspace ("" = none).
    default_region = models.CharField(
        _("default country"),
        max_length=2,
        blank=True,
        default="",
        validators=[validate_region],
        help_text=_("Numbers typed without + and a country code are read as numbers of this country."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_region="") | Q(default_region__regex=r"^[A-Z]{2}$"),
                name="workspace_default_region_code",
                violation_error_message=_("A default country is a two-letter ISO 3166 code, e.g. US."),
            ),
        ]

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
        (`channel_bindings`, set by channels_app.selectors)."""
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
