"""WhatsApp messages received on a trunk's webhook and their delivery to the agent (docs/whatsapp.md).

The transactional outbox: a `MessageDelivery` row is written in the same transaction as its
`WhatsappMessage` and is the source of truth of the delivery (attempts, next attempt, lease,
delivered, dead). `manage.py run_worker` claims due rows, posts them to the agent and records the
outcome (channels_app.services.delivery).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from channels_app.whatsapp.status import DeliveryStatus


class WhatsappMessage(models.Model):
    """One inbound message, stored once per trunk by Meta's message id (`wamid...`), so Meta's
    retries of a webhook are absorbed. `body` (the message and the sender's contact as Meta sent
    them) is deleted once the message is delivered, and 7 days after its delivery died."""

    binding = models.ForeignKey("channels_app.ChannelBinding", on_delete=models.CASCADE, related_name="messages")
    workspace = models.ForeignKey("channels_app.Workspace", on_delete=models.CASCADE, related_name="+")
    wa_message_id = models.CharField(max_length=255)
    # The agent bound when the message arrived: it is delivered there even after a reassignment.
    agent_uuid = models.UUIDField()
    sender = models.CharField(max_length=32)
    message_type = models.CharField(max_length=32)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    body = models.JSONField(null=True, blank=True)
    body_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["binding", "wa_message_id"],
                name="uniq_whatsapp_message_per_trunk",
                violation_error_code="VALIDATION_ERROR",
                violation_error_message=_("This message was received already."),
            ),
        ]

    def __str__(self) -> str:
        return self.wa_message_id


class MessageDelivery(models.Model):
    """The delivery of one message to its agent: pending until delivered, or dead after the last
    attempt. A worker holds a row while it posts it (`lease_until`); a lease that expires (the
    worker died) makes the row due again."""

    message = models.OneToOneField(WhatsappMessage, on_delete=models.CASCADE, related_name="delivery")
    binding = models.ForeignKey("channels_app.ChannelBinding", on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True, default="")
    # The last failed attempt, in plain words (kept after a later success, for the number page).
    last_error = models.CharField(max_length=255, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("message deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
            # A pending delivery has a time to be tried; a finished one has none.
            models.CheckConstraint(
                condition=(Q(status=DeliveryStatus.PENDING) & Q(next_attempt_at__isnull=False))
                | (~Q(status=DeliveryStatus.PENDING) & Q(next_attempt_at__isnull=True)),
                name="delivery_due_when_pending",
            ),
        ]
        indexes = [
            # What a worker claims: pending rows by due time.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["binding", "status"], name="delivery_binding_status_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"
