"""Every write of the contract, once, for all three doors.

Each service is keyword-only, runs in one transaction under the caller's `Actor` (for the audit
trail), validates its whole input before touching a row, and turns a constraint violation lost to a
concurrent request into the same domain error the pre-check would have raised: the database has
the last word, and a race never surfaces as a crash.
"""

from __future__ import annotations

import functools
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, ExpressionWrapper, F, Model, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from phonenumber_field.phonenumber import PhoneNumber as PhoneNumberValue

from channels_app import channel_settings as settings_doc
from channels_app import fieldpaths, numbers, sip, tokens
from channels_app.audit import Actor, acting_as, history_record, mark
from channels_app.compiled import CompiledInsert, CompiledQuery
from channels_app.errors import (
    DomainError,
    RateLimited,
    ValidationFailed,
    agent_not_found,
    phone_number_not_found,
    trunk_not_found,
)
from channels_app.models import (
    SECRET_FIELDS,
    Agent,
    ApiToken,
    Channel,
    ChannelBinding,
    ComplianceStatus,
    Direction,
    PhoneNumber,
    Source,
    TokenScope,
    Workspace,
)
from channels_app.validators import (
    clean_additional_settings,
    clean_direction,
    clean_name,
    clean_sip,
)

P = ParamSpec("P")
R = TypeVar("R")

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()
SMS_ASSIGN_PATH = "POST /api/v1/agents/{agent_uuid}/channels/sms"

# False inside `whole_transaction()`: see there.
_SAVEPOINTS: ContextVar[bool] = ContextVar("services_take_savepoints", default=True)


def write_service(func: Callable[P, R]) -> Callable[P, R]:
    """One transaction, run as the given actor so history rows record who and which door.

    Inside a caller's transaction the service takes a savepoint, so that a caller catching its
    error (a form showing it, an import reporting a row) can go on; inside `whole_transaction()`
    it takes none.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(savepoint=_SAVEPOINTS.get()), acting_as(kwargs.get("actor")):
            return func(*args, **kwargs)

    return wrapper


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run writes to validate and preview them (`?dry_run=true`), then undo them all."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def whole_transaction(*, dry_run: bool = False) -> Iterator[None]:
    """One transaction that any failure inside ends: the caller turns the error into its answer
    and writes nothing more (the API). The services called inside take no savepoint of their own
    (two statements fewer each); a dry run is rolled back in any case."""
    token = _SAVEPOINTS.set(False)
    try:
        with rolled_back() if dry_run else transaction.atomic():
            yield
    finally:
        _SAVEPOINTS.reset(token)


# --- helpers ----------------------------------------------------------------------------------


def _clean(instance: Any, *, exclude: tuple[str, ...] = ()) -> None:
    """Field validation without queries: constraints are settled by the database itself.

    Text with a NUL character is refused here too: PostgreSQL cannot store it (a crash, not an
    answer) and Django's model fields do not check for it (only its form fields do).
    """
    nul = {
        fieldpaths.path_of_model_field(field.name): [_("Must not contain NUL characters.")]
        for field in instance._meta.concrete_fields
        if field.name not in exclude and "\x00" in _text(getattr(instance, field.attname, None))
    }
    _raise_if(nul)
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            {
                fieldpaths.path_of_model_field(field): [str(m) for m in messages]
                for field, messages in exc.message_dict.items()
            }
        ) from exc


def _text(value: Any) -> str:
    """The text a NUL could hide in: strings as they are, a number as it was typed."""
    if type(value) is str:
        return value
    if isinstance(value, PhoneNumberValue):
        return value.raw_input or ""
    if value is None or isinstance(value, bool | int | float | Decimal | datetime | uuid.UUID | dict | list):
        return ""
    return str(value)


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _uuid(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValidationFailed.single(field, _("Must be a UUID.")) from exc


# The look-ups every write makes, compiled once (channels_app/compiled.py): building their SQL
# cost the ORM more than the database takes to answer them.
_AGENT = CompiledQuery(lambda **lookup: Agent.objects.filter(**lookup))
_BINDING_AGENT = CompiledQuery(
    lambda **lookup: ChannelBinding.objects.filter(**lookup).order_by().values_list("agent_id")
)


def _agent_taken_query(*, agent_id: int, channel: str, except_number_id: int | None = None):
    taken = ChannelBinding.objects.filter(agent_id=agent_id, channel=channel)
    if except_number_id is not None:
        taken = taken.exclude(phone_number_id=except_number_id)
    return taken.order_by().values_list("id")


_AGENT_TAKEN = CompiledQuery(_agent_taken_query)
_AGENT_SERVING = CompiledQuery(
    lambda *, workspace_id, agent_uuid, channel: Agent.objects.filter(
        workspace_id=workspace_id, agent_uuid=agent_uuid
    ).annotate(serving=Exists(ChannelBinding.objects.filter(agent_id=OuterRef("pk"), channel=channel)))
)
_LOCKED_NUMBER = CompiledQuery(lambda **lookup: PhoneNumber.objects.select_for_update().filter(**lookup))
_LOCKED_BINDING = CompiledQuery(
    lambda **lookup: (
        ChannelBinding.objects.select_for_update(of=("self",)).select_related("phone_number", "agent").filter(**lookup)
    )
)


def _by_key(lookup: dict[str, Any]) -> dict[str, Any]:
    """A look-up's model instances as their keys (`workspace=w` -> `workspace_id=w.pk`)."""
    return {
        (f"{name}_id" if isinstance(value, Model) else name): (value.pk if isinstance(value, Model) else value)
        for name, value in lookup.items()
    }


