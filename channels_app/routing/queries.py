"""The routing decision's reads as explicit SQL, through Django's documented raw-SQL API.

The edge asks for a decision on every new INVITE; building and compiling the equivalent
querysets cost the ORM several times what the database takes to answer them (bench/edge.py:
4 ms a decision through the ORM), so, as for the snapshot (selectors/sql.py), each read is one
statement written out for SQLite and PostgreSQL. Table names come from the models' `_meta` (the
columns are the fields' own names); values are parameters. `tests/test_routing_queries.py`
compares every answer with the ORM's on both databases.

- `accepting_trunks`: the call trunks whose number is one of the readings of the called user
  and that have an address block among the source's candidate keys (index `address_block_key_idx`
  and the unique `(binding, key)` one; the numbers by their unique and national indexes);
- `source_known`: whether any block has one of the candidate keys;
- `trunk_of`: the call trunk of a number, for an outbound call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection

from channels_app.models import DEFAULT_SIP_PORT, Agent, Channel, ChannelBinding, PhoneNumber, Workspace
from channels_app.routing.models import DEFAULT_NUMBER_FORMAT, DEFAULT_TRANSPORT, TrunkAddressBlock

BINDING = ChannelBinding._meta.db_table
NUMBER = PhoneNumber._meta.db_table
AGENT = Agent._meta.db_table
WORKSPACE = Workspace._meta.db_table
BLOCK = TrunkAddressBlock._meta.db_table


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _from_db(model, name: str, value: Any) -> Any:
    """A value as the ORM gives it (decrypted, parsed JSON)."""
    field = model._meta.get_field(name)
    return field.from_db_value(value, None, connection) if value is not None else None


@dataclass(frozen=True)
class Trunk:
    """A call trunk as the decision needs it (no username, no password)."""

    pk: int
    uuid: uuid.UUID
    name: str
    direction: str
    workspace_id: int
    workspace_slug: str
    phone_number_uuid: uuid.UUID
    e164: str
    national_number: str
    agent_uuid: uuid.UUID
    agent_name: str
    agent_status: str
    channel_settings: Any = None
    sip_gateway: str | None = None
    sip_secondary_gateway: str | None = None
    sip_port: str | None = None
    sip_transport: str | None = None
    sip_number_format: str | None = None
    authenticates: bool = False

    # As ChannelBinding reads its NULLs: port 5060, udp, e164.
    @property
    def effective_port(self) -> int:
        return int(self.sip_port) if self.sip_port else DEFAULT_SIP_PORT

    @property
    def effective_transport(self) -> str:
        return self.sip_transport or DEFAULT_TRANSPORT

    @property
    def effective_number_format(self) -> str:
        return self.sip_number_format or DEFAULT_NUMBER_FORMAT


_COMMON = """
    b."id", b."uuid", b."name", b."direction", b."workspace_id", w."slug",
    n."phone_number_uuid", n."number", n."national_number", a."agent_uuid", a."name", a."status"
"""
_FROM = f"""
    FROM {BINDING} b
    JOIN {NUMBER} n ON n."id" = b."phone_number_id"
    JOIN {AGENT} a ON a."id" = b."agent_id"
    JOIN {WORKSPACE} w ON w."id" = b."workspace_id"
    WHERE b."channel" = %s AND b."is_trunk" = %s
"""


def _trunk(row: tuple, **more: Any) -> Trunk:
    return Trunk(
        pk=row[0],
        uuid=_uuid(row[1]),
        name=row[2] or "",
        direction=row[3],
        workspace_id=row[4],
        workspace_slug=row[5],
        phone_number_uuid=_uuid(row[6]),
        e164=str(row[7]),
        national_number=row[8] or "",
        agent_uuid=_uuid(row[9]),
        agent_name=row[10],
        agent_status=row[11],
        **more,
    )


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def accepting_trunks(
    *, e164: tuple[str, ...], national: tuple[str, ...], keys: list[str], workspace_id: int | None = None
) -> list[Trunk]:
    """Call trunks whose number is one of `e164` or has a national number in `national`, with
    an address block whose key is in `keys`."""
    spelled = []
    params: list[Any] = [Channel.CALL.value, True]
    if e164:
        spelled.append(f'n."number" IN ({_placeholders(e164)})')
        params += e164
    if national:
        spelled.append(f'n."national_number" IN ({_placeholders(national)})')
        params += national
    if not spelled or not keys:
        return []
    sql = f"SELECT {_COMMON} {_FROM} AND ({' OR '.join(spelled)})"
    sql += f' AND EXISTS (SELECT 1 FROM {BLOCK} k WHERE k."binding_id" = b."id" AND k."key" IN ({_placeholders(keys)}))'
    params += keys
    if workspace_id is not None:
        sql += ' AND b."workspace_id" = %s'
        params.append(workspace_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_trunk(row) for row in cursor.fetchall()]


def source_known(keys: list[str]) -> bool:
    """Whether any trunk of the installation has a block with one of `keys`."""
    if not keys:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM {BLOCK} WHERE "key" IN ({_placeholders(keys)}) LIMIT 1', keys)
        return cursor.fetchone() is not None


_OUTBOUND = (
    "channel_settings",
    "sip_gateway",
    "sip_secondary_gateway",
    "sip_port",
    "sip_transport",
    "sip_number_format",
)


def trunk_of(e164: str, *, workspace_id: int | None = None) -> Trunk | None:
    """The call trunk of the number `e164`, with what an outbound call needs."""
    sql = (
        f'SELECT {_COMMON}, n."channel_settings", b."sip_gateway", b."sip_secondary_gateway", b."sip_port", '
        f'b."sip_transport", b."sip_number_format", (b."sip_username" IS NOT NULL AND b."sip_password" IS NOT NULL) '
        f'{_FROM} AND n."number" = %s'
    )
    params: list[Any] = [Channel.CALL.value, True, e164]
    if workspace_id is not None:
        sql += ' AND b."workspace_id" = %s'
        params.append(workspace_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    extra = dict(zip(_OUTBOUND, row[12:18], strict=True))
    return _trunk(
        row,
        channel_settings=_from_db(PhoneNumber, "channel_settings", extra["channel_settings"]),
        sip_gateway=_from_db(ChannelBinding, "sip_gateway", extra["sip_gateway"]),
        sip_secondary_gateway=_from_db(ChannelBinding, "sip_secondary_gateway", extra["sip_secondary_gateway"]),
        sip_port=_from_db(ChannelBinding, "sip_port", extra["sip_port"]),
        sip_transport=extra["sip_transport"],
        sip_number_format=extra["sip_number_format"],
        authenticates=bool(row[18]),
    )
