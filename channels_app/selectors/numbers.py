"""The inventory: a workspace's numbers and their bindings, one function per question.

Another workspace's number is the same NotFound as a missing one. No read loads a SIP username or
password: whether one is set is annotated from NULL-ness in SQL. A number read with its bindings
carries them as `number.channel_bindings` (`Prefetch(..., to_attr=...)`), which
`PhoneNumber.binding(channel)` reads.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Prefetch, Q, QuerySet, Sum

from channels_app import numbers
from channels_app.errors import NotFound, ValidationFailed, phone_number_not_found
from channels_app.models import Channel, ChannelBinding, InventoryCount, PhoneNumber, Source, Workspace

BINDINGS_ATTR = "channel_bindings"
SECRETS = ("sip_username", "sip_password")
# What a list shows of each binding: its agent and kind, never an encrypted column.
_LISTED_BINDING_FIELDS = (
    "id",
    "phone_number_id",
    "channel",
    "is_trunk",
    "name",
    "direction",
    "health_status",
    "health_checked_at",
    "agent__agent_uuid",
    "agent__name",
    "agent__status",
)


def credential_flags() -> dict[str, ExpressionWrapper]:
    """`has_gateway`, `has_username`, `has_password` from NULL-ness in SQL: nothing is decrypted."""
    return {
        f"has_{name}": ExpressionWrapper(Q(**{f"sip_{name}__isnull": False}), output_field=BooleanField())
        for name in ("gateway", "username", "password")
    }


def snapshot_bindings() -> QuerySet[ChannelBinding]:
    """Bindings as a Snapshot shows them: with the agent, gateway and port (decrypted) and the
    credential flags; never the username or password."""
    return (
        ChannelBinding.objects.select_related("agent")
        .defer(*SECRETS, "health_check_started_at")
        .annotate(**credential_flags())
        .order_by()
    )


def listed_bindings() -> QuerySet[ChannelBinding]:
    """Bindings as a list shows them: agent and kind, and no encrypted column but its NULL-ness."""
    bindings = ChannelBinding.objects.select_related("agent").only(*_LISTED_BINDING_FIELDS)
    return bindings.annotate(**credential_flags()).order_by()


def _with_bindings(bindings: QuerySet[ChannelBinding]) -> Prefetch:
    return Prefetch("bindings", queryset=bindings, to_attr=BINDINGS_ATTR)


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise phone_number_not_found() from exc


# --- one number ----------------------------------------------------------------------------------


def number_get(
    *, workspace: Workspace, phone_number_uuid: Any = None, number: Any = None, lock: bool = False
) -> PhoneNumber:
    """One number of the workspace with its bindings and their agents: what its Snapshot shows.

    Named by its uuid, or by the number in any spelling (`any-spelling`) (an unparseable spelling is a
    VALIDATION_ERROR on `number`). `lock=True` row-locks the number until the transaction ends,
    so that a conditional write (If-Match) compares and writes one state. PHONE_NUMBER_NOT_FOUND
    when it is not this workspace's.
    """
    if phone_number_uuid is None:
        lookup = {"number": numbers.parse_field(number, field="number")}
    else:
        lookup = {"phone_number_uuid": _uuid(phone_number_uuid)}
    found = PhoneNumber.objects.filter(workspace=workspace, **lookup)
    if lock:
        found = found.select_for_update()
    found = found.prefetch_related(_with_bindings(snapshot_bindings())).order_by().first()
    if found is None:
        raise phone_number_not_found()
    return found


def binding_get(*, workspace: Workspace, phone_number_uuid: Any, channel: Any) -> ChannelBinding:
    """The (number, channel) binding of the workspace, with its number and agent, and the number's
    other bindings (`binding.phone_number.channel_bindings`). No username or password is loaded.
    Unknown, malformed or another workspace's: the same NotFound."""
    try:
        key = _uuid(phone_number_uuid)
    except NotFound as exc:
        raise NotFound("NOT_FOUND", "Binding") from exc
    if channel not in Channel.values:
        raise NotFound("NOT_FOUND", "Binding")
    number = PhoneNumber.objects.filter(workspace=workspace, phone_number_uuid=key).prefetch_related(
        _with_bindings(snapshot_bindings())
    )
    found = number.order_by().first()
    binding = found.binding(channel) if found is not None else None
    if binding is None:
        raise NotFound("NOT_FOUND", "Binding")
    binding.phone_number = found
    return binding


