"""Every read that carries tenancy, one function per question, and the two representations.

Another workspace's object is indistinguishable from a missing one: both raise the same NotFound.
Lists never load the encrypted columns; a snapshot decrypts only gateway, port and secondary
gateway, and learns whether a username/password is set from NULL-ness, without decrypting them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    CharField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from channels_app import channel_settings as settings_doc
from channels_app import fieldpaths, numbers, tokens
from channels_app.compiled import CompiledQuery
from channels_app.errors import NotFound, ValidationFailed, agent_not_found, phone_number_not_found
from channels_app.models import (
    Agent,
    ApiToken,
    Channel,
    ChannelBinding,
    InventoryCount,
    Membership,
    PhoneNumber,
    Source,
    Workspace,
)

CHANNELS = (Channel.CALL, Channel.SMS, Channel.WHATSAPP)
_SECRET_DEFER = ("sip_username", "sip_password")


# --- workspaces and members -----------------------------------------------------------------------


def memberships_for_user(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user, workspace_slug: str) -> Membership | None:
    return Membership.objects.filter(user=user, workspace__slug=workspace_slug).select_related("workspace").first()


def number_workspace_for_user(*, user, phone_number_uuid: Any) -> Workspace | None:
    """The workspace holding this number, if `user` is a member of it; otherwise None.

    Lets a short link (`/app/numbers/<uuid>/`) find its workspace without revealing other tenants.
    """
    try:
        key = uuid.UUID(str(phone_number_uuid))
    except ValueError:
        return None
    return Workspace.objects.filter(phone_numbers__phone_number_uuid=key, memberships__user=user).first()


# --- agents --------------------------------------------------------------------------------------


def agent_list(*, workspace: Workspace) -> QuerySet[Agent]:
    return Agent.objects.filter(workspace=workspace).order_by("name", "id")


def agent_get(*, workspace: Workspace, agent_uuid: Any) -> Agent:
    try:
        key = uuid.UUID(str(agent_uuid))
    except ValueError as exc:
        raise agent_not_found() from exc
    agent = Agent.objects.filter(workspace=workspace, agent_uuid=key).first()
    if agent is None:
        raise agent_not_found()
    return agent


# --- numbers -------------------------------------------------------------------------------------


def _bindings_for_list() -> Prefetch:
    return Prefetch(
        "bindings",
        queryset=ChannelBinding.objects.select_related("agent").only(
            "id", "phone_number_id", "channel", "agent__agent_uuid", "agent__name"
        ),
    )


def _bindings_for_snapshot() -> Prefetch:
    return Prefetch(
        "bindings",
        queryset=ChannelBinding.objects.select_related("agent")
        .defer(*_SECRET_DEFER)
        .annotate(
            has_username=ExpressionWrapper(Q(sip_username__isnull=False), output_field=BooleanField()),
            has_password=ExpressionWrapper(Q(sip_password__isnull=False), output_field=BooleanField()),
        ),
    )


class NumberQuerySet(QuerySet):
    """Numbers whose total is known without counting.

    `with_known_count(count)`: `count()` calls `count` instead of counting rows (see
    `number_count`). The known count belongs to this very queryset: a further filter, slice or
    prefetch is a clone, which counts its rows again. Paginators (Django's, on the self-serve
    pages) call `count()` on the queryset they are given.
    """

    _known_count: Callable[[], int] | None = None

    def count(self) -> int:
        if self._known_count is not None and self._result_cache is None:
            return self._known_count()
        return super().count()

    def with_known_count(self, count: Callable[[], int]) -> NumberQuerySet:
        clone = self._chain()
        clone._known_count = count
        return clone


def number_count(*, workspace: Workspace, source: str | None = None) -> int:
    """How many numbers the workspace holds (of one source), from the counters the database
    keeps (InventoryCount, migration 0004): a few rows to add up, whatever the inventory's size."""
    return _numbers_counted(workspace_id=workspace.pk, source=source)


