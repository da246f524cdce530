"""Counters and slots settled by one statement each, through Django's documented raw-SQL API.

`INSERT ... ON CONFLICT ... DO UPDATE` with an expression or a condition, and `RETURNING` what it
decided: the ORM's `bulk_create(update_conflicts=True)` can only copy the new values over the old
ones. One statement is atomic on its own, needs no transaction and no lock held across queries,
and reads the same on SQLite (3.35 and later) and PostgreSQL. Table and column names come from the
models' `_meta`; every value is a parameter. `tests/test_upserts.py` runs them concurrently on
both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from channels_app.models import ProbeSlot, RequestCounter


def _names(model, *fields: str) -> tuple[str, ...]:
    quote = connection.ops.quote_name
    return (quote(model._meta.db_table), *(quote(model._meta.get_field(name).column) for name in fields))


def count_request(*, token_id: int, window_start: int) -> tuple[int, int]:
    """Count one request of a token in the fixed window starting at `window_start` (seconds since
    the epoch); returns (requests in the current window, its start).

    A request of a later window starts the count at 1. One of an earlier window (a server whose
    clock lags) is counted in the current one instead of resetting it.
    """
    table, token, start, requests = _names(RequestCounter, "token", "window_start", "requests")
    sql = (
        f"INSERT INTO {table} ({token}, {start}, {requests}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({token}) DO UPDATE SET "
        f"{requests} = CASE WHEN {table}.{start} < excluded.{start} THEN 1 ELSE {table}.{requests} + 1 END, "
        f"{start} = CASE WHEN {table}.{start} < excluded.{start} THEN excluded.{start} ELSE {table}.{start} END "
        f"RETURNING {requests}, {start}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_id, window_start])
        count, current_start = cursor.fetchone()
    return count, current_start


def claim_probe_slots(keys: Sequence[str], *, now: datetime, until: datetime) -> set[str]:
    """Hold each free slot of `keys` until `until`; returns the keys claimed.

    A slot is free when it has no row or its row's `until` has passed. Call it in a transaction
    and roll back unless every key was claimed. Keys must be distinct; sorted, so two claims of
    overlapping slots lock their rows in the same order (PostgreSQL cannot deadlock on them).
    """
    table, key, held = _names(ProbeSlot, "key", "until")
    field = ProbeSlot._meta.get_field("until")
    end, start = field.get_db_prep_value(until, connection), field.get_db_prep_value(now, connection)
    ordered = sorted(keys)
    sql = (
        f"INSERT INTO {table} ({key}, {held}) VALUES {', '.join(['(%s, %s)'] * len(ordered))} "
        f"ON CONFLICT ({key}) DO UPDATE SET {held} = excluded.{held} WHERE {table}.{held} <= %s "
        f"RETURNING {key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for slot in ordered for value in (slot, end)] + [start])
        return {row[0] for row in cursor.fetchall()}