# --- lists ---------------------------------------------------------------------------------------


def _list_filters(*, source: Any, channel: Any, agent_uuid: Any, search: Any) -> Q:
    """The list filters given, checked (bad filters: 422), as one condition on numbers.

    `channel` and `agent_uuid` are about one binding: with both, the agent's binding on that
    channel. They are asked with EXISTS, so a number is listed once however many bindings match.
    """
    errors: dict[str, list[str]] = {}
    condition = Q()
    bound: dict[str, Any] = {}
    if source:
        if source in Source.values:
            condition &= Q(source=source)
        else:
            errors["source"] = [f"Must be one of: {', '.join(Source.values)}."]
    if channel:
        if channel in Channel.values:
            bound["channel"] = channel
        else:
            errors["channel"] = [f"Must be one of: {', '.join(Channel.values)}."]
    if agent_uuid:
        try:
            bound["agent__agent_uuid"] = uuid.UUID(str(agent_uuid))
        except ValueError:
            errors["agent_uuid"] = ["Must be a UUID."]
    if search:
        digits = numbers.search_digits(search)
        if digits:
            condition &= Q(number__contains=digits)
        else:
            errors["search"] = ["Search by the digits of the number."]
    if errors:
        raise ValidationFailed(errors)
    if bound:
        condition &= Q(Exists(ChannelBinding.objects.filter(phone_number=OuterRef("pk"), **bound)))
    return condition


def number_list(
    *,
    workspace: Workspace,
    source: str | None = None,
    channel: str | None = None,
    agent_uuid: Any = None,
    search: str | None = None,
) -> QuerySet[PhoneNumber]:
    """The workspace's numbers in number order, filtered, each with its bindings' agents and kinds
    (trunk name, direction, credential flags, last check): the API lists and the numbers page."""
    condition = _list_filters(source=source, channel=channel, agent_uuid=agent_uuid, search=search)
    listed = PhoneNumber.objects.filter(condition, workspace=workspace)
    return listed.order_by("number").prefetch_related(_with_bindings(listed_bindings()))


def number_count(*, workspace: Workspace, source: str | None = None) -> int:
    """How many numbers the workspace holds (of one source), from the counters the database keeps
    (InventoryCount, migration 0004): a few rows to add up, whatever the inventory's size."""
    counts = InventoryCount.objects.filter(workspace=workspace)
    if source:
        counts = counts.filter(source=source)
    return counts.aggregate(total=Sum("numbers"))["total"] or 0


def number_list_count(
    *,
    workspace: Workspace,
    source: str | None = None,
    channel: str | None = None,
    agent_uuid: Any = None,
    search: str | None = None,
) -> int:
    """How many numbers `number_list` answers for these filters: from the counters when only the
    source filters (a cost that does not grow with the inventory), else by counting the matches."""
    if not (channel or agent_uuid or search):
        _list_filters(source=source, channel=None, agent_uuid=None, search=None)
        return number_count(workspace=workspace, source=source)
    return number_list(
        workspace=workspace, source=source, channel=channel, agent_uuid=agent_uuid, search=search
    ).count()


def trunk_list(*, workspace: Workspace, **filters: Any) -> QuerySet[PhoneNumber]:
    """External numbers only (GET /phone-numbers/trunks)."""
    return number_list(workspace=workspace, **{**filters, "source": Source.EXTERNAL})


def call_trunks_for_check(*, workspace: Workspace | None = None) -> QuerySet[ChannelBinding]:
    """Every call trunk (of one workspace, or of all), for `check_trunks`, with `has_gateway`.

    Loads no encrypted column: the check service reads what it needs itself.
    """
    trunks = ChannelBinding.objects.filter(channel=Channel.CALL, is_trunk=True)
    if workspace is not None:
        trunks = trunks.filter(workspace=workspace)
    return (
        trunks.select_related("workspace", "phone_number")
        .only("id", "uuid", "channel", "workspace__id", "workspace__slug", "phone_number__number")
        .annotate(has_gateway=credential_flags()["has_gateway"])
        .order_by("workspace__slug", "phone_number__number")
    )
