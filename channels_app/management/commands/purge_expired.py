"""Delete the short-lived rows that have expired (docs/deployment.md, "Housekeeping")."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from channels_app.models import IdempotencyRecord, ProbeSlot


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records past their 24 h and SIP probe rate-limit slots that have "
        "elapsed. Neither is used once expired (an expired record met by a request is deleted on the "
        "way); this removes the rest. Safe to run at any time, e.g. daily."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        records, _ = IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
        slots, _ = ProbeSlot.objects.filter(until__lte=now).delete()
        self.stdout.write(f"Deleted {records} expired idempotency record(s) and {slots} elapsed probe slot(s).")