def _numbers_counted(*, workspace_id: int, source: str | None) -> int:
    arguments = {"source": source} if source else {}
    return sum(row[0] for row in _NUMBERS_COUNTED.rows(workspace_id=workspace_id, **arguments))


def _with_total(qs: NumberQuerySet, *, workspace: Workspace, source: str | None, **filters: Any) -> QuerySet:
    """Attach the known total when only the source filters the list (the counters hold no more)."""
    if any(filters.values()):
        return qs
    return qs.with_known_count(lambda: number_count(workspace=workspace, source=source or None))


def number_list(
    *,
    workspace: Workspace,
    source: str | None = None,
    channel: str | None = None,
    agent_uuid: Any = None,
    search: str | None = None,
) -> NumberListing:
    """The workspace's inventory as the API lists it, filtered (bad filters: 422): see NumberListing."""
    filters = _list_filters(source=source, channel=channel, agent_uuid=agent_uuid, search=search)
    return NumberListing(workspace_id=workspace.pk, filters=filters)


def _list_filters(*, source: Any, channel: Any, agent_uuid: Any, search: Any) -> dict[str, Any]:
    """The list filters given, checked and as `_numbers_query` takes them (bad filters: 422)."""
    filters: dict[str, Any] = {}
    if source:
        if source not in Source.values:
            raise ValidationFailed.single("source", f"Must be one of: {', '.join(Source.values)}.")
        filters["source"] = str(source)
    if channel:
        if channel not in Channel.values:
            raise ValidationFailed.single("channel", f"Must be one of: {', '.join(Channel.values)}.")
        filters["channel"] = str(channel)
    if agent_uuid:
        try:
            filters["agent_uuid"] = uuid.UUID(str(agent_uuid))
        except ValueError as exc:
            raise ValidationFailed.single("agent_uuid", "Must be a UUID.") from exc
    if search:
        digits = numbers.search_digits(search)
        if not digits:
            raise ValidationFailed.single("search", "Search by the digits of the number.")
        filters["search"] = digits
    return filters


def _numbers_query(
    *, workspace_id: int, source: str = "", channel: str = "", agent_uuid: uuid.UUID | None = None, search: str = ""
) -> NumberQuerySet:
    """The workspace's numbers in number order, filtered by checked filters (`_list_filters`)."""
    qs = NumberQuerySet(model=PhoneNumber).filter(workspace_id=workspace_id)
    if source:
        qs = qs.filter(source=source)
    if channel:
        qs = qs.filter(bindings__channel=channel)
    if agent_uuid:
        qs = qs.filter(bindings__agent__agent_uuid=agent_uuid)
    if search:
        qs = qs.filter(number__contains=search)
    if channel or agent_uuid:
        qs = qs.distinct()
    return qs.order_by("number")


def _numbers_filtered(
    *, workspace: Workspace, source: Any, channel: Any, agent_uuid: Any, search: Any
) -> NumberQuerySet:
    """The workspace's numbers in number order, filtered as the lists are (bad filters: 422)."""
    filters = _list_filters(source=source, channel=channel, agent_uuid=agent_uuid, search=search)
    return _numbers_query(workspace_id=workspace.pk, **filters)


# What a list item (contract §3 PhoneNumber) reads of a number.
_LISTED_FIELDS = (
    "id",
    "phone_number_uuid",
    "source",
    "country_code",
    "type",
    "location",
    "status",
    "compliance_status",
    "compliance_requirements",
    "voice_capable",
    "sms_capable",
    "mms_capable",
    "fax_capable",
    "emergency_capable",
    "local_calling_capable",
    "channel_settings",
    "monthly_fee",
    "currency",
    "purchased_at",
    "updated_at",
)


class ListedNumber(namedtuple("ListedNumber", [*_LISTED_FIELDS, "e164", "bound_agents"])):
    """One number of a list page with `bound_agents` ({channel: (agent uuid, agent name)}): what
    `phone_number_repr` reads, as a row (no model instance, the number not parsed again)."""

    __slots__ = ()


