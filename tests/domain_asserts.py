"""Assertions shared by the domain-layer tests (rules, numbers, encryption, races, audit).

They read the real database (raw SQL where the ORM would decrypt) and never mock our code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction

from channels_app import selectors
from channels_app.api.serializers import PhoneNumberSerializer, SnapshotSerializer
from channels_app.errors import DomainError
from channels_app.models import PhoneNumber

ANY = object()


@contextmanager
def raises_domain_error(code: str, field: object = ANY) -> Iterator[pytest.ExceptionInfo]:
    """The block raises DomainError with `code` (and `field`, when given)."""
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, f"expected {code}, got {excinfo.value.code}: {excinfo.value.details}"
    if field is not ANY:
        assert excinfo.value.field == field, f"expected field {field!r}, got {excinfo.value.field!r}"


@contextmanager
def stopped_by_database(constraint_name: str, *columns: str) -> Iterator[None]:
    """The block's ORM write is refused by the database itself, naming the constraint.

    PostgreSQL and SQLite both name a CHECK constraint; for a UNIQUE one SQLite names the columns.
    The write runs in a savepoint so the surrounding test transaction stays usable.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    text = str(excinfo.value)
    if constraint_name in text:
        return
    assert connection.vendor == "sqlite" and columns and all(column in text for column in columns), (
        f"IntegrityError does not name {constraint_name}: {text}"
    )


def table_names() -> list[str]:
    """Every table of the database (Django's and ours, history included)."""
    return sorted(connection.introspection.table_names())


def raw_rows(table: str) -> list[tuple]:
    """Every row of `table`, read with raw SQL (no field decrypts anything)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def raw_dump() -> dict[str, list[tuple]]:
    """A raw dump of every table of the database."""
    return {table: raw_rows(table) for table in table_names()}


def occurrences(needle: str, dump: dict[str, list[tuple]]) -> dict[str, int]:
    """Tables whose raw rows contain `needle` anywhere (text, bytes or JSON), with the count."""
    found: dict[str, int] = {}
    encoded = needle.encode("utf-8")
    for table, rows in dump.items():
        count = 0
        for row in rows:
            for value in row:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    count += bytes(value).count(encoded)
                elif value is not None:
                    count += str(value).count(needle)
        if count:
            found[table] = count
    return found


def snapshot_of(number: PhoneNumber) -> dict:
    """The number's Snapshot as the API answers it: read by its selector, rendered by its serializer."""
    found = selectors.number_get(workspace=number.workspace, phone_number_uuid=number.phone_number_uuid)
    return SnapshotSerializer(found).data


def list_item_of(number: PhoneNumber) -> dict:
    """The number as the API's lists show it (PhoneNumber shape)."""
    found = selectors.number_get(workspace=number.workspace, phone_number_uuid=number.phone_number_uuid)
    return PhoneNumberSerializer(found).data
