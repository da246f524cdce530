"""Hot-path queries compiled once: the ORM writes their SQL, then every call only executes it.

A snapshot look-up sits on the path of every inbound call, and every write starts with a few
look-ups by key. Building and compiling such a queryset costs Django several times what the
database takes to answer it, and gives the same SQL every time; only the values differ.
`CompiledQuery` lets the ORM build the query once per database and set of argument names,
remembers where each argument landed among the SQL parameters, and from then on executes that
SQL with the new values and converts the rows with the fields' own converters (decryption
included). The SQL stays the ORM's: it follows the models, the vendor and the migrations, and
tests/test_compiled.py compares compiled results with the same querysets run by the ORM.

A `values_list` queryset answers `rows()` (lists, in the order of its columns); a model queryset
answers `objects()` and `one()` (instances built as Django's own ModelIterable builds them:
`select_related` objects, deferred fields and annotations included; `select_for_update` too,
inside a transaction). Arguments are ints, `uuid.UUID`s and strs (an exact value, or the `%...%`
of a `contains` look-up), and lists of ints (an `__in` look-up: a plan per length); a boolean or
None argument is a constant of a plan of its own. Pages
are `limit`/`offset` arguments, appended to the SQL as `LIMIT %s OFFSET %s` (understood by every
database the project supports).

`CompiledInsert` does the same for the INSERT of one new row: the ORM writes the statement once
per database, and each call only prepares the row's values with the fields' own `pre_save()` and
`get_db_prep_save()` (timestamps, encryption, JSON), as `Model.save()` would. With
`ignore_conflicts` the statement ends with the ORM's `ON CONFLICT DO NOTHING` (on SQLite too,
rather than its `INSERT OR IGNORE`, which would skip a row breaking a CHECK constraint as well)
and the call says whether the row went in: a write that a concurrent request can beat
learns it without an error, so it needs no savepoint. Unlike `save()`, it sends no model signals:
the caller writes the audit record itself (`channels_app.audit.history_record`).

Execution goes through Django's cursor wrapper, so query logging, `CaptureQueriesContext` and
`connection.execute_wrapper` see these queries like any other.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError

_SENTINEL_SEQUENCE = itertools.count(1)


@dataclass(frozen=True)
class _Slot:
    """Where one argument goes among the SQL parameters, and how it is adapted."""

    name: str
    positions: tuple[int, ...]
    kind: str  # "int", "uuid", "str" or "contains"
    item: int | None = None  # of a list argument: which of its values


@dataclass(frozen=True)
class _Instances:
    """How ModelIterable turns a row into an instance (read once from the compiler)."""

    model: Any
    start: int
    end: int
    init_list: tuple[str, ...]
    related_populators: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[_Slot, ...]
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]  # (column, converters, expression)
    for_update: bool
    instances: _Instances | None


def _constant(value: Any) -> bool:
    """Booleans and None become literals of the SQL (`IS NULL`, a bare column): each value is a
    plan of its own, built with the value itself."""
    return value is None or isinstance(value, bool)


def _sentinel(value: Any) -> Any:
    """A stand-in for `value` that no constant of a query can equal."""
    if isinstance(value, list):
        if not value or not all(type(item) is int for item in value):
            raise TypeError("A CompiledQuery list argument is a non-empty list of ints.")
        return [_sentinel(item) for item in value]
    serial = next(_SENTINEL_SEQUENCE)
    if isinstance(value, int):
        return 7_000_000_000_000 + serial
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return f"zz-compiled-query-sentinel-{serial}-{uuid.uuid4().hex}"
    raise TypeError(f"CompiledQuery arguments are int, uuid.UUID or str, not {type(value).__name__}.")


def _shape(value: Any) -> Any:
    """What of an argument its plan depends on: a constant's value, a list's length, else the type."""
    if _constant(value):
        return value
    if isinstance(value, list):
        return ("list", len(value))
    return type(value).__name__


def _uuid_param(value: uuid.UUID, connection) -> Any:
    return value if connection.features.has_native_uuid_field else value.hex


def _slot(name: str, item: int | None, sentinel: Any, params: list[Any], connection) -> _Slot:
    """Where the sentinel of an argument (or of one value of a list argument) landed."""
    forms = {"int": sentinel} if isinstance(sentinel, int) else {}
    if isinstance(sentinel, uuid.UUID):
        forms = {"uuid": _uuid_param(sentinel, connection)}
    elif isinstance(sentinel, str):
        forms = {"str": sentinel, "contains": f"%{connection.ops.prep_for_like_query(sentinel)}%"}
    for kind, form in forms.items():
        positions = tuple(i for i, param in enumerate(params) if param == form and type(param) is type(form))
        if positions:
            return _Slot(name, positions, kind, item)
    raise ValueError(f"Argument {name!r} does not reach the compiled SQL as a parameter.")


class CompiledQuery:
    """A `values_list` queryset, built by `build(**arguments)`, compiled once per database and
    set of argument names, and executed with new argument values by `rows()`."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self._build = build
        self._plans: dict[tuple, _Plan] = {}
        self._lock = threading.Lock()

    def rows(
        self, *, using: str = DEFAULT_DB_ALIAS, limit: int | None = None, offset: int = 0, **arguments: Any
    ) -> list[list[Any]]:
        """The converted rows of the `values_list` queryset `build(**arguments)[offset:offset + limit]`."""
        plan, rows = self._execute(using, limit, offset, arguments)
        if plan.instances is not None:
            raise TypeError("A model queryset answers objects(), not rows().")
        return rows

    def objects(
        self, *, using: str = DEFAULT_DB_ALIAS, limit: int | None = None, offset: int = 0, **arguments: Any
    ) -> list[Any]:
        """The instances of the model queryset `build(**arguments)[offset:offset + limit]`."""
        plan, rows = self._execute(using, limit, offset, arguments)
        build = plan.instances
        if build is None:
            raise TypeError("A values_list queryset answers rows(), not objects().")
        instances = []
        for row in rows:
            instance = build.model.from_db(using, build.init_list, row[build.start : build.end])
            for populator in build.related_populators:
                populator.populate(row, instance)
            for name, column in build.annotations:
                setattr(instance, name, row[column])
            instances.append(instance)
        return instances

    def one(self, *, using: str = DEFAULT_DB_ALIAS, **arguments: Any) -> Any | None:
        """The instance of `build(**arguments)`, a look-up by a unique key, or None (no LIMIT: on
        PostgreSQL it could not follow a FOR UPDATE)."""
        found = self.objects(using=using, **arguments)
        if len(found) > 1:
            raise ValueError("CompiledQuery.one() found more than one row: the look-up is not unique.")
        return found[0] if found else None

    def _execute(
        self, using: str, limit: int | None, offset: int, arguments: dict[str, Any]
    ) -> tuple[_Plan, list[list[Any]]]:
        connection = connections[using]
        key = (
            using,
            connection.vendor,
            *sorted((name, _shape(value)) for name, value in arguments.items()),
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(using, arguments)
            with self._lock:
                self._plans[key] = plan
        if plan.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(plan.params)
        for slot in plan.slots:
            value = arguments[slot.name]
            if slot.item is not None:
                value = value[slot.item]
            if slot.kind == "uuid":
                value = _uuid_param(value, connection)
            elif slot.kind == "contains":
                value = f"%{connection.ops.prep_for_like_query(value)}%"
            for position in slot.positions:
                params[position] = value
        sql = plan.sql
        if limit is not None:
            if plan.for_update:
                raise ValueError("A select_for_update query is not paged.")
            sql = f"{sql} LIMIT %s OFFSET %s"
            params += [int(limit), int(offset)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        rows = []
        for row in fetched:
            row = list(row)
            for column, converters, expression in plan.converters:
                value = row[column]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[column] = value
            rows.append(row)
        return plan, rows

    def queryset(self, **arguments: Any) -> QuerySet:
        """The queryset this query compiles, for the ORM to run (tests compare the two)."""
        return self._build(**arguments)

    def _compile(self, using: str, arguments: dict[str, Any]) -> _Plan:
        sentinels = {name: value if _constant(value) else _sentinel(value) for name, value in arguments.items()}
        queryset = self._build(**sentinels)
        query = queryset.query
        if query.low_mark or query.high_mark is not None:
            raise ValueError("A compiled query is sliced by rows(limit=, offset=), not by its queryset.")
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ValueError("Only model and values_list() querysets are compiled.")
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ValueError("Prefetches and related managers' querysets are not compiled.")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        connection = connections[using]
        slots = []
        for name, sentinel in sentinels.items():
            if _constant(sentinel):
                continue
            items = enumerate(sentinel) if isinstance(sentinel, list) else [(None, sentinel)]
            slots.extend(_slot(name, item, value, params, connection) for item, value in items)
        columns = [expression for expression, _sql, _alias in compiler.select[: compiler.col_count]]
        converters = tuple(
            (column, tuple(convs), expression)
            for column, (convs, expression) in compiler.get_converters(columns).items()
        )
        instances = None
        if queryset._iterable_class is ModelIterable:
            klass_info = compiler.klass_info
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            instances = _Instances(
                model=klass_info["model"],
                start=start,
                end=end,
                init_list=tuple(column[0].target.attname for column in compiler.select[start:end]),
                related_populators=tuple(get_related_populators(klass_info, compiler.select, using)),
                annotations=tuple(compiler.annotation_col_map.items()),
            )
        return _Plan(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            converters=converters,
            for_update=bool(query.select_for_update),
            instances=instances,
        )


# Values that are never query expressions: the per-value `hasattr(value, "resolve_expression")`
# the ORM makes is skipped for them.
_PLAIN_VALUES = frozenset({str, int, float, bool, Decimal, datetime, date, uuid.UUID, dict, list, type(None)})


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    returning: tuple[Any, ...]
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]


class CompiledInsert:
    """The INSERT of a new `model` row, written by the ORM once per database (see the module
    docstring). `one(obj)` inserts `obj` and sets its primary key, like `obj.save()` without
    signals; with `ignore_conflicts`, a row whose unique value is taken is not inserted and
    `one()` answers False. `many(objs)` inserts rows nothing reads back by key (audit records)."""

    def __init__(self, model: type[Model], *, ignore_conflicts: bool = False) -> None:
        opts = model._meta
        self.model = model
        self.on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        # The columns Model._save_table inserts for a new row with a database-generated key.
        self.fields = tuple(f for f in opts.local_concrete_fields if not f.generated and f is not opts.auto_field)
        if any(hasattr(field, "get_placeholder") for field in self.fields):
            raise ValueError(f"{model.__name__} has a field with its own SQL placeholder: not compiled.")
        self._plans: dict[tuple[str, str, bool], _InsertPlan] = {}
        self._lock = threading.Lock()

    def one(self, obj: Model, *, using: str = DEFAULT_DB_ALIAS) -> bool:
        """Insert `obj` (a new row); False when `ignore_conflicts` and a unique value is taken."""
        connection = connections[using]
        plan, params = self._statement(obj, using, returning=True)
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            row = cursor.fetchone() if plan.returning else ()
        if row is None:
            return False  # ON CONFLICT DO NOTHING: a unique value is taken
        row = list(row)
        for column, converters, expression in plan.converters:
            for converter in converters:
                row[column] = converter(row[column], expression, connection)
        for field, value in zip(plan.returning, row, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = using
        return True

    def many(self, objs: list[Model], *, using: str = DEFAULT_DB_ALIAS) -> None:
        """Insert new rows that nothing reads back by key (audit records): the statement without
        RETURNING, executed once per row in one call (`executemany`); their keys stay unset."""
        if self.on_conflict is not None:
            raise ValueError("many() cannot say which rows a conflict skipped.")
        statements = [self._statement(obj, using, returning=False) for obj in objs]
        if statements:
            with connections[using].cursor() as cursor:
                cursor.executemany(statements[0][0].sql, [params for _plan, params in statements])

    def _statement(self, obj: Model, using: str, *, returning: bool) -> tuple[_InsertPlan, list[Any]]:
        """The compiled statement and the parameters of `obj`, prepared as the ORM prepares them."""
        if type(obj) is not self.model or not obj._state.adding or obj.pk is not None:
            raise ValueError(f"CompiledInsert({self.model.__name__}) inserts new {self.model.__name__} rows only.")
        obj._prepare_related_fields_for_save(operation_name="save")
        connection = connections[using]
        key = (using, connection.vendor, returning)
        plan = self._plans.get(key)
        if plan is None:
            plan, params = self._compile(obj, using, returning=returning)
            with self._lock:
                self._plans[key] = plan
            return plan, params
        params = []
        for field in self.fields:
            value = field.pre_save(obj, True)
            if type(value) not in _PLAIN_VALUES and hasattr(value, "resolve_expression"):
                raise TypeError(f"CompiledInsert does not insert expressions ({field.name}={value!r}).")
            params.append(field.get_db_prep_save(value, connection=connection))
        return plan, params

    def _compile(self, obj: Model, using: str, *, returning: bool) -> tuple[_InsertPlan, list[Any]]:
        """The ORM's statement for `obj`, and its parameters for this first call."""
        opts = self.model._meta
        returned = tuple(opts.db_returning_fields) if returning else ()
        query = InsertQuery(self.model, on_conflict=self.on_conflict)
        query.insert_values(self.fields, [obj])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = list(returned)
        statements = compiler.as_sql()
        if len(statements) != 1:
            raise ValueError("The database cannot insert and return a row in one statement.")
        sql, params = statements[0]
        if len(params) != len(self.fields) or sql.count("%s") != len(params):
            raise ValueError(f"The INSERT of {self.model.__name__} does not take one parameter per column.")
        if self.on_conflict is not None and sql.startswith("INSERT OR IGNORE INTO "):
            # SQLite's OR IGNORE would also skip a row that breaks a CHECK or NOT NULL constraint,
            # silently; its upsert clause, like PostgreSQL's, skips only a taken unique value.
            head, returning_sql = sql.removeprefix("INSERT OR IGNORE INTO ").split(" RETURNING ", 1)
            sql = f"INSERT INTO {head} ON CONFLICT DO NOTHING RETURNING {returning_sql}"
        columns = [field.get_col(opts.db_table) for field in returned]
        converters = tuple(
            (column, tuple(convs), expression)
            for column, (convs, expression) in compiler.get_converters(columns).items()
        )
        return _InsertPlan(sql=sql, returning=returned, converters=converters), list(params)
