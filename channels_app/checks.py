"""System checks. `manage.py check --database default` fails loudly when the configured
FIELD_ENCRYPTION_KEY cannot decrypt stored credentials (a missing or wrong key after a deploy)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register
from django.db import DatabaseError


@register(Tags.database)
def stored_credentials_decrypt(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    from channels_app.encryption_health import check_stored_values

    try:
        report = check_stored_values(sample=5)
    except DatabaseError:
        return []  # not migrated yet: nothing stored to check
    if report.ok:
        return []
    return [
        Error(
            f"{report.failed} of {report.checked} sampled credentials cannot be decrypted with FIELD_ENCRYPTION_KEY.",
            hint="Configure the key they were written with (comma-separated, newest first), "
            "then run `manage.py rotate_field_keys`.",
            id="channels_app.E001",
        )
    ]