def _listed_numbers_query(**filters: Any) -> QuerySet:
    return (
        _numbers_query(**filters)
        .annotate(e164=ExpressionWrapper(F("number"), output_field=CharField()))
        .values_list(*_LISTED_FIELDS, "e164")
    )


def _listed_agents_query(*, number_ids: list[int]) -> QuerySet:
    """The agents bound to the numbers of a page."""
    return (
        ChannelBinding.objects.filter(phone_number_id__in=number_ids)
        .order_by()
        .values_list("phone_number_id", "channel", "agent__agent_uuid", "agent__name")
    )


def _numbers_counted_query(*, workspace_id: int, source: str = "") -> QuerySet:
    counts = InventoryCount.objects.filter(workspace_id=workspace_id)
    if source:
        counts = counts.filter(source=source)
    return counts.order_by().values_list("numbers")


_LISTED_NUMBERS = CompiledQuery(_listed_numbers_query)
_LISTED_AGENTS = CompiledQuery(_listed_agents_query)
_NUMBERS_COUNTED = CompiledQuery(_numbers_counted_query)


# Numbers whose agents one query asks for: the largest API page (a listing read whole takes more).
_AGENTS_PER_QUERY = 100


class NumberListing:
    """The workspace's numbers, filtered, as the API lists them: `count()` and slices of
    ListedNumber, each slice two compiled queries (the page, then the agents of its numbers).

    Unfiltered, or by source only, `count()` adds up the inventory counters (a few rows,
    whatever the inventory's size); other filters count their matching rows.
    """

    def __init__(self, *, workspace_id: int, filters: dict[str, Any]) -> None:
        self.workspace_id = workspace_id
        self.filters = filters

    def count(self) -> int:
        if set(self.filters) <= {"source"}:
            return _numbers_counted(workspace_id=self.workspace_id, source=self.filters.get("source"))
        return _numbers_query(workspace_id=self.workspace_id, **self.filters).count()

    def __getitem__(self, page: slice) -> list[ListedNumber]:
        if not isinstance(page, slice) or page.step is not None:
            raise TypeError("NumberListing takes slices only.")
        offset = page.start or 0
        limit = None if page.stop is None else max(0, page.stop - offset)
        if limit == 0:
            return []
        rows = _LISTED_NUMBERS.rows(workspace_id=self.workspace_id, limit=limit, offset=offset, **self.filters)
        if not rows:
            return []
        bound: dict[int, dict[str, tuple[Any, str]]] = {row[0]: {} for row in rows}
        # One query for a page (at most 100 numbers). A short page repeats its last number up to
        # the page size: one plan, and one prepared statement, per page size, not per row count.
        width = min(limit or _AGENTS_PER_QUERY, _AGENTS_PER_QUERY)
        number_ids = [row[0] for row in rows]
        for start in range(0, len(number_ids), width):
            chunk = number_ids[start : start + width]
            chunk += chunk[-1:] * (width - len(chunk))
            for number_id, channel, agent_uuid, agent_name in _LISTED_AGENTS.rows(number_ids=chunk):
                bound[number_id][channel] = (agent_uuid, agent_name)
        return [ListedNumber._make([*row, bound[row[0]]]) for row in rows]

    def __iter__(self):
        return iter(self[0:None])


def trunk_list(*, workspace: Workspace, **filters: Any) -> NumberListing:
    """External numbers only (GET /phone-numbers/trunks)."""
    filters.pop("source", None)
    return number_list(workspace=workspace, source=Source.EXTERNAL, **filters)


def _number_for_snapshot() -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.prefetch_related(_bindings_for_snapshot())


def _set_prefetched(instance: Any, related_name: str, rows: list) -> None:
    """Make `instance.<related_name>.all()` answer `rows`, fetched already, as prefetch_related
    would (Django's prefetch machinery costs more than the query it runs on a single object)."""
    queryset = getattr(instance, related_name).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[related_name] = queryset


