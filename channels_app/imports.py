"""Bulk registration of trunks from CSV: one engine for the admin page and `import_trunks`.

Format (README, "Bulk registration from CSV"), one trunk per row:

    phone_number,channel,agent_uuid,name,direction,sip_gateway,sip_port,sip_username,
    sip_password,sip_secondary_gateway,additional_settings,sip_inbound_addresses,sip_transport,
    sip_number_format,wa_phone_number_id,wa_business_account_id,wa_access_token,wa_app_secret

`phone_number`, `channel` and `agent_uuid` (or `agent_name` instead: the agent's name, unique
in the workspace, see channels_app.import_agents) are required columns; the others may be left
out of the header. Columns may come in any order; an unknown column refuses the whole file (a typo such
as `sip_pasword` must not be silently ignored). An empty cell means "not given".
`additional_settings` is a JSON object; `sip_inbound_addresses` lists addresses or CIDR blocks
separated by spaces. Rows where every cell is empty are skipped.

Every row gets what `services.trunk_register` answers, the same rules and messages as the API
and the admin form (through `services.trunk_register_many`, which inserts certain successes in
bulk). All rows run in one transaction: a refused row leaves nothing behind and is reported; a
dry run rolls everything back at the end, so a preview sees exactly what a commit would do,
including conflicts between rows of the same file. Reports never carry the SIP
username or password, nor the WhatsApp access token or app secret, only whether a row sets them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from channels_app import fieldpaths, import_agents, inputs, services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import Workspace
from channels_app.routing.addresses import split_text

COLUMNS = (
    "phone_number",
    "channel",
    "agent_uuid",
    "agent_name",
    "name",
    "direction",
    "sip_gateway",
    "sip_port",
    "sip_username",
    "sip_password",
    "sip_secondary_gateway",
    "additional_settings",
    "sip_inbound_addresses",
    "sip_transport",
    "sip_number_format",
    "wa_phone_number_id",
    "wa_business_account_id",
    "wa_access_token",
    "wa_app_secret",
)
REQUIRED_COLUMNS = ("phone_number", "channel")
AGENT_COLUMNS = ("agent_uuid", "agent_name")  # one of them, at least
SIP_COLUMNS = tuple(column for column in COLUMNS if column.startswith("sip_"))
WHATSAPP_COLUMNS = tuple(column for column in COLUMNS if column.startswith("wa_"))
SECRET_COLUMNS = ("sip_username", "sip_password", "wa_access_token", "wa_app_secret")
Progress = Callable[[int, int], None]  # (rows checked, total)


class CsvFormatError(ValueError):
    """The file as a whole cannot be read: nothing of it is imported."""


@dataclass(frozen=True)
class RowError:
    column: str | None  # a CSV column, or None for the row as a whole
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.column}: {self.message}" if self.column else self.message


@dataclass
class Row:
    """One data row of the file, its outcome, and what may be shown of it."""

    line: int
    cells: dict[str, str]
    errors: list[RowError] = field(default_factory=list)
    e164: str | None = None
    trunk_name: str | None = None
    done: bool = False  # passed every rule (dry run) or written (commit)
    agent_by_name: bool = False  # the row named its agent (`agent_name`)

    @property
    def ok(self) -> bool:
        return self.done and not self.errors

    def cell(self, column: str) -> str:
        """A cell fit to show: the secrets only as "set" or empty."""
        value = self.cells.get(column, "")
        if column in SECRET_COLUMNS:
            return _("set") if value else ""
        return value

    @property
    def shown(self) -> dict[str, str]:
        return {column: self.cell(column) for column in COLUMNS}

    def report_line(self, *, dry_run: bool) -> str:
        """One line of the command's per-row report (never a secret)."""
        where = f"line {self.line}: {self.cells.get('phone_number', '')!s} {self.cells.get('channel', '')!s}".rstrip()
        if self.ok:
            verb = _("valid") if dry_run else _("registered")
            return f"{where}: {verb} as {self.e164} ({self.trunk_name})"
        problems = "; ".join(f"{error} [{error.code}]" for error in self.errors)
        return f"{where}: refused - {problems}"


@dataclass
class ImportReport:
    rows: list[Row]  # empty when register_rows was told not to keep them (see `counted`)
    dry_run: bool
    counted: tuple[int, int] | None = None  # (valid, refused), set when the rows were not kept

    @property
    def valid(self) -> list[Row]:
        return [row for row in self.rows if row.ok]

    @property
    def refused(self) -> list[Row]:
        return [row for row in self.rows if not row.ok]

    @property
    def valid_count(self) -> int:
        if self.counted is not None:
            return self.counted[0]
        return sum(1 for row in self.rows if row.ok)

    @property
    def refused_count(self) -> int:
        if self.counted is not None:
            return self.counted[1]
        return len(self.rows) - self.valid_count


# --- reading -------------------------------------------------------------------------------------


