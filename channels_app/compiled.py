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
of a `contains` look-up); a boolean or None argument is a constant of a plan of its own. Pages
are `limit`/`offset` arguments, appended to the SQL as `LIMIT %s OFFSET %s` (understood by every
database the project supports).

Execution goes through Django's cursor wrapper, so query logging, `CaptureQueriesContext` and
`connection.execute_wrapper` see these queries like any other.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError

_SENTINEL_SEQUENCE = itertools.count(1)


@dataclass(frozen=True)
class _Slot:
    """Where one argument goes among the SQL parameters, and how it is adapted."""

    name: str
    positions: tuple[int, ...]
    kind: str  # "int", "uuid", "str" or "contains"


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
    serial = next(_SENTINEL_SEQUENCE)
    if isinstance(value, int):
        return 7_000_000_000_000 + serial
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return f"zz-compiled-query-sentinel-{serial}-{uuid.uuid4().hex}"
    raise TypeError(f"CompiledQuery arguments are int, uuid.UUID or str, not {type(value).__name__}.")


def _uuid_param(value: uuid.UUID, connection) -> Any:
    return value if connection.features.has_native_uuid_field else value.hex


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
            *sorted((name, value if _constant(value) else type(value).__name__) for name, value in arguments.items()),
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
            forms = {"int": sentinel} if isinstance(sentinel, int) else {}
            if isinstance(sentinel, uuid.UUID):
                forms = {"uuid": _uuid_param(sentinel, connection)}
            elif isinstance(sentinel, str):
                forms = {"str": sentinel, "contains": f"%{connection.ops.prep_for_like_query(sentinel)}%"}
            for kind, form in forms.items():
                positions = tuple(i for i, param in enumerate(params) if param == form and type(param) is type(form))
                if positions:
                    slots.append(_Slot(name, positions, kind))
                    break
            else:
                raise ValueError(f"Argument {name!r} does not reach the compiled SQL as a parameter.")
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
