"""Can the configured keys read what is stored? Used by the health probe, a system check and
`check_encryption`.

The probe reads a bounded sample (the oldest and newest encrypted rows, where a key mismatch shows
first); the command reads everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from channels_app.fields import CredentialDecryptionError, EncryptedCredentialField, decrypt


@dataclass
class EncryptionReport:
    checked: int = 0
    failed: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0


def encrypted_columns() -> Iterator[tuple[type, list[str]]]:
    """(model, encrypted field names) for every model, historical tables included."""
    from django.apps import apps

    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedCredentialField)]
        if names:
            yield model, names


def check_stored_values(*, sample: int | None = 5) -> EncryptionReport:
    report = EncryptionReport()
    from django.db import connection

    for model, names in encrypted_columns():
        if model._meta.db_table not in connection.introspection.table_names():
            continue
        fields = [model._meta.get_field(name) for name in names]
        for row in _raw_rows_ciphertext(model, fields, sample=sample):
            for value in row[1:]:
                if value is None:
                    continue
                report.checked += 1
                try:
                    decrypt(value)
                except CredentialDecryptionError:
                    report.failed += 1
    return report


def _raw_rows_ciphertext(model, fields, *, sample):
    """values_list() would decrypt through from_db_value; read the columns with raw SQL instead."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    where = " OR ".join(f"{connection.ops.quote_name(f.column)} IS NOT NULL" for f in fields)
    with connection.cursor() as cursor:
        if sample is None:
            cursor.execute(f"SELECT {pk}, {cols} FROM {table} WHERE {where} ORDER BY {pk}")  # noqa: S608
            while batch := cursor.fetchmany(2000):
                yield from batch
            return
        for order in ("ASC", "DESC"):
            cursor.execute(f"SELECT {pk}, {cols} FROM {table} WHERE {where} ORDER BY {pk} {order} LIMIT %s", [sample])  # noqa: S608
            yield from cursor.fetchall()


class KeysCannotDecrypt(RuntimeError):
    """Raised at start-up when the configured keys cannot read the stored credentials."""


def refuse_to_serve_if_keys_cannot_decrypt() -> None:
    """Called when a server process starts (trunkadmin/wsgi.py).

    Serving with the wrong key would answer every credential read with an error, and any code that
    re-saved a value could not recover the secret: better not to start. A database that is not
    reachable yet, or not migrated, is not this check's business (health answers 503 meanwhile).
    """
    from django.db import DatabaseError, connection

    try:
        report = check_stored_values(sample=5)
    except DatabaseError:
        return
    finally:
        connection.close()
    if not report.ok:
        raise KeysCannotDecrypt(
            f"Refusing to serve: {report.failed} of {report.checked} sampled credentials cannot be decrypted with "
            "FIELD_ENCRYPTION_KEY. Configure the key they were written with (comma-separated, newest first)."
        )
