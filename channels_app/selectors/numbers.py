"""The inventory: a workspace's numbers and their bindings, one function per question.

Another workspace's number is the same NotFound as a missing one. No read loads a SIP username or
password: whether one is set is asked as `IS NOT NULL`. A number read with its bindings carries
them as `number.channel_bindings`, which `PhoneNumber.binding(channel)` reads. The snapshot and
the list pages are read with explicit SQL (channels_app/selectors/sql.py); the rest with the ORM.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from channels_app import numbers
from channels_app.errors import NotFound, ValidationFailed, phone_number_not_found
from channels_app.models import Channel, ChannelBinding, PhoneNumber, Source, Workspace
from channels_app.selectors.sql import NumberListing, number_with_bindings


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise phone_number_not_found() from exc


def number_get(
    *, workspace: Workspace, phone_number_uuid: Any = None, number: Any = None, lock: bool = False
) -> PhoneNumber:
    """One number of the workspace with its bindings and their agents: what its Snapshot shows.

    Named by its uuid, or by the number in any spelling (`any-spelling`; an unparseable spelling
    is a VALIDATION_ERROR on `number`). `lock=True` row-locks the number until the transaction
    ends, so that a conditional write (If-Match) compares and writes one state.
    PHONE_NUMBER_NOT_FOUND when it is not this workspace's.
    """
    if phone_number_uuid is None:
        key, value = "number", numbers.parse_field(number, field="number", region=workspace.default_region)
    else:
        key, value = "phone_number_uuid", _uuid(phone_number_uuid)
    found = number_with_bindings(workspace_id=workspace.pk, key=key, value=value, lock=lock)
    if found is None:
        raise phone_number_not_found()
    return found


def binding_get(*, workspace: Workspace, phone_number_uuid: Any, channel: Any) -> ChannelBinding:
    """The (number, channel) binding of the workspace, with its number and agent, and the number's
    other bindings (`binding.phone_number.channel_bindings`). No username or password is loaded.
    Unknown, malformed or another workspace's: the same NotFound."""
    try:
        number = number_get(workspace=workspace, phone_number_uuid=phone_number_uuid)
    except NotFound as exc:
        raise NotFound("NOT_FOUND", "Binding") from exc
    binding = number.binding(channel) if channel in Channel.values else None
    if binding is None:
        raise NotFound("NOT_FOUND", "Binding")
    return binding


def number_list(
    *,
    workspace: Workspace,
    source: str | None = None,
    channel: str | None = None,
    agent_uuid: Any = None,
    search: str | None = None,
) -> NumberListing:
    """The workspace's numbers in number order, filtered (bad filters: 422), each with its
    bindings' agents and kinds (trunk name, direction, credential flags, last check): the API
    lists and the numbers page. Read a page at a time: `listing[start:stop]`, `listing.count()`.

    `channel` and `agent_uuid` are about one binding: with both, the agent's binding on that
    channel. A number is listed once however many of its bindings match.
    """
    errors: dict[str, list[str]] = {}
    if source and source not in Source.values:
        errors["source"] = [f"Must be one of: {', '.join(Source.values)}."]
    if channel and channel not in Channel.values:
        errors["channel"] = [f"Must be one of: {', '.join(Channel.values)}."]
    agent_key = None
    if agent_uuid:
        try:
            agent_key = uuid.UUID(str(agent_uuid))
        except ValueError:
            errors["agent_uuid"] = ["Must be a UUID."]
    digits = numbers.search_digits(search) if search else ""
    if digits and workspace.default_region:
        # `default-region`: "020 7183 8750" in a GB workspace finds +44 20 7183 8750.
        with suppress(numbers.InvalidNumber):
            digits = numbers.to_e164(search, workspace.default_region)[1:]
    if search and not digits:
        errors["search"] = ["Search by the digits of the number."]
    if errors:
        raise ValidationFailed(errors)
    return NumberListing(
        workspace_id=workspace.pk, source=source or "", channel=channel or "", agent_uuid=agent_key, digits=digits
    )


def trunk_list(*, workspace: Workspace, **filters: Any) -> NumberListing:
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
        .annotate(has_gateway=ExpressionWrapper(Q(sip_gateway__isnull=False), output_field=BooleanField()))
        .order_by("workspace__slug", "phone_number__number")
    )


def whatsapp_trunks_for_check(*, workspace: Workspace | None = None) -> QuerySet[ChannelBinding]:
    """Every WhatsApp trunk (of one workspace, or of all), for `check_trunks`, with `has_line`
    (a phone number id and an access token are set). Loads no encrypted column."""
    trunks = ChannelBinding.objects.filter(channel=Channel.WHATSAPP, is_trunk=True)
    if workspace is not None:
        trunks = trunks.filter(workspace=workspace)
    return (
        trunks.select_related("workspace", "phone_number")
        .only("id", "uuid", "channel", "workspace__id", "workspace__slug", "phone_number__number")
        .annotate(
            has_line=ExpressionWrapper(
                Q(wa_phone_number_id__isnull=False, wa_access_token__isnull=False), output_field=BooleanField()
            )
        )
        .order_by("workspace__slug", "phone_number__number")
    )
