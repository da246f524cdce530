"""What a WhatsApp line check reports (docs/whatsapp.md), shared by the Graph client, the model
field and the doors."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WhatsappHealth(models.TextChoices):
    """Outcome of reading the line's phone number from the Graph API with the stored token."""

    OK = "ok", _("Connected, number verified")
    AUTH_FAILED = "auth_failed", _("Access token refused")
    NUMBER_MISMATCH = "number_mismatch", _("Another number")
    UNREACHABLE = "unreachable", _("Graph API did not answer")


class DeliveryStatus(models.TextChoices):
    """Where a received message is on its way to the agent."""

    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead")