def _agent(workspace: Workspace, agent_uuid: Any) -> Agent:
    agent = _AGENT.one(workspace_id=workspace.pk, agent_uuid=_uuid(agent_uuid, "agent_uuid"))
    if agent is None:
        raise agent_not_found()
    return agent


def _agent_serving(workspace: Workspace, agent_uuid: Any, channel: str) -> tuple[Agent, bool]:
    """The agent, and whether it already serves a number on `channel` (rule 2), in one query."""
    agent = _AGENT_SERVING.one(workspace_id=workspace.pk, agent_uuid=_uuid(agent_uuid, "agent_uuid"), channel=channel)
    if agent is None:
        raise agent_not_found()
    return agent, agent.serving


# New rows of a trunk registration, and their audit records: INSERT ... ON CONFLICT DO NOTHING
# tells a registration that a concurrent one took the number or the binding first, without an
# error, so the registration needs no savepoint to go on and answer why.
_INSERT_UNLESS_TAKEN = {model: CompiledInsert(model, ignore_conflicts=True) for model in (PhoneNumber, ChannelBinding)}
_INSERT_HISTORY = {model: CompiledInsert(model.history.model) for model in (PhoneNumber, ChannelBinding)}


def _insert_unless_taken(obj: PhoneNumber | ChannelBinding) -> bool:
    """Insert a new number or binding with its audit record; False (nothing written) when a
    unique value of it is taken."""
    if not _INSERT_UNLESS_TAKEN[type(obj)].one(obj):
        return False
    _INSERT_HISTORY[type(obj)].one(history_record(obj))
    return True


def _trunk_channel(channel: Any) -> str:
    if channel == Channel.SMS:
        raise DomainError(
            "UNSUPPORTED_CHANNEL",
            _("SMS cannot be bound through a trunk."),
            field="channel",
            details=_("Bind SMS to a purchased number with %(path)s.") % {"path": SMS_ASSIGN_PATH},
        )
    if channel not in (Channel.CALL, Channel.WHATSAPP):
        raise ValidationFailed.single("channel", _("Must be one of: call, whatsapp."))
    return channel


def default_trunk_name(channel: str, e164: str) -> str:
    return f"{channel}_trunk_{e164.lstrip('+')}"


def _number_conflict(workspace: Workspace, number: PhoneNumber | None) -> None:
    """Rule 3: a number held by another workspace, or purchased here, cannot become a trunk."""
    if number is None:
        return
    if number.workspace_id != workspace.pk:
        raise DomainError(
            "NUMBER_UNAVAILABLE",
            _("This number cannot be registered."),
            field="phone_number",
            details=_("The number is not available for registration."),
        )
    if number.source == Source.PURCHASED:
        raise DomainError(
            "NUMBER_IN_INVENTORY",
            _("This number is a purchased number of this workspace."),
            field="phone_number",
            details=_("Purchased numbers are bound with the agent channel endpoints, not as trunks."),
        )


def _number_bound_on(number: PhoneNumber, channel: str, *, except_agent: Agent | None = None) -> None:
    """Rule 1."""
    existing = _BINDING_AGENT.rows(phone_number_id=number.pk, channel=str(channel))
    if existing and (except_agent is None or existing[0][0] != except_agent.pk):
        raise DomainError(
            "NUMBER_ALREADY_BOUND",
            _("This number is already bound on %(channel)s.") % {"channel": channel},
            field="phone_number",
            details=_("Delete or reassign the existing %(channel)s binding first.") % {"channel": channel},
        )


def _agent_free_on(agent: Agent, channel: str, *, except_number: PhoneNumber | None = None) -> None:
    """Rule 2."""
    lookup = {"agent_id": agent.pk, "channel": str(channel)}
    if except_number is not None:
        lookup["except_number_id"] = except_number.pk
    if _AGENT_TAKEN.rows(limit=1, **lookup):
        raise DomainError(
            "AGENT_CHANNEL_IN_USE",
            _("This agent already serves a number on %(channel)s.") % {"channel": channel},
            field="agent_uuid",
            details=_("An agent serves at most one number per channel."),
        )


def _explain_integrity_error(exc: IntegrityError, *, channel: str, agent: Agent) -> NoReturn:
    """A concurrent request bound the agent or the number on `channel` first: re-run rule 2 (it
    now sees that row) and raise its error, else the number's."""
    _agent_free_on(agent, channel)
    raise DomainError(
        "NUMBER_ALREADY_BOUND",
        _("This number is already bound on %(channel)s.") % {"channel": channel},
        field="phone_number",
    ) from exc