def _snapshot_number(**lookup: Any) -> PhoneNumber | None:
    """The number matching `lookup` with what its snapshot needs, in one query when it is bound:
    its bindings, each joined to the number (unique index) and to its agent. A number without a
    binding costs a second, plain query. Username and password are not loaded; whether they are
    set is annotated."""
    bindings = list(
        ChannelBinding.objects.select_related("phone_number", "agent")
        .defer(*_SECRET_DEFER)
        .annotate(**_credential_flags())
        .filter(**{f"phone_number__{field}": value for field, value in lookup.items()})
        .order_by()
    )
    if bindings:
        number = bindings[0].phone_number
        for binding in bindings:
            binding.phone_number = number
    else:
        number = PhoneNumber.objects.filter(**lookup).order_by().first()
        if number is None:
            return None
    _set_prefetched(number, "bindings", bindings)
    return number


# --- the Snapshot on the hot path: compiled queries (channels_app/compiled.py) ----------------------

# What `snapshot()` reads, in the models' field order (`Model.from_db` wants that order).
_LEAN_NUMBER_FIELDS = tuple(
    field.attname
    for field in PhoneNumber._meta.concrete_fields
    if field.attname
    in {
        "id",
        "phone_number_uuid",
        "workspace_id",
        "number",
        "source",
        "voice_capable",
        "sms_capable",
        "channel_settings",
    }
)
_LEAN_BINDING_FIELDS = tuple(
    field.attname
    for field in ChannelBinding._meta.concrete_fields
    if field.attname not in {*_SECRET_DEFER, "health_check_started_at"}
)
_LEAN_AGENT_FIELDS = ("id", "agent_uuid", "name")
_LEAN_FLAGS = ("has_username", "has_password")


def _lean_bindings_query(**lookup: Any) -> QuerySet:
    return (
        ChannelBinding.objects.filter(**{f"phone_number__{field}": value for field, value in lookup.items()})
        .annotate(**{name: expression for name, expression in _credential_flags().items() if name in _LEAN_FLAGS})
        .order_by()
        .values_list(
            *_LEAN_BINDING_FIELDS,
            *(f"phone_number__{name}" for name in _LEAN_NUMBER_FIELDS),
            *(f"agent__{name}" for name in _LEAN_AGENT_FIELDS),
            *_LEAN_FLAGS,
        )
    )


def _lean_number_query(**lookup: Any) -> QuerySet:
    return PhoneNumber.objects.filter(**lookup).order_by().values_list(*_LEAN_NUMBER_FIELDS)


_LEAN_BINDINGS = CompiledQuery(_lean_bindings_query)
_LEAN_NUMBER = CompiledQuery(_lean_number_query)


def _lean_snapshot_number(**lookup: Any) -> PhoneNumber | None:
    """`_snapshot_number` for the Snapshot only, from compiled queries: the number and its
    bindings hold the columns `snapshot()` reads and no more (a number fit for nothing else).

    `lookup` values are ints, UUIDs or E.164 strings (see CompiledQuery).
    """
    rows = _LEAN_BINDINGS.rows(**lookup)
    if not rows:
        found = _LEAN_NUMBER.rows(**lookup)
        if not found:
            return None
        number = PhoneNumber.from_db("default", _LEAN_NUMBER_FIELDS, found[0])
        number.snapshot_bindings = []
        return number
    binding_end = len(_LEAN_BINDING_FIELDS)
    number_end = binding_end + len(_LEAN_NUMBER_FIELDS)
    agent_end = number_end + len(_LEAN_AGENT_FIELDS)
    number = PhoneNumber.from_db("default", _LEAN_NUMBER_FIELDS, rows[0][binding_end:number_end])
    bindings = []
    for row in rows:
        binding = ChannelBinding.from_db("default", _LEAN_BINDING_FIELDS, row[:binding_end])
        binding.phone_number = number
        binding.agent = Agent.from_db("default", _LEAN_AGENT_FIELDS, row[number_end:agent_end])
        binding.has_username, binding.has_password = row[agent_end:]
        bindings.append(binding)
    number.snapshot_bindings = bindings  # read by _binding_map; nothing else reads a lean number
    return number


