"""Register trunks in bulk from a CSV file (README, "Bulk registration from CSV"), with progress and a per-row report.

    manage.py import_trunks WORKSPACE_SLUG FILE.csv [--dry-run]

The same engine as the admin's bulk registration (channels_app.imports): every row goes through
services.trunk_register; valid rows are written together in one transaction, refused rows are
reported and not written. `--dry-run` checks every row and writes nothing. The file is checked
whole first, then read and registered row by row, so memory stays flat for files of any length.

Output: the per-row report on stdout, progress on stderr. Exit status 0 when every row was
registered (or, with --dry-run, would be); 1 when the workspace or file is unusable or any row
was refused (the valid rows are still written unless --dry-run).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from channels_app import imports
from channels_app.audit import Actor
from channels_app.models import Workspace


class Command(BaseCommand):
    help = "Register trunks from a CSV file for WORKSPACE_SLUG (same rules as the API); --dry-run writes nothing."
    # The framework's system checks (admin, templates, URLs) say nothing about a CSV import and
    # took half a second of every run; `manage.py check --deploy` is the deploy's own step.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("workspace_slug")
        parser.add_argument("csv_file", help="UTF-8 CSV with the columns listed in the README.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row; write nothing.")

    def handle(self, *args, workspace_slug: str, csv_file: str, dry_run: bool, **options):
        workspace = Workspace.objects.filter(slug=workspace_slug).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {workspace_slug!r}.")
        # The file is checked whole, then read row by row as the rows are registered, and each
        # row's line is written as soon as it is known: memory does not grow with the file.
        try:
            with imports.file_rows(Path(csv_file)) as (total, rows):
                mode = "checking (dry run)" if dry_run else "importing"
                self.stderr.write(f"{mode} {total} rows of {csv_file} into workspace {workspace.slug}")
                report = imports.register_rows(
                    workspace=workspace,
                    actor=Actor.command("import_trunks"),
                    rows=rows,
                    total=total,
                    dry_run=dry_run,
                    progress=self._progress,
                    on_row=lambda row: self.stdout.write(row.report_line(dry_run=dry_run)),
                    keep_rows=False,
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {csv_file}: {exc.strerror or exc}.") from exc
        except imports.CsvFormatError as exc:
            raise CommandError(f"{csv_file}: {exc}") from exc

        valid, refused = report.valid_count, report.refused_count
        if dry_run:
            summary = f"Dry run: {valid} of {total} rows would be registered, {refused} refused. Nothing was written."
        else:
            summary = f"Registered {valid} of {total} rows, {refused} refused."
        if refused:
            written = "" if dry_run else f"; the {valid} valid rows were registered"
            raise CommandError(f"{summary} See the refused rows above{written}.")
        self.stdout.write(self.style.SUCCESS(summary))

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"  {done}/{total} rows checked")