def _trunk_fields(
    *, channel: str, name: Any, direction: Any, sip: Any, additional_settings: Any
) -> tuple[dict[str, Any], dict[str, str | None] | None]:
    """Validate the optional trunk fields together. Returns (plain fields, sip changes or None)."""
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {}
    sip_changes = None
    if name is not UNSET and name is not None:
        fields["name"] = clean_name(name, errors)
    elif name is None:
        fields["name"] = None  # back to the default name
    if channel == Channel.CALL:
        if direction is not UNSET and direction is not None:
            fields["direction"] = clean_direction(direction, errors)
        if sip is not UNSET and sip is not None:
            sip_changes = clean_sip(sip, errors)
    elif sip is not UNSET and sip is not None:
        errors["sip"] = [_("SIP settings apply to the call channel only.")]
    if additional_settings is not UNSET:
        cleaned = clean_additional_settings({} if additional_settings is None else additional_settings, errors)
        fields["additional_settings"] = cleaned
    _raise_if(errors)
    return fields, sip_changes


def _apply_sip(binding: ChannelBinding, changes: dict[str, str | None]) -> list[str]:
    """Merge SIP keys into the binding. Returns the secret fields whose value changed.

    Any SIP change forgets the last trunk check: it described a configuration that is gone.
    """
    changed_secrets = []
    changed_any = False
    for field, value in changes.items():
        if getattr(binding, field) != value:
            changed_any = True
            if field in SECRET_FIELDS:
                changed_secrets.append(field)
            setattr(binding, field, value)
    if changed_secrets:
        binding.credentials_updated_at = timezone.now()
    if changed_any:
        binding.health_status, binding.health_details, binding.health_checked_at = None, {}, None
    return changed_secrets


def _locked_number(**lookup: Any) -> PhoneNumber | None:
    """The number of a unique look-up, row-locked until the transaction ends."""
    return _LOCKED_NUMBER.one(**_by_key(lookup))


def _locked_binding(**lookup: Any) -> ChannelBinding | None:
    """The binding of a unique look-up with its number and agent, the binding row-locked."""
    return _LOCKED_BINDING.one(**_by_key(lookup))


def _trunk(workspace: Workspace, phone_number: Any, channel: Any) -> ChannelBinding:
    channel = _trunk_channel(channel)
    e164 = numbers.parse_field(phone_number)
    binding = _locked_binding(workspace=workspace, phone_number__number=e164, channel=channel, is_trunk=True)
    if binding is None:
        raise trunk_not_found()
    return binding


# --- trunks (external numbers) ------------------------------------------------------------------


def _register_input(
    *, phone_number: Any, channel: Any, name: Any, direction: Any, sip: Any, additional_settings: Any
) -> tuple[str, str, dict[str, Any], dict[str, str | None] | None]:
    """trunk_register's input checks, every mistake at once: (channel, E.164, fields, SIP changes)."""
    channel = _trunk_channel(channel)
    errors: dict[str, list[str]] = {}
    e164 = fields = sip_changes = None
    try:
        e164 = numbers.parse_field(phone_number)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    try:
        fields, sip_changes = _trunk_fields(
            channel=channel, name=name, direction=direction, sip=sip, additional_settings=additional_settings
        )
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    _raise_if(errors)
    return channel, e164, fields, sip_changes


def _number_row(workspace: Workspace, e164: str, *, source: str, **fields: Any) -> PhoneNumber:
    """An inventory row (unsaved) for `e164`, with country, type and location derived from it."""
    facts = numbers.describe(e164)
    return PhoneNumber(
        workspace=workspace,
        number=e164,
        source=source,
        country_code=facts.country_code,
        type=facts.type,
        location=facts.location,
        **fields,
    )


def _new_external_number(workspace: Workspace, e164: str) -> PhoneNumber:
    """An external number's inventory row (unsaved)."""
    number = _number_row(
        workspace,
        e164,
        source=Source.EXTERNAL,
        compliance_status=ComplianceStatus.NOT_REQUIRED,
        voice_capable=True,
        sms_capable=False,
        local_calling_capable=True,
        monthly_fee=Decimal("0"),
    )
    _clean(number, exclude=("workspace", "number"))  # `e164` is what numbers.to_e164 made valid
    mark(number, action="registered")
    return number


def _new_trunk(
    *,
    workspace: Workspace,
    number: PhoneNumber,
    channel: str,
    agent: Agent,
    fields: dict[str, Any],
    sip_changes: dict[str, str | None] | None,
) -> ChannelBinding:
    """A trunk row (unsaved) with its defaults (rules 5-7) and SIP settings applied."""
    e164 = str(number.number)
    binding = ChannelBinding(
        workspace=workspace,
        phone_number=number,
        channel=channel,
        agent=agent,
        is_trunk=True,
        name=fields.get("name") or default_trunk_name(channel, e164),
        direction=(fields.get("direction") or Direction.BOTH) if channel == Channel.CALL else None,
        additional_settings=fields.get("additional_settings") or {},
    )
    secrets_changed = _apply_sip(binding, sip_changes or {})
    _clean(binding, exclude=("workspace", "phone_number", "agent"))
    mark(binding, action="registered", secrets_changed=secrets_changed)
    return binding