def _text(source: str | bytes | IO) -> str:
    if hasattr(source, "read"):
        source = source.read()
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvFormatError(_("The file must be UTF-8 encoded CSV.")) from exc
    return source.removeprefix("\ufeff")


def read_rows(source: str | bytes | IO) -> list[Row]:
    """Parse the CSV into rows; raise CsvFormatError when the file as a whole is unusable."""
    text = _text(source)
    if not text.strip():
        raise CsvFormatError(_("The file is empty."))
    if "\x00" in text:
        raise CsvFormatError(_("The file contains NUL characters; it is not a CSV text file."))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _header(reader)
    return list(_data_rows(reader, header))


def _header(reader) -> list[str]:
    try:
        record = next(reader)
    except StopIteration as exc:
        raise CsvFormatError(_("The file is empty.")) from exc
    except csv.Error as exc:
        raise CsvFormatError(_("The header cannot be read as CSV: %(error)s") % {"error": exc}) from exc
    header = [name.strip().lower() for name in record]
    if not any(header) and not any(any(cell.strip() for cell in other) for other in reader):
        raise CsvFormatError(_("The file is empty."))  # blank lines only
    _check_header(header)
    return header


def _data_rows(reader, header: list[str]) -> Iterator[Row]:
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            row = Row(line=line, cells={})
            if len(record) > len(header):
                row.errors.append(
                    RowError(None, "VALIDATION_ERROR", _("This row has more cells than the header has columns."))
                )
            for name, value in zip(header, record, strict=False):
                row.cells[name] = value if name in SECRET_COLUMNS else value.strip()
            yield row
    except csv.Error as exc:
        raise CsvFormatError(
            _("Line %(line)d cannot be read as CSV: %(error)s") % {"line": reader.line_num, "error": exc}
        ) from exc


def _checked_lines(handle: IO[str]) -> Iterator[str]:
    """The file's lines, refusing NUL characters and bytes that are not UTF-8 as they come."""
    try:
        for line in handle:
            if "\x00" in line:
                raise CsvFormatError(_("The file contains NUL characters; it is not a CSV text file."))
            yield line
    except UnicodeDecodeError as exc:
        raise CsvFormatError(_("The file must be UTF-8 encoded CSV.")) from exc


@contextmanager
def file_rows(path: str | Path) -> Iterator[tuple[int, Iterator[Row]]]:
    """The rows of a CSV file, read one at a time while they are registered, so that memory does
    not grow with the file (`manage.py import_trunks`). Yields (number of rows, rows).

    The whole file is checked first, in a pass that keeps nothing: an unusable file (encoding,
    NUL characters, header, CSV syntax, no content) raises CsvFormatError before any row is
    registered, as `read_rows` does. OSError when the file cannot be read.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(_checked_lines(handle))
        total = sum(1 for _row in _data_rows(reader, _header(reader)))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(_checked_lines(handle))
        yield total, _data_rows(reader, _header(reader))


def _check_header(header: list[str]) -> None:
    problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if not any(name in header for name in AGENT_COLUMNS):
        missing.append(" or ".join(AGENT_COLUMNS))
    if missing:
        problems.append(_("Missing column(s): %(names)s.") % {"names": ", ".join(missing)})
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            _("Unknown column(s): %(names)s. Expected: %(expected)s.")
            % {"names": ", ".join(name or '""' for name in unknown), "expected": ",".join(COLUMNS)}
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problems.append(_("Repeated column(s): %(names)s.") % {"names": ", ".join(repeated)})
    if problems:
        raise CsvFormatError(" ".join(problems))


# --- registering ---------------------------------------------------------------------------------


class _Discard(Exception):
    """Roll back a row that the service accepted but the file itself got wrong."""


def _register_kwargs(row: Row) -> dict[str, Any]:
    """The service's keyword arguments; empty cells are "not given". Shape errors go to the row."""
    cells = row.cells
    kwargs: dict[str, Any] = {
        "phone_number": cells.get("phone_number", ""),
        "channel": cells.get("channel", ""),
        "agent_uuid": cells.get("agent_uuid", ""),
    }
    if cells.get("name"):
        kwargs["name"] = cells["name"]
    if cells.get("direction"):
        kwargs["direction"] = cells["direction"]
    sip = {
        fieldpaths.CSV_COLUMNS[column].path.removeprefix("sip."): cells[column]
        for column in SIP_COLUMNS
        if cells.get(column)
    }
    if "inbound_addresses" in sip:
        sip["inbound_addresses"] = split_text(sip["inbound_addresses"])
    if sip:
        kwargs["sip"] = sip
    whatsapp = {
        fieldpaths.CSV_COLUMNS[column].path.removeprefix("whatsapp."): cells[column]
        for column in WHATSAPP_COLUMNS
        if cells.get(column)
    }
    if whatsapp:
        kwargs["whatsapp"] = whatsapp
    raw_settings = cells.get("additional_settings")
    if raw_settings:
        try:
            kwargs["additional_settings"] = inputs.parse_json(raw_settings)
        except inputs.InputError as exc:
            row.errors.append(RowError("additional_settings", "VALIDATION_ERROR", exc.message))
    return kwargs


