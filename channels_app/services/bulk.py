"""Many trunks at once (the CSV import): each row answered as `trunk_register` would answer it.

A row whose success is certain from what is loaded up front (its input is valid, its number is new
to the installation and to the rows before it, its agent is free on the channel) waits in a batch
that is inserted with simple-history's `bulk_create_with_history`; every other row goes through
`trunk_register` itself, after the waiting rows are written, so its outcome and message are
exactly the single-row ones.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from channels_app.audit import Actor, acting_user, audit_columns, current_actor
from channels_app.errors import DomainError
from channels_app.models import SECRET_FIELDS, Agent, ChannelBinding, PhoneNumber, Workspace
from channels_app.routing import blocks
from channels_app.services.base import UNSET, parse_uuid, write_service
from channels_app.services.trunks import new_external_number, new_trunk, register_input, trunk_register

BATCH_SIZE = 500
_REGISTER_INPUT = ("phone_number", "channel", "name", "direction", "sip", "additional_settings", "whatsapp")


def _in_chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + BATCH_SIZE] for start in range(0, len(values), BATCH_SIZE)]


def _agents_by_uuid(workspace: Workspace, keys: set[uuid.UUID]) -> dict[uuid.UUID, Agent]:
    agents: dict[uuid.UUID, Agent] = {}
    for chunk in _in_chunks(sorted(keys)):
        agents.update(
            (agent.agent_uuid, agent) for agent in Agent.objects.filter(workspace=workspace, agent_uuid__in=chunk)
        )
    return agents


def _insert_with_history(numbers: list[PhoneNumber], bindings: list[ChannelBinding]) -> None:
    """The rows and one audit record each, as `save()` would write them: the audit columns of
    the current actor; bindings grouped by the secrets they set (recorded by name only)."""
    user, when = acting_user(current_actor()), timezone.now()
    history = {"default_user": user, "default_date": when, "batch_size": BATCH_SIZE}
    bulk_create_with_history(
        numbers, PhoneNumber, custom_historical_attrs=audit_columns(action="registered"), **history
    )
    by_secrets: dict[tuple[str, ...], list[ChannelBinding]] = defaultdict(list)
    for binding in bindings:
        by_secrets[tuple(field for field in SECRET_FIELDS if getattr(binding, field))].append(binding)
    for secrets, group in by_secrets.items():
        columns = audit_columns(action="registered", secrets_changed=list(secrets))
        created = bulk_create_with_history(group, ChannelBinding, custom_historical_attrs=columns, **history)
        blocks.store_new(created)


def _whatsapp_id(entry: tuple[str, str, dict[str, Any], Any]) -> str | None:
    """The WhatsApp phone number id a prepared row connects, if any."""
    return (entry[2].get("whatsapp") or {}).get("wa_phone_number_id")


@write_service
def trunk_register_many(
    *,
    workspace: Workspace,
    actor: Actor,
    rows: list[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> list[ChannelBinding | DomainError]:
    """For each row (trunk_register's keyword arguments), in order, what trunk_register would
    answer given the rows before it: the new binding or the DomainError it raises.

    If a concurrent request takes a number or an agent before a batch is inserted, the batch's
    rows are registered one by one instead.
    """
    prepared: list[tuple[str, str, dict[str, Any], Any] | None] = []
    agent_keys: list[uuid.UUID | None] = []
    for row in rows:
        try:
            prepared.append(
                register_input(region=workspace.default_region, **{key: row.get(key, UNSET) for key in _REGISTER_INPUT})
            )
        except DomainError:
            prepared.append(None)  # trunk_register will say why
        try:
            agent_keys.append(parse_uuid(row.get("agent_uuid"), "agent_uuid"))
        except DomainError:
            agent_keys.append(None)
    agents = _agents_by_uuid(workspace, {key for key in agent_keys if key is not None})
    taken: set[str] = set()
    for chunk in _in_chunks(sorted({entry[1] for entry in prepared if entry is not None})):
        taken.update(
            str(number) for number in PhoneNumber.objects.filter(number__in=chunk).values_list("number", flat=True)
        )
    busy: set[tuple[int, str]] = set()
    for chunk in _in_chunks(sorted(agent.pk for agent in agents.values())):
        busy.update(ChannelBinding.objects.filter(agent_id__in=chunk).values_list("agent_id", "channel"))
    # `whatsapp-id-once`: a row connecting an id another trunk (or an earlier row) holds is not certain.
    wanted_ids = {_whatsapp_id(entry) for entry in prepared if entry is not None} - {None}
    ids_taken: set[str] = set()
    for chunk in _in_chunks(sorted(wanted_ids)):
        ids_taken.update(
            ChannelBinding.objects.filter(wa_phone_number_id__in=chunk).values_list("wa_phone_number_id", flat=True)
        )

    results: list[ChannelBinding | DomainError | None] = [None] * len(rows)
    pending: list[tuple[int, PhoneNumber, ChannelBinding]] = []

    def one_by_one(index: int) -> None:
        try:
            binding = trunk_register(workspace=workspace, actor=actor, **rows[index])
        except DomainError as exc:
            results[index] = exc
        else:
            results[index] = binding
            taken.add(binding.phone_number.e164)
            busy.add((binding.agent_id, binding.channel))
            if binding.wa_phone_number_id:
                ids_taken.add(binding.wa_phone_number_id)

    def flush() -> None:
        if not pending:
            return
        try:
            with transaction.atomic():
                _insert_with_history([number for _, number, _ in pending], [binding for _, _, binding in pending])
        except IntegrityError:
            for index, _, _ in pending:
                one_by_one(index)
        else:
            for index, _, binding in pending:
                results[index] = binding
        pending.clear()

    for index, entry in enumerate(prepared):
        agent = agents.get(agent_keys[index])
        certain = (
            entry is not None
            and agent is not None
            and entry[1] not in taken
            and (agent.pk, entry[0]) not in busy
            and _whatsapp_id(entry) not in ids_taken
        )
        if certain:
            channel, e164, fields, sip_changes = entry
            try:
                number = new_external_number(workspace, e164)
                binding = new_trunk(
                    workspace=workspace,
                    number=number,
                    channel=channel,
                    agent=agent,
                    fields=fields,
                    sip_changes=sip_changes,
                )
            except DomainError:
                certain = False
            else:
                pending.append((index, number, binding))
                taken.add(e164)
                busy.add((agent.pk, channel))
                if binding.wa_phone_number_id:
                    ids_taken.add(binding.wa_phone_number_id)
                if len(pending) >= BATCH_SIZE:
                    flush()
        if not certain:
            flush()
            one_by_one(index)
        if progress is not None:
            progress(index + 1)
    flush()
    return results  # type: ignore[return-value]