@write_service
def trunk_register(
    *,
    workspace: Workspace,
    actor: Actor,
    phone_number: Any,
    agent_uuid: Any,
    channel: Any,
    name: Any = UNSET,
    direction: Any = UNSET,
    sip: Any = UNSET,
    additional_settings: Any = UNSET,
) -> ChannelBinding:
    """Register an external number's trunk on one channel (rules 1-7, 13).

    Creates the external number on its first trunk, with country, type and location derived.
    """
    channel, e164, fields, sip_changes = _register_input(
        phone_number=phone_number,
        channel=channel,
        name=name,
        direction=direction,
        sip=sip,
        additional_settings=additional_settings,
    )
    agent, agent_serving = _agent_serving(workspace, agent_uuid, channel)
    number = None
    if agent_serving:
        # Rule 2 refuses this, unless a rule about the number comes first (errors come in rule order).
        number = _locked_number(number=e164)
        _number_conflict(workspace, number)
        if number is not None:
            _number_bound_on(number, channel)
        _agent_free_on(agent, channel)  # raises, unless the agent was freed since
    if number is None:
        number = _new_external_number(workspace, e164)
        if not _insert_unless_taken(number):
            # The number is in the inventory (a second channel, another workspace, or a concurrent
            # request that added it and committed: the insert waited for it).
            number = _locked_number(number=e164)
            _number_conflict(workspace, number)
            if number is None:  # added and removed again by concurrent requests since
                raise _registration_raced(channel)
            _number_bound_on(number, channel)
    binding = _new_trunk(
        workspace=workspace,
        number=number,
        channel=channel,
        agent=agent,
        fields=fields,
        sip_changes=sip_changes,
    )
    if not _insert_unless_taken(binding):
        # A concurrent registration bound the number or the agent on this channel first; its row
        # is visible now (the insert waited for it to commit): say what a later request hears.
        _number_bound_on(number, channel)
        _agent_free_on(agent, channel)
        raise _registration_raced(channel)
    return binding


def _registration_raced(channel: str) -> DomainError:
    return DomainError(
        "NUMBER_ALREADY_BOUND",
        _("This number is already bound on %(channel)s.") % {"channel": channel},
        field="phone_number",
        details=_("A concurrent request changed this number; read it again."),
    )


BULK_BATCH_SIZE = 500


def _bulk_insert_with_history(model: type, objs: list[Any]) -> None:
    """bulk_create (the rows get their keys), then one historical row per object, filled by the
    same audit signal as save()."""
    model.objects.bulk_create(objs, batch_size=BULK_BATCH_SIZE)
    when = timezone.now()
    _INSERT_HISTORY[model].many([history_record(obj, when=when) for obj in objs])