def snapshot_get(*, workspace: Workspace, phone_number_uuid: Any = None, number: Any = None) -> dict[str, Any]:
    """The Snapshot of one number of the workspace, named by its uuid or by the number in any
    spelling of rule 13 (unparseable: a validation error on `number`). One query for a bound
    number, reading only the columns the Snapshot shows: the lookup on every inbound call."""
    if number is not None:
        e164 = numbers.parse_field(number, field="number")
        found = _lean_snapshot_number(workspace_id=workspace.pk, number=e164)
    else:
        try:
            key = uuid.UUID(str(phone_number_uuid))
        except ValueError as exc:
            raise phone_number_not_found() from exc
        found = _lean_snapshot_number(workspace_id=workspace.pk, phone_number_uuid=key)
    if found is None:
        raise phone_number_not_found()
    return snapshot(found)


def number_get(*, workspace: Workspace, phone_number_uuid: Any, for_snapshot: bool = True) -> PhoneNumber:
    try:
        key = uuid.UUID(str(phone_number_uuid))
    except ValueError as exc:
        raise phone_number_not_found() from exc
    if for_snapshot:
        number = _snapshot_number(workspace=workspace, phone_number_uuid=key)
    else:
        number = (
            PhoneNumber.objects.prefetch_related(_bindings_for_list())
            .filter(workspace=workspace, phone_number_uuid=key)
            .first()
        )
    if number is None:
        raise phone_number_not_found()
    return number


def number_get_by_number(*, workspace: Workspace, number: Any) -> PhoneNumber:
    """Look a number up in any spelling of rule 13 (an unparseable one is a validation error)."""
    e164 = numbers.parse_field(number, field="number")
    found = _snapshot_number(workspace=workspace, number=e164)
    if found is None:
        raise phone_number_not_found()
    return found


def number_refetch(number: PhoneNumber | None) -> PhoneNumber | None:
    """Reload a number written by a service with what its Snapshot needs, and no more (1 query
    when bound): the number is fit for `snapshot()` only."""
    if number is None:
        return None
    return _lean_snapshot_number(pk=number.pk)


def number_get_for_write(*, workspace: Workspace, number: Any) -> PhoneNumber | None:
    """The workspace's number (any spelling of rule 13), row-locked until the transaction ends,
    with what its snapshot needs: a conditional write (If-Match) compares and writes one state.

    None when the spelling is invalid or the number is not this workspace's: the write that
    follows reports that with its own error.
    """
    try:
        e164 = numbers.to_e164(number)
    except numbers.InvalidNumber:
        return None
    return _number_for_snapshot().select_for_update().filter(workspace=workspace, number=e164).first()


def _credential_flags() -> dict[str, ExpressionWrapper]:
    """Whether each credential is set, from NULL-ness in SQL: nothing is decrypted."""
    return {
        f"has_{name}": ExpressionWrapper(Q(**{f"sip_{name}__isnull": False}), output_field=BooleanField())
        for name in ("gateway", "username", "password")
    }


def number_list_with_trunks(*, workspace: Workspace, **filters: Any) -> QuerySet[PhoneNumber]:
    """`number_list` whose bindings also carry each trunk's name and direction and whether its
    gateway, username and password are set (the self-serve numbers page). Loads no encrypted column.
    """
    overview = Prefetch(
        "bindings",
        queryset=ChannelBinding.objects.select_related("agent")
        .only("id", "phone_number_id", "channel", "is_trunk", "name", "direction", "agent__agent_uuid", "agent__name")
        .annotate(**_credential_flags()),
    )
    filters = {"source": None, "channel": None, "agent_uuid": None, "search": None, **filters}
    qs = _numbers_filtered(workspace=workspace, **filters).prefetch_related(overview)
    return _with_total(qs, workspace=workspace, **filters)


