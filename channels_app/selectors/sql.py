"""The hot reads as explicit SQL, through Django's documented raw-SQL API (`connection.cursor()`).

A number's Snapshot is read on every inbound call and a list page on every listing request;
building and compiling their querysets cost the ORM several times what the database takes to
answer them (docs/performance.md). Here each of them is one statement written out for both
databases (SQLite and PostgreSQL). The rows become model instances through the documented
`Model.from_db()`, each value converted as the ORM converts it (`Field.from_db_value()` where the
field has one: JSON, encrypted credentials, phone numbers), so the serializers and templates see
exactly what a queryset would give them. `tests/test_sql.py` compares every answer with the
ORM's answer to the same question, on both databases.

Column lists come from the models' `_meta` (public API), so a new field is read without a change
here. No statement reads a secret (SIP username and password, WhatsApp access token and app
secret): whether one is set is `IS NOT NULL`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils.dateparse import parse_datetime

from channels_app.models import SECRET_FIELDS, Agent, ChannelBinding, InventoryCount, PhoneNumber

NUMBER = PhoneNumber._meta.db_table
BINDING = ChannelBinding._meta.db_table
AGENT = Agent._meta.db_table
COUNTS = InventoryCount._meta.db_table


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _datetime(value: Any) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def converter(field: models.Field) -> Callable[[Any], Any] | None:
    """How a column's value becomes what the ORM gives for `field` (None: as it comes). SQLite
    returns UUIDs as hex text, datetimes without their time zone (UTC), booleans as integers and
    decimals as numbers; PostgreSQL returns them as Python values. Fields with their own `from_db_value()` (JSON,
    encrypted credentials, phone numbers) convert themselves."""
    if hasattr(field, "from_db_value"):
        return lambda value: field.from_db_value(value, None, connection)
    kind = field.get_internal_type()
    if kind == "UUIDField":
        return _uuid
    if kind == "DateTimeField":
        return _datetime
    if kind == "BooleanField":
        return bool
    if kind == "DecimalField":
        places = Decimal(1).scaleb(-field.decimal_places)
        return lambda value: value if isinstance(value, Decimal) else Decimal(str(value)).quantize(places)
    return None


class _Columns:
    """The loaded fields of one model in a statement, and how each value is converted."""

    def __init__(self, model: type[models.Model], fields: tuple[models.Field, ...]) -> None:
        self.model = model
        self.fields = fields
        self.attnames = [field.attname for field in fields]
        self.converters = [converter(field) for field in fields]

    def __len__(self) -> int:
        return len(self.fields)

    def sql(self, alias: str) -> str:
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def instance(self, values: Any) -> models.Model:
        """A model instance of these fields (the others deferred), as a queryset builds it."""
        converted = [
            value if convert is None or value is None else convert(value)
            for convert, value in zip(self.converters, values, strict=True)
        ]
        return self.model.from_db(connection.alias, self.attnames, converted)


NUMBER_COLUMNS = _Columns(PhoneNumber, tuple(PhoneNumber._meta.concrete_fields))
# A snapshot shows gateways and port (decrypted); the secrets are never read.
SNAPSHOT_BINDING_COLUMNS = _Columns(
    ChannelBinding,
    tuple(
        field
        for field in ChannelBinding._meta.concrete_fields
        if field.name not in (*SECRET_FIELDS, "health_check_started_at")
    ),
)
# A list shows agents and kinds only: no encrypted column.
LISTED_BINDING_COLUMNS = _Columns(
    ChannelBinding,
    tuple(
        ChannelBinding._meta.get_field(name)
        for name in (
            "id",
            "phone_number",
            "channel",
            "agent",
            "is_trunk",
            "name",
            "direction",
            "health_status",
            "health_checked_at",
        )
    ),
)
AGENT_COLUMNS = _Columns(Agent, tuple(Agent._meta.get_field(name) for name in ("id", "agent_uuid", "name", "status")))
# Whether a column is set, without reading it: flag -> column.
FLAG_COLUMNS = {
    "has_gateway": "sip_gateway",
    "has_username": "sip_username",
    "has_password": "sip_password",
    "has_access_token": "wa_access_token",
    "has_app_secret": "wa_app_secret",
}
FLAGS = tuple(FLAG_COLUMNS)
FLAG_SQL = ", ".join(f'b."{ChannelBinding._meta.get_field(name).column}" IS NOT NULL' for name in FLAG_COLUMNS.values())


def _param(model: type[models.Model], name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def _binding(row: Any, columns: _Columns, number: PhoneNumber) -> ChannelBinding:
    """A binding from its columns, its credential flags and its agent's columns, in that order."""
    flags_at = len(columns)
    agent_at = flags_at + len(FLAGS)
    binding = columns.instance(row[:flags_at])
    for flag, value in zip(FLAGS, row[flags_at:agent_at], strict=True):
        setattr(binding, flag, bool(value))
    binding.agent = AGENT_COLUMNS.instance(row[agent_at:])
    binding.phone_number = number
    return binding


# --- one number with its bindings ------------------------------------------------------------------

_SNAPSHOT = f"""
    SELECT {NUMBER_COLUMNS.sql("n")}, {SNAPSHOT_BINDING_COLUMNS.sql("b")}, {FLAG_SQL}, {AGENT_COLUMNS.sql("a")}
    FROM {NUMBER} n
    LEFT JOIN {BINDING} b ON b."phone_number_id" = n."id"
    LEFT JOIN {AGENT} a ON a."id" = b."agent_id"
    WHERE n."workspace_id" = %s AND n."{{key}}" = %s
"""