def _row_errors(row: Row, exc: DomainError) -> list[RowError]:
    """A refusal as row errors, each on the CSV column it is about (or the row as a whole)."""
    errors = []
    for path, message in exc.messages():
        column = import_agents.column_for(row, fieldpaths.csv_column(path))
        if column is None and path not in fieldpaths.WHOLE_INPUT:
            message = f"{path}: {message}"
        errors.append(RowError(column, exc.code, message))
    return errors


RUN_ROWS = 1_000  # rows handed to services.trunk_register_many at once: memory stays flat


def _agents_resolved(workspace: Workspace, rows: Iterable[Row]) -> Iterator[Row]:
    """The rows, in order, each `agent_name` resolved: RUN_ROWS rows' names in one look-up."""
    iterator = iter(rows)
    while block := list(islice(iterator, RUN_ROWS)):
        import_agents.resolve(workspace, block, lambda column, message: RowError(column, "VALIDATION_ERROR", message))
        yield from block


def register_rows(
    *,
    workspace: Workspace,
    actor: Actor,
    rows: Iterable[Row],
    dry_run: bool,
    progress: Progress | None = None,
    progress_every: int = 500,
    total: int | None = None,
    on_row: Callable[[Row], None] | None = None,
    keep_rows: bool = True,
) -> ImportReport:
    """Register the rows, in file order, in one transaction, through the trunk services.

    Runs of rows go to services.trunk_register_many (each row's outcome is what trunk_register
    would answer after the rows before it; certain successes are inserted in bulk). A row the
    file itself got wrong (a cell that is not JSON, too many cells) is still checked by
    services.trunk_register, so all its problems are reported, in a savepoint that is rolled
    back. With `dry_run` the whole transaction is rolled back: nothing is written and no audit
    event remains.

    Runs go to the service RUN_ROWS at a time (the later ones see the rows written before them in
    the same transaction). `on_row` is called with each row once its outcome is known, in file
    order; with `keep_rows=False` the report keeps only the counts, so a file of any length is
    registered in constant memory when `rows` is an iterator (see `file_rows`) and `total` is given.
    """
    if total is None:
        rows = list(rows)
        total = len(rows)
    checked = 0
    kept: list[Row] = []
    outcome_counts = {"valid": 0, "refused": 0}

    def done(row: Row) -> None:
        outcome_counts["valid" if row.ok else "refused"] += 1
        if on_row is not None:
            on_row(row)
        if keep_rows:
            kept.append(row)

    def tick() -> None:
        nonlocal checked
        checked += 1
        if progress is not None and (checked % progress_every == 0 or checked == total):
            progress(checked, total)

    def settle(row: Row, outcome: Any) -> None:
        if isinstance(outcome, DomainError):
            # A problem of a cell the file already refused says nothing new: one per column.
            refused = {error.column for error in row.errors}
            row.errors.extend(error for error in _row_errors(row, outcome) if error.column not in refused - {None})
        elif outcome is not None and not row.errors:
            row.done = True
            row.e164 = outcome.phone_number.e164
            row.trunk_name = outcome.name

    def register_run(run: list[tuple[Row, dict[str, Any]]]) -> None:
        if run:
            outcomes = services.trunk_register_many(
                workspace=workspace, actor=actor, rows=[kwargs for _, kwargs in run], progress=lambda _done: tick()
            )
            for (row, _kwargs), outcome in zip(run, outcomes, strict=True):
                settle(row, outcome)
                done(row)
            run.clear()

    scope = services.rolled_back() if dry_run else transaction.atomic()
    with scope:
        run: list[tuple[Row, dict[str, Any]]] = []
        for row in _agents_resolved(workspace, rows):
            kwargs = _register_kwargs(row)
            if not row.errors:
                run.append((row, kwargs))
                if len(run) >= RUN_ROWS:
                    register_run(run)
                continue
            register_run(run)
            try:
                with transaction.atomic():
                    services.trunk_register(workspace=workspace, actor=actor, **kwargs)
                    raise _Discard
            except DomainError as exc:
                settle(row, exc)
            except _Discard:
                settle(row, None)
            done(row)
            tick()
        register_run(run)
    if keep_rows:
        return ImportReport(rows=kept, dry_run=dry_run)
    return ImportReport(rows=[], dry_run=dry_run, counted=(outcome_counts["valid"], outcome_counts["refused"]))


def import_csv(
    *,
    workspace: Workspace,
    actor: Actor,
    source: str | bytes | IO,
    dry_run: bool,
    progress: Progress | None = None,
) -> ImportReport:
    """Read and register a whole file. Raises CsvFormatError when the file itself is unusable."""
    return register_rows(workspace=workspace, actor=actor, rows=read_rows(source), dry_run=dry_run, progress=progress)