def binding_get(*, workspace: Workspace, phone_number_uuid: Any, channel: Any) -> ChannelBinding:
    """The (number, channel) binding of the workspace, with its number and agent.

    Username and password are not loaded; `has_username` / `has_password` say whether they are set.
    Unknown, malformed or another workspace's: the same NotFound.
    """
    try:
        key = uuid.UUID(str(phone_number_uuid))
    except ValueError as exc:
        raise NotFound("NOT_FOUND", "Binding") from exc
    if channel not in Channel.values:
        raise NotFound("NOT_FOUND", "Binding")
    binding = (
        ChannelBinding.objects.select_related("phone_number", "agent")
        .defer(*_SECRET_DEFER)
        .annotate(**_credential_flags())
        .filter(workspace=workspace, phone_number__workspace=workspace, phone_number__phone_number_uuid=key)
        .filter(channel=channel)
        .first()
    )
    if binding is None:
        raise NotFound("NOT_FOUND", "Binding")
    return binding


def call_trunks_for_check(*, workspace: Workspace | None = None) -> QuerySet[ChannelBinding]:
    """Every call trunk (of one workspace, or of all), for `check_trunks`; `has_gateway` is annotated.

    Loads no encrypted column: the check service reads what it needs itself.
    """
    qs = ChannelBinding.objects.filter(channel=Channel.CALL, is_trunk=True)
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    return (
        qs.select_related("workspace", "phone_number")
        .only("id", "uuid", "channel", "workspace__id", "workspace__slug", "phone_number__number")
        .annotate(has_gateway=ExpressionWrapper(Q(sip_gateway__isnull=False), output_field=BooleanField()))
        .order_by("workspace__slug", "phone_number__number")
    )


# --- representations ----------------------------------------------------------------------------


def _binding_map(number: PhoneNumber) -> dict[str, ChannelBinding]:
    bindings = getattr(number, "snapshot_bindings", None)  # a lean number (see _snapshot_number)
    return {binding.channel: binding for binding in (number.bindings.all() if bindings is None else bindings)}


def _agent_fields(binding: ChannelBinding | None) -> dict[str, Any]:
    if binding is None:
        return {"bound": False, "agent_uuid": None, "agent_name": None}
    return {"bound": True, "agent_uuid": str(binding.agent.agent_uuid), "agent_name": binding.agent.name}


def _bound_fields(agent: tuple[Any, str] | None) -> dict[str, Any]:
    if agent is None:
        return {"bound": False, "agent_uuid": None, "agent_name": None}
    return {"bound": True, "agent_uuid": str(agent[0]), "agent_name": agent[1]}


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def trunk_repr(binding: ChannelBinding | None) -> dict[str, Any] | None:
    """The `trunk` block: never the username or password, only whether they are set."""
    if binding is None or not binding.is_trunk:
        return None
    sip = None
    if binding.channel == Channel.CALL:
        has_username = getattr(binding, "has_username", None)
        has_password = getattr(binding, "has_password", None)
        if has_username is None:  # not annotated: loaded whole by a service
            has_username, has_password = bool(binding.sip_username), bool(binding.sip_password)
        sip = {
            "gateway": binding.sip_gateway,
            "port": binding.effective_port,
            "secondary_gateway": binding.sip_secondary_gateway,
            "has_username": bool(has_username),
            "has_password": bool(has_password),
            "credentials_updated_at": _iso(binding.credentials_updated_at),
        }
    return {
        "name": binding.name,
        "direction": binding.direction if binding.channel == Channel.CALL else None,
        "sip": sip,
        "health": health_repr(binding) if binding.channel == Channel.CALL else None,
        "additional_settings": binding.additional_settings or {},
        "created_at": _iso(binding.created_at),
        "updated_at": _iso(binding.updated_at),
    }