def number_statement(key: str, *, lock: bool = False) -> str:
    sql = _SNAPSHOT.format(key=key)
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE OF n"
    return sql


def number_with_bindings(*, workspace_id: int, key: str, value: Any, lock: bool = False) -> PhoneNumber | None:
    """The workspace's number whose `key` (`phone_number_uuid` or `number`) is `value`, with its
    bindings and their agents as `channel_bindings`: one statement. `lock` row-locks the number
    until the transaction ends (PostgreSQL; SQLite's writers are serialised by the transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(number_statement(key, lock=lock), [workspace_id, _param(PhoneNumber, key, value)])
        rows = cursor.fetchall()
    if not rows:
        return None
    width = len(NUMBER_COLUMNS)
    number = NUMBER_COLUMNS.instance(rows[0][:width])
    number.channel_bindings = [
        _binding(row[width:], SNAPSHOT_BINDING_COLUMNS, number)
        for row in rows
        if row[width] is not None  # a number without a binding: one row of NULLs on the right
    ]
    return number


# --- list pages ----------------------------------------------------------------------------------
class NumberListing:
    """A workspace's numbers under a list's filters, in number order, read a page at a time: what
    Django's Paginator counts and slices. Each number comes with its bindings and their agents.

    `count()` adds up the inventory counters when only the source filters the list (a cost that
    does not grow with the inventory), and counts the matching rows otherwise.
    """

    def __init__(
        self,
        *,
        workspace_id: int,
        source: str = "",
        channel: str = "",
        agent_uuid: uuid.UUID | None = None,
        digits: str = "",
    ) -> None:
        self.workspace_id = workspace_id
        self.source = source
        self.counted_by_triggers = not (channel or agent_uuid or digits)
        conditions, params = ['n."workspace_id" = %s'], [workspace_id]
        if source:
            conditions.append('n."source" = %s')
            params.append(source)
        if digits:
            conditions.append('n."number" LIKE %s')
            params.append(f"%{digits}%")
        if channel or agent_uuid:
            bound, bound_params = [], []
            if channel:
                bound.append('b."channel" = %s')
                bound_params.append(channel)
            if agent_uuid:
                bound.append(f'b."agent_id" IN (SELECT a."id" FROM {AGENT} a WHERE a."agent_uuid" = %s)')
                bound_params.append(_param(Agent, "agent_uuid", agent_uuid))
            where = " AND ".join(bound)
            conditions.append(f'EXISTS (SELECT 1 FROM {BINDING} b WHERE b."phone_number_id" = n."id" AND {where})')
            params.extend(bound_params)
        self.where = " AND ".join(conditions)
        self.params = params

    def count_sql(self) -> tuple[str, list[Any]]:
        if not self.counted_by_triggers:
            return f"SELECT COUNT(*) FROM {NUMBER} n WHERE {self.where}", self.params
        sql = f'SELECT COALESCE(SUM("numbers"), 0) FROM {COUNTS} WHERE "workspace_id" = %s'
        if self.source:
            return f'{sql} AND "source" = %s', [self.workspace_id, self.source]
        return sql, [self.workspace_id]

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(*self.count_sql())
            return int(cursor.fetchone()[0])

    def page_sql(self, *, limit: int, offset: int) -> tuple[str, list[Any]]:
        sql = f'SELECT {NUMBER_COLUMNS.sql("n")} FROM {NUMBER} n WHERE {self.where} ORDER BY n."number"'
        return f"{sql} LIMIT %s OFFSET %s", [*self.params, limit, offset]

    def __getitem__(self, bounds: slice) -> list[PhoneNumber]:
        if not isinstance(bounds, slice) or bounds.step is not None or bounds.stop is None:
            raise TypeError("A listing is read in pages: listing[start:stop].")
        offset = bounds.start or 0
        if bounds.stop <= offset:
            return []
        with connection.cursor() as cursor:
            cursor.execute(*self.page_sql(limit=bounds.stop - offset, offset=offset))
            numbers = [NUMBER_COLUMNS.instance(row) for row in cursor.fetchall()]
        attach_listed_bindings(numbers)
        return numbers


def listed_bindings_statement(count: int) -> str:
    """The bindings, with their agents, of `count` numbers given by id."""
    placeholders = ", ".join(["%s"] * count)
    return f"""
        SELECT {LISTED_BINDING_COLUMNS.sql("b")}, {FLAG_SQL}, {AGENT_COLUMNS.sql("a")}
        FROM {BINDING} b JOIN {AGENT} a ON a."id" = b."agent_id"
        WHERE b."phone_number_id" IN ({placeholders})
    """


def attach_listed_bindings(numbers: list[PhoneNumber]) -> None:
    """Set `channel_bindings` on each number: its bindings as a list shows them, with their
    agents, in one statement for the page."""
    by_id = {number.pk: number for number in numbers}
    for number in numbers:
        number.channel_bindings = []
    if not by_id:
        return
    with connection.cursor() as cursor:
        cursor.execute(listed_bindings_statement(len(by_id)), list(by_id))
        rows = cursor.fetchall()
    number_at = LISTED_BINDING_COLUMNS.attnames.index("phone_number_id")
    for row in rows:
        number = by_id[row[number_at]]
        number.channel_bindings.append(_binding(row, LISTED_BINDING_COLUMNS, number))
