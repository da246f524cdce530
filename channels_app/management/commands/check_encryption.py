"""Decrypt every stored credential (main and history tables) with the configured keys."""

from django.core.management.base import BaseCommand, CommandError

from channels_app.encryption_health import check_stored_values


class Command(BaseCommand):
    help = "Check that every encrypted value decrypts under FIELD_ENCRYPTION_KEY; exit 1 if not."

    def handle(self, *args, **options):
        report = check_stored_values(sample=None)
        if not report.ok:
            raise CommandError(
                f"{report.failed} of {report.checked} encrypted values cannot be decrypted with the configured "
                "keys. Add the key they were written with to FIELD_ENCRYPTION_KEY (newest first)."
            )
        self.stdout.write(self.style.SUCCESS(f"All {report.checked} encrypted values decrypt."))