# What each gateway's entry of the `health` block shows (the stored details hold a little more).
HEALTH_GATEWAY_KEYS = ("role", "host", "port", "address", "status", "status_line", "rtt_ms", "register", "message")


def health_repr(binding: ChannelBinding) -> dict[str, Any] | None:
    """The last trunk check of a call trunk (docs/sip-check.md); None when never checked."""
    if binding.health_status is None:
        return None
    gateways = (binding.health_details or {}).get("gateways", [])
    return {
        "status": binding.health_status,
        "checked_at": _iso(binding.health_checked_at),
        "gateways": [{key: gateway.get(key) for key in HEALTH_GATEWAY_KEYS} for gateway in gateways],
    }


def snapshot(number: PhoneNumber) -> dict[str, Any]:
    """Contract §3 Snapshot: what the carrier supports, what is enabled, which agent is wired up."""
    bindings = _binding_map(number)
    cs = settings_doc.normalised(number.channel_settings)
    call, sms, whatsapp = (bindings.get(c) for c in CHANNELS)
    return {
        "phone_number_uuid": str(number.phone_number_uuid),
        "number": number.e164,
        "is_external": number.is_external,
        "source": number.source,
        "channels": {
            "call": {
                "capable": number.voice_capable,
                **cs["voice"],
                **_agent_fields(call),
                "trunk": trunk_repr(call),
            },
            "sms": {"capable": number.sms_capable, **cs["sms"], **_agent_fields(sms)},
            "whatsapp": {**_agent_fields(whatsapp), "trunk": trunk_repr(whatsapp)},
            "inbound": cs["inbound"],
        },
    }


def phone_number_repr(number: PhoneNumber) -> dict[str, Any]:
    """Contract §3 PhoneNumber (list items)."""
    bound = getattr(number, "bound_agents", None)  # a ListedNumber
    if bound is None:
        bound = {channel: (b.agent.agent_uuid, b.agent.name) for channel, b in _binding_map(number).items()}
    return {
        "phone_number_uuid": str(number.phone_number_uuid),
        "number": number.e164,
        "country_code": number.country_code,
        "location": number.location,
        "type": number.type,
        "is_external": number.source == Source.EXTERNAL,
        "source": number.source,
        "status": number.status,
        "compliance": {"status": number.compliance_status, "requirements": list(number.compliance_requirements or [])},
        "capabilities": {
            "voice": number.voice_capable,
            "sms": number.sms_capable,
            "mms": number.mms_capable,
            "fax": number.fax_capable,
            "emergency": number.emergency_capable,
            "local_calling": number.local_calling_capable,
        },
        "channel_settings": settings_doc.normalised(number.channel_settings),
        "billing": {"monthly_fee": float(number.monthly_fee), "currency": number.currency},
        "bindings": {channel: _bound_fields(bound.get(channel)) for channel in CHANNELS},
        "purchased_at": _iso(number.purchased_at),
        "updated_at": _iso(number.updated_at),
    }


def agent_repr(agent: Agent) -> dict[str, Any]:
    return {
        "agent_uuid": str(agent.agent_uuid),
        "name": agent.name,
        "status": agent.status,
        "created_at": _iso(agent.created_at),
    }


# --- audit trail -----------------------------------------------------------------------------------

_ACTION_BY_TYPE = {"+": "created", "~": "updated", "-": "deleted"}
_HIDDEN_IN_CHANGES = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "door",
    "actor_label",
    "action",
    "secrets_changed",
    "id",
    "created_at",
    "updated_at",
    "workspace",
    "phone_number",
    "uuid",
    "phone_number_uuid",
    "is_trunk",
    "credentials_updated_at",
}


