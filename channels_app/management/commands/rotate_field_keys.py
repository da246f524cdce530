"""Re-encrypt every stored credential under the newest FIELD_ENCRYPTION_KEY (docs/operations.md).

Reads and writes ciphertext with raw SQL, table by table (main and history tables), in batches of
primary keys, each batch in its own transaction. A value that already decrypts under the newest key
is left alone, so the command is idempotent and a second run changes nothing. A row holding a value
that no configured key can read is left untouched and reported as failed (exit status 1).

Each row is updated only if its ciphertext is still what was read (compare-and-set): a row written
meanwhile by the application, which always encrypts under the newest key, is not overwritten with
an older state. Rotation changes no content, so it writes no audit record and keeps `updated_at`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from channels_app.encryption_health import encrypted_columns
from channels_app.fields import CredentialDecryptionError, configured_keys, reencrypt_if_stale


@dataclass
class TableReport:
    table: str
    rotated: int = 0  # rows re-encrypted
    values: int = 0  # values re-encrypted
    current: int = 0  # rows already under the newest key
    failed: int = 0  # rows with a value no configured key can read
    raced: int = 0  # rows rewritten by the application while we worked (already current)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (main and history tables) under the newest key of "
        "FIELD_ENCRYPTION_KEY. Idempotent; reports rows re-encrypted, already current and failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")

    def handle(self, *args, batch_size: int, dry_run: bool, verbosity: int = 1, **options):
        self.verbosity = verbosity
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        keys = configured_keys()
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        existing = set(connection.introspection.table_names())
        reports = []
        for model, names in encrypted_columns():
            if model._meta.db_table not in existing:
                continue
            report = self._rotate_table(model, names, batch_size=batch_size, dry_run=dry_run)
            reports.append(report)
            self.stdout.write(
                f"{report.table}: {verb} {report.rotated} rows ({report.values} values), "
                f"{report.current} already current, {report.failed} failed"
                + (f", {report.raced} rewritten meanwhile" if report.raced else "")
            )
        rotated = sum(r.rotated for r in reports)
        failed = sum(r.failed for r in reports)
        summary = (
            f"{'Dry run' if dry_run else 'Done'}: {verb} {rotated} rows "
            f"({sum(r.values for r in reports)} values) in {len(reports)} tables under the newest of "
            f"{len(keys)} configured keys; {sum(r.current for r in reports)} already current; {failed} failed."
        )
        if failed:
            raise CommandError(
                f"{summary} The failed rows were left unchanged: add the key they were written with to "
                "FIELD_ENCRYPTION_KEY (after the newest) and run rotate_field_keys again."
            )
        self.stdout.write(self.style.SUCCESS(summary))

    def _rotate_table(self, model, names: list[str], *, batch_size: int, dry_run: bool) -> TableReport:
        quote = connection.ops.quote_name
        table = model._meta.db_table
        pk = quote(model._meta.pk.column)
        columns = [model._meta.get_field(name).column for name in names]
        select = (
            f"SELECT {pk}, {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608 - names from _meta
            f"WHERE {pk} > %s AND ({' OR '.join(f'{quote(c)} IS NOT NULL' for c in columns)}) "
            f"ORDER BY {pk} LIMIT %s"
        )
        report = TableReport(table)
        last = None
        while True:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # The first batch starts below every key: ids are positive integers.
                    cursor.execute(select, [last if last is not None else -1, batch_size])
                    rows = cursor.fetchall()
                for row in rows:
                    self._rotate_row(table=table, pk=pk, columns=columns, row=row, report=report, dry_run=dry_run)
            if len(rows) < batch_size:
                return report
            last = rows[-1][0]
            if self.verbosity >= 2:
                self.stdout.write(f"  {table}: up to id {last}")

    def _rotate_row(self, *, table, pk, columns, row, report: TableReport, dry_run: bool) -> None:
        quote = connection.ops.quote_name
        key, values = row[0], row[1:]
        changes: dict[str, tuple[str, str]] = {}
        try:
            for column, value in zip(columns, values, strict=True):
                if value is None:
                    continue
                fresh = reencrypt_if_stale(value)
                if fresh is not None:
                    changes[column] = (value, fresh)
        except CredentialDecryptionError:
            report.failed += 1
            return
        if not changes:
            report.current += 1
            return
        if not dry_run:
            assignments = ", ".join(f"{quote(c)} = %s" for c in changes)
            guards = " AND ".join(f"{quote(c)} = %s" for c in changes)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {quote(table)} SET {assignments} WHERE {pk} = %s AND {guards}",  # noqa: S608
                    [*(new for _, new in changes.values()), key, *(old for old, _ in changes.values())],
                )
                if cursor.rowcount == 0:
                    report.raced += 1
                    return
        report.rotated += 1
        report.values += len(changes)