@write_service
def trunk_register_many(
    *,
    workspace: Workspace,
    actor: Actor,
    rows: list[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> list[ChannelBinding | DomainError]:
    """Register many trunks (bulk import): for each row, in order, what trunk_register would do.

    `rows` are trunk_register's keyword arguments (without workspace and actor). The result has,
    per row, the new binding or the DomainError trunk_register raises given the rows before it.
    A row whose success is certain from what is loaded up front (its input is valid, its number
    is new to the installation and to the earlier rows, its agent is free on the channel) is
    inserted in bulk, with its audit record. Every other row goes through trunk_register itself,
    after the pending rows are written, so its outcome and message are exactly the single-row
    ones. If a concurrent request takes a number or an agent before the bulk insert, the pending
    rows are registered one by one instead.
    """
    prepared: list[tuple[str, str, dict[str, Any], Any] | None] = []
    agent_keys: list[uuid.UUID | None] = []
    for row in rows:
        try:
            prepared.append(_register_input(**{k: row.get(k, UNSET) for k in _REGISTER_INPUT}))
        except DomainError:
            prepared.append(None)  # trunk_register will say why
        try:
            agent_keys.append(_uuid(row.get("agent_uuid"), "agent_uuid"))
        except DomainError:
            agent_keys.append(None)
    agents = _agents_by_uuid(workspace, {key for key in agent_keys if key is not None})
    e164s = sorted({entry[1] for entry in prepared if entry is not None})
    taken: set[str] = set()
    for start in range(0, len(e164s), BULK_BATCH_SIZE):
        chunk = e164s[start : start + BULK_BATCH_SIZE]
        taken.update(
            PhoneNumber.objects.annotate(e164=ExpressionWrapper(F("number"), output_field=CharField()))
            .filter(e164__in=chunk)  # compared as text: the number field would parse each one again
            .values_list("e164", flat=True)
        )
    busy: set[tuple[int, str]] = set()
    agent_ids = sorted(agent.pk for agent in agents.values())
    for start in range(0, len(agent_ids), BULK_BATCH_SIZE):
        chunk = agent_ids[start : start + BULK_BATCH_SIZE]
        busy.update(ChannelBinding.objects.filter(agent_id__in=chunk).values_list("agent_id", "channel"))

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

    def flush() -> None:
        if not pending:
            return
        try:
            with transaction.atomic():
                _bulk_insert_with_history(PhoneNumber, [number for _, number, _ in pending])
                _bulk_insert_with_history(ChannelBinding, [binding for _, _, binding in pending])
        except IntegrityError:
            for index, _, _ in pending:
                one_by_one(index)
        else:
            for index, _, binding in pending:
                results[index] = binding
        pending.clear()

    for index, entry in enumerate(prepared):
        agent = agents.get(agent_keys[index])
        certain = entry is not None and agent is not None and entry[1] not in taken and (agent.pk, entry[0]) not in busy
        if certain:
            channel, e164, fields, sip_changes = entry
            try:
                number = _new_external_number(workspace, e164)
                binding = _new_trunk(
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
                if len(pending) >= BULK_BATCH_SIZE:
                    flush()
        if not certain:
            flush()
            one_by_one(index)
        if progress is not None:
            progress(index + 1)
    flush()
    return results  # type: ignore[return-value]


_REGISTER_INPUT = ("phone_number", "channel", "name", "direction", "sip", "additional_settings")


def _agents_by_uuid(workspace: Workspace, keys: set[uuid.UUID]) -> dict[uuid.UUID, Agent]:
    agents: dict[uuid.UUID, Agent] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), BULK_BATCH_SIZE):
        chunk = ordered[start : start + BULK_BATCH_SIZE]
        agents.update(
            (agent.agent_uuid, agent) for agent in Agent.objects.filter(workspace=workspace, agent_uuid__in=chunk)
        )
    return agents


@write_service
def trunk_update(
    *,
    workspace: Workspace,
    actor: Actor,
    phone_number: Any,
    channel: Any,
    name: Any = UNSET,
    direction: Any = UNSET,
    sip: Any = UNSET,
    additional_settings: Any = UNSET,
) -> ChannelBinding:
    """Rule 8: omitted fields stay; `sip` merges key by key ("" clears); settings replace whole."""
    binding = _trunk(workspace, phone_number, channel)
    fields, sip_changes = _trunk_fields(
        channel=binding.channel, name=name, direction=direction, sip=sip, additional_settings=additional_settings
    )
    before = {field: getattr(binding, field) for field in ("name", "direction", "additional_settings")}
    if "name" in fields:
        binding.name = fields["name"] or default_trunk_name(binding.channel, binding.phone_number.e164)
    if "direction" in fields:
        binding.direction = fields["direction"]
    if "additional_settings" in fields:
        binding.additional_settings = fields["additional_settings"]
    before_sip = {field: getattr(binding, field) for field in ("sip_gateway", "sip_secondary_gateway", "sip_port")}
    secrets_changed = _apply_sip(binding, sip_changes or {})
    changed = secrets_changed or any(getattr(binding, f) != v for f, v in {**before, **before_sip}.items())
    if changed:
        _clean(binding, exclude=("workspace", "phone_number", "agent"))
        mark(binding, action="updated", secrets_changed=secrets_changed)
        binding.save()
    return binding


@write_service
def trunk_assign(
    *, workspace: Workspace, actor: Actor, phone_number: Any, channel: Any, agent_uuid: Any
) -> ChannelBinding:
    """Rule 9: only the agent changes; assigning the current agent is a successful no-op."""
    binding = _trunk(workspace, phone_number, channel)
    agent = _agent(workspace, agent_uuid)
    return _reassign(binding, agent)


@write_service
def trunk_delete(*, workspace: Workspace, actor: Actor, phone_number: Any, channel: Any) -> PhoneNumber | None:
    """Rule 10: remove one trunk; the external number leaves the inventory with its last one."""
    binding = _trunk(workspace, phone_number, channel)
    return _unbind(binding)


# --- bindings in general (purchased numbers, staff actions) --------------------------------------


def _reassign(binding: ChannelBinding, agent: Agent) -> ChannelBinding:
    if binding.agent_id == agent.pk:
        return binding
    _agent_free_on(agent, binding.channel)
    binding.agent = agent
    try:
        with transaction.atomic():
            mark(binding, action="reassigned")
            binding.save(update_fields=["agent", "updated_at"])
    except IntegrityError as exc:
        _explain_integrity_error(exc, channel=binding.channel, agent=agent)
    return binding


def _unbind(binding: ChannelBinding) -> PhoneNumber | None:
    number = _locked_number(pk=binding.phone_number_id)
    mark(binding, action="deleted")
    binding.delete()
    if number.source == Source.EXTERNAL and not _BINDING_AGENT.rows(limit=1, phone_number_id=number.pk):
        mark(number, action="removed")
        number.delete()
        return None
    return number


@write_service
def binding_reassign(*, workspace: Workspace, actor: Actor, binding_uuid: Any, agent_uuid: Any) -> ChannelBinding:
    """Give a binding (trunk or purchased) to another agent of the same workspace (rule 2, 9)."""
    binding = _locked_binding(workspace=workspace, uuid=_uuid(binding_uuid, "binding"))
    if binding is None:
        raise DomainError("NOT_FOUND", _("Binding not found."))
    return _reassign(binding, _agent(workspace, agent_uuid))


@write_service
def binding_delete(*, workspace: Workspace, actor: Actor, binding_uuid: Any) -> PhoneNumber | None:
    """Unbind one channel of any number (rule 10 for external numbers)."""
    binding = _locked_binding(workspace=workspace, uuid=_uuid(binding_uuid, "binding"))
    if binding is None:
        raise DomainError("NOT_FOUND", _("Binding not found."))
    return _unbind(binding)


def _purchased_number_for(workspace: Workspace, phone_number_uuid: Any) -> PhoneNumber:
    number = _locked_number(workspace=workspace, phone_number_uuid=_uuid(phone_number_uuid, "phone_number_uuid"))
    if number is None:
        raise phone_number_not_found()
    return number


def _bind_purchased(number: PhoneNumber, agent: Agent, channel: str) -> ChannelBinding:
    try:
        with transaction.atomic():
            binding = ChannelBinding(workspace=number.workspace, phone_number=number, channel=channel, agent=agent)
            _clean(binding, exclude=("workspace", "phone_number", "agent"))
            mark(binding, action="bound")
            binding.save()
    except IntegrityError as exc:
        _explain_integrity_error(exc, channel=channel, agent=agent)
    return binding


@write_service
def sms_assign(*, workspace: Workspace, actor: Actor, agent_uuid: Any, phone_number_uuid: Any) -> PhoneNumber:
    """Rule 12: bind a purchased SMS-capable number on sms, replacing the agent's current one."""
    agent = _agent(workspace, agent_uuid)
    number = _purchased_number_for(workspace, phone_number_uuid)
    if number.source != Source.PURCHASED or not number.sms_capable:
        raise DomainError(
            "NUMBER_NOT_CAPABLE",
            _("This number cannot receive SMS bindings."),
            field="phone_number_uuid",
            details=_("SMS bindings need a purchased, SMS-capable number."),
        )
    current = ChannelBinding.objects.filter(phone_number=number, channel=Channel.SMS).first()
    if current is not None:
        if current.agent_id == agent.pk:
            return number
        _number_bound_on(number, Channel.SMS)
    for previous in ChannelBinding.objects.select_for_update().filter(agent=agent, channel=Channel.SMS):
        mark(previous, action="replaced")
        previous.delete()
    _bind_purchased(number, agent, Channel.SMS)
    return number


@write_service
def call_provision(*, workspace: Workspace, actor: Actor, agent_uuid: Any, phone_number_uuid: Any) -> Agent:
    """Bind a purchased voice-capable number to an agent on call (rules 1-2)."""
    agent = _agent(workspace, agent_uuid)
    number = _purchased_number_for(workspace, phone_number_uuid)
    if number.source != Source.PURCHASED or not number.voice_capable:
        raise DomainError(
            "NUMBER_NOT_CAPABLE",
            _("This number cannot be provisioned for calls."),
            field="phone_number_uuid",
            details=_(
                "Call provisioning needs a purchased, voice-capable number; external numbers are registered as trunks."
            ),
        )
    current = ChannelBinding.objects.filter(phone_number=number, channel=Channel.CALL).first()
    if current is not None and current.agent_id == agent.pk:
        return agent
    _number_bound_on(number, Channel.CALL)
    _agent_free_on(agent, Channel.CALL)
    _bind_purchased(number, agent, Channel.CALL)
    return agent


# --- numbers ---------------------------------------------------------------------------------


@write_service
def number_update_settings(
    *, workspace: Workspace, actor: Actor, phone_number_uuid: Any, channel_settings: Any
) -> PhoneNumber:
    """Partial update of `channel_settings` (PATCH /phone-numbers/{uuid})."""
    number = _locked_number(workspace=workspace, phone_number_uuid=_uuid(phone_number_uuid, "phone_number_uuid"))
    if number is None:
        raise phone_number_not_found()
    merged = settings_doc.merge(number.channel_settings, channel_settings)
    if merged != number.channel_settings:
        number.channel_settings = merged
        mark(number, action="settings_updated")
        number.save(update_fields=["channel_settings", "updated_at"])
    return number


@write_service
def number_release(*, workspace: Workspace, actor: Actor, phone_number_uuid: Any) -> None:
    """Rule 11: a purchased number leaves the inventory with all its bindings.

    Locks the number's bindings before the number, the order an unbind takes (its binding, then
    the number): in the opposite order a release and a concurrent unbind deadlock on PostgreSQL.
    """
    key = _uuid(phone_number_uuid, "phone_number_uuid")
    list(
        ChannelBinding.objects.select_for_update(of=("self",))
        .filter(phone_number__workspace=workspace, phone_number__phone_number_uuid=key)
        .values_list("pk", flat=True)
    )
    number = _locked_number(workspace=workspace, phone_number_uuid=key)
    if number is None:
        raise phone_number_not_found()
    if number.source == Source.EXTERNAL:
        raise DomainError(
            "EXTERNAL_NUMBER_NOT_RELEASABLE",
            _("External numbers cannot be released."),
            details=_("Delete the number's trunks instead; it leaves the inventory with its last trunk."),
        )
    for binding in number.bindings.all():
        mark(binding, action="released")
        binding.delete()
    mark(number, action="released")
    number.delete()


@write_service
def number_add_purchased(
    *,
    workspace: Workspace,
    actor: Actor,
    number: Any,
    capabilities: dict[str, bool] | None = None,
    monthly_fee: Decimal | str = Decimal("1.15"),
    currency: str = "USD",
    purchased_at: datetime | None = None,
) -> PhoneNumber:
    """Staff enter a number bought from a carrier (buying itself is out of scope).

    Bad input (number, capabilities, fee, currency) is a VALIDATION_ERROR on its field; a number
    already in anyone's inventory is NUMBER_UNAVAILABLE.
    """
    errors: dict[str, list[str]] = {}
    try:
        e164 = numbers.parse_field(number, field="number")
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    caps = _purchased_capabilities(capabilities, errors)
    fee = _monthly_fee(monthly_fee, errors)
    if not isinstance(currency, str) or not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        errors["currency"] = [_("Must be a three-letter ISO 4217 code, e.g. USD.")]
    _raise_if(errors)
    existing = PhoneNumber.objects.filter(number=e164).first()
    if existing is not None:
        raise _number_in_use()
    row = _number_row(
        workspace,
        e164,
        source=Source.PURCHASED,
        voice_capable=caps["voice"],
        sms_capable=caps["sms"],
        mms_capable=caps["mms"],
        fax_capable=caps["fax"],
        emergency_capable=caps["emergency"],
        local_calling_capable=caps["local_calling"],
        monthly_fee=fee,
        currency=currency,
        purchased_at=purchased_at or timezone.now(),
    )
    _clean(row, exclude=("workspace",))
    try:
        with transaction.atomic():
            mark(row, action="purchased")
            row.save()
    except IntegrityError as exc:
        # Every other constraint was validated above: a concurrent request took the number.
        raise _number_in_use() from exc
    return row


def _number_in_use() -> DomainError:
    return DomainError(
        "NUMBER_UNAVAILABLE",
        _("This number is already in the inventory."),
        field="number",
        details=_("A number belongs to one workspace at a time."),
    )


_CAPABILITIES = {"voice": True, "sms": False, "mms": False, "fax": False, "emergency": False, "local_calling": True}


def _purchased_capabilities(capabilities: Any, errors: dict[str, list[str]]) -> dict[str, bool]:
    """The defaults above overridden by the capabilities given (true/false per known name)."""
    caps = dict(_CAPABILITIES)
    if capabilities is None:
        return caps
    if not isinstance(capabilities, dict):
        errors["capabilities"] = [_("Must be an object of capability names to true or false.")]
        return caps
    for name, value in capabilities.items():
        if name not in caps:
            errors[f"capabilities.{name}"] = [
                _("Unknown capability. Expected one of: %(names)s.") % {"names": ", ".join(caps)}
            ]
        elif not isinstance(value, bool):
            errors[f"capabilities.{name}"] = [_("Must be true or false.")]
        else:
            caps[name] = value
    return caps


def _monthly_fee(value: Any, errors: dict[str, list[str]]) -> Decimal:
    """A finite, non-negative amount (digits and places are then checked by the model field)."""
    try:
        fee = Decimal(str(value).strip()) if not isinstance(value, bool) else Decimal("NaN")
    except ArithmeticError:
        fee = Decimal("NaN")
    if not fee.is_finite() or fee < 0:
        errors["monthly_fee"] = [_("Must be an amount of zero or more, e.g. 1.15.")]
    return fee


# --- API tokens ----------------------------------------------------------------------------------


@write_service
def token_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    scope: str = TokenScope.READ_WRITE,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns it with its plaintext, which is never stored nor shown again."""
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = [_("Give the token a name.")]
    if scope not in TokenScope.values:
        errors["scope"] = [_("Must be one of: %(choices)s.") % {"choices": ", ".join(TokenScope.values)}]
    if expires_at is not None:
        if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
            errors["expires_at"] = [_("Must be a date and time with a time zone.")]
        elif expires_at <= timezone.now():
            errors["expires_at"] = [_("Must be in the future.")]
    _raise_if(errors)
    plaintext = tokens.generate()
    token = ApiToken(
        workspace=workspace,
        name=name.strip(),
        scope=scope,
        prefix=tokens.display_prefix(plaintext),
        token_hash=tokens.hash_token(plaintext),
        created_by=actor.user if actor and actor.user is not None and actor.user.pk else None,
        expires_at=expires_at,
    )
    _clean(token, exclude=("workspace", "created_by", "token_hash"))
    mark(token, action="created")
    token.save()
    return token, plaintext


@write_service
def token_revoke(*, workspace: Workspace, actor: Actor, token_uuid: Any) -> ApiToken:
    """Revoke a token of the workspace; revoking twice keeps the first time."""
    token = ApiToken.objects.select_for_update().filter(workspace=workspace, uuid=_uuid(token_uuid, "token")).first()
    if token is None:
        raise DomainError("NOT_FOUND", _("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        mark(token, action="revoked")
        token.save(update_fields=["revoked_at"])
    return token


TOKEN_TOUCH_INTERVAL_SECONDS = 60


def token_touch(token: ApiToken) -> None:
    """Record use at most once a minute: one UPDATE that matches nothing inside the minute."""
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < TOKEN_TOUCH_INTERVAL_SECONDS:
        return
    stale = now - timedelta(seconds=TOKEN_TOUCH_INTERVAL_SECONDS)
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
        last_used_at=now
    )
    token.last_used_at = now


# --- trunk check (docs/sip-check.md) -------------------------------------------------------------

logger = logging.getLogger(__name__)


def _trunk_to_check(workspace: Workspace, phone_number: Any, channel: Any) -> ChannelBinding:
    """The call trunk to check, without its username and password (those are read last)."""
    channel = _trunk_channel(channel)
    if channel != Channel.CALL:
        raise DomainError(
            "UNSUPPORTED_CHANNEL",
            _("Only call trunks can be checked."),
            field="channel",
            details=_("A WhatsApp trunk has no SIP gateway to check."),
        )
    e164 = numbers.parse_field(phone_number)
    binding = (
        ChannelBinding.objects.select_related("phone_number")
        .defer(*SECRET_FIELDS)
        .filter(workspace=workspace, phone_number__number=e164, channel=channel, is_trunk=True)
        .first()
    )
    if binding is None:
        raise trunk_not_found()
    if not binding.sip_gateway:
        raise ValidationFailed.single("sip.gateway", _("Set a gateway before checking this trunk."))
    return binding


def _claim_check_slot(binding: ChannelBinding) -> datetime:
    """One check per trunk per interval, across every worker: a conditional UPDATE decides."""
    interval = settings.SIP_CHECK_MIN_INTERVAL_SECONDS
    now = timezone.now()
    claimed = (
        ChannelBinding.objects.filter(pk=binding.pk)
        .filter(
            Q(health_check_started_at__isnull=True) | Q(health_check_started_at__lte=now - timedelta(seconds=interval))
        )
        .update(health_check_started_at=now)
    )
    if not claimed:
        started = ChannelBinding.objects.filter(pk=binding.pk).values_list("health_check_started_at", flat=True).first()
        elapsed = (now - started).total_seconds() if started else 0.0
        retry_after = max(1, math.ceil(interval - elapsed))
        raise RateLimited(
            _("This trunk was checked moments ago."),
            retry_after=retry_after,
            details=_("A trunk can be checked once every %(interval)d seconds. Try again in %(wait)d seconds.")
            % {"interval": interval, "wait": retry_after},
        )
    return now


@sensitive_variables("username", "password")
def _stored_credentials(binding: ChannelBinding) -> sip.Credentials | None:
    """Decrypt the username and password, for the check only (None unless both are set)."""
    username, password = ChannelBinding.objects.filter(pk=binding.pk).values_list("sip_username", "sip_password").get()
    if not username or not password:
        return None
    return sip.Credentials(username, password)


@sensitive_variables("credentials")
def trunk_check(*, workspace: Workspace, actor: Actor, phone_number: Any, channel: Any) -> ChannelBinding:
    """Check a call trunk's gateways now and keep the result on the binding (docs/sip-check.md).

    OPTIONS to each gateway, then a digest-answered REGISTER when a username and password are
    stored. Returns the binding with `health_status`, `health_details` and `health_checked_at` set.
    Raises UNSUPPORTED_CHANNEL (sms, whatsapp), TRUNK_NOT_FOUND, VALIDATION_ERROR on `sip.gateway`
    (none set) and RATE_LIMITED (`retry_after`) within SIP_CHECK_MIN_INTERVAL_SECONDS of the last check.

    Deliberately not one transaction: the network part lasts up to SIP_CHECK_TIMEOUT_SECONDS and
    must hold no lock; call it outside `transaction.atomic()`. A check is not a change, so it
    writes no history row and leaves `updated_at` alone.
    """
    binding = _trunk_to_check(workspace, phone_number, channel)
    _claim_check_slot(binding)
    gateways = [sip.Gateway("gateway", binding.sip_gateway, binding.effective_port)]
    if binding.sip_secondary_gateway:
        gateways.append(sip.Gateway("secondary_gateway", binding.sip_secondary_gateway, binding.effective_port))
    credentials = _stored_credentials(binding)
    result = sip.check_trunk(
        gateways,
        credentials,
        timeout=settings.SIP_CHECK_TIMEOUT_SECONDS,
        allow_private=settings.SIP_CHECK_ALLOW_PRIVATE,
    )
    del credentials
    binding.health_status = result.status
    binding.health_details = result.as_json()
    binding.health_checked_at = timezone.now()
    stored = ChannelBinding.objects.filter(pk=binding.pk).update(
        health_status=binding.health_status,
        health_details=binding.health_details,
        health_checked_at=binding.health_checked_at,
    )
    if not stored:  # deleted while the check ran
        raise trunk_not_found()
    logger.info("trunk %s checked by %s (%s): %s", binding.uuid, actor.label, actor.door, result.status)
    return binding