def _changes(record, previous) -> dict[str, Any]:
    """What this history row changed against the previous row of the same object.

    Username and password are not in history at all; their change is recorded by name only.
    """
    if record.history_type == "-":
        return {}
    changes: dict[str, Any] = {}
    for field in record._meta.concrete_fields:
        if field.name in _HIDDEN_IN_CHANGES:
            continue
        new = getattr(record, field.attname)
        old = getattr(previous, field.attname) if previous is not None else None
        if new == old or (previous is None and new in (None, "", [], {})):
            continue
        if field.name == "agent":
            # History keeps the agent's id only: an agent deleted since reads as null, not a crash.
            try:
                agent = record.agent if record.agent_id else None
            except Agent.DoesNotExist:  # read without select_related
                agent = None
            changes["agent_uuid"] = str(agent.agent_uuid) if agent is not None else None
        elif isinstance(new, (str, int, float, bool, list, dict, type(None))):
            changes[fieldpaths.path_of_model_field(field.name)] = new
        else:
            changes[fieldpaths.path_of_model_field(field.name)] = str(new)
    for secret in record.secrets_changed or []:
        changes[fieldpaths.path_of_model_field(secret)] = "changed"
    return changes


@dataclasses.dataclass(frozen=True)
class Event:
    """One change in the audit trail (GET /phone-numbers/{uuid}/events, the activity pages)."""

    at: datetime
    actor: str | None
    door: str | None
    action: str
    channel: str | None
    changes: dict[str, Any]  # field path -> new value; secrets only as "changed"
    order: tuple[datetime, int] = dataclasses.field(repr=False, compare=False)


def _events(records, *, key: str = "id") -> list[Event]:
    """History rows (oldest first) as events, each compared with the previous row of its object."""
    events = []
    previous_by_object: dict[int, Any] = {}
    for record in records:
        object_id = getattr(record, key)
        events.append(
            Event(
                at=record.history_date,
                actor=record.actor_label or (record.history_user.get_username() if record.history_user_id else None),
                door=record.door or None,
                action=record.action or _ACTION_BY_TYPE[record.history_type],
                channel=getattr(record, "channel", None),
                changes=_changes(record, previous_by_object.get(object_id)),
                order=(record.history_date, record.history_id),
            )
        )
        previous_by_object[object_id] = record
    return events


def number_events(*, number: PhoneNumber) -> list[Event]:
    """The audit trail of a number and its bindings, newest first (two queries)."""
    number_history = PhoneNumber.history.filter(id=number.pk).select_related("history_user")
    binding_history = ChannelBinding.history.filter(phone_number_id=number.pk).select_related("history_user", "agent")
    events = [
        *_events(number_history.order_by("history_date", "history_id")),
        *_events(binding_history.order_by("history_date", "history_id")),
    ]
    return sorted(events, key=lambda event: event.order, reverse=True)


# --- tokens -------------------------------------------------------------------------------------


def token_list(*, workspace: Workspace) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def token_get(*, workspace: Workspace, token_uuid: Any) -> ApiToken:
    """One token of the workspace (revoked and expired included); anything else is NotFound."""
    try:
        key = uuid.UUID(str(token_uuid))
    except ValueError as exc:
        raise NotFound("NOT_FOUND", "Token") from exc
    token = ApiToken.objects.filter(workspace=workspace, uuid=key).select_related("created_by").first()
    if token is None:
        raise NotFound("NOT_FOUND", "Token")
    return token


def token_events(*, token: ApiToken) -> list[Event]:
    """The audit trail of one API token, newest first (one query).

    The hash is not in history; the plaintext never existed outside the creating response.
    """
    history = ApiToken.history.filter(id=token.pk).select_related("history_user")
    return _events(history.order_by("history_date", "history_id"))[::-1]


def token_by_secret(raw: str) -> ApiToken | None:
    """The active token for a presented secret, or None. A malformed one costs no query."""
    if not tokens.is_well_formed(raw):
        return None
    # The hash is unique: no ORDER BY (first() would sort by the model's ordering).
    found = ApiToken.objects.select_related("workspace").filter(
        token_hash=tokens.hash_token(raw), revoked_at__isnull=True
    )
    token = next(iter(found.order_by()[:1]), None)
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    return token
