"""Trunks: external numbers registered, edited, reassigned and deleted, per channel.

Rules (docs/rules.md): `one-binding-per-channel`, `one-number-per-agent-and-channel`,
`external-numbers-stay-external`, `trunk-channels`, `default-trunk-name`, `direction-on-calls`,
`sip-on-calls`, `inbound-addresses`, `update-merges`, `assign-changes-the-agent-only`,
`last-trunk-takes-the-number`, `any-spelling`, `whatsapp-on-whatsapp`, `whatsapp-id-once`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app import numbers
from channels_app.audit import Actor, mark
from channels_app.errors import DomainError, ValidationFailed, raise_all
from channels_app.models import (
    ROUTING_FIELDS,
    SECRET_FIELDS,
    Agent,
    Channel,
    ChannelBinding,
    ComplianceStatus,
    Direction,
    PhoneNumber,
    Source,
    Workspace,
)
from channels_app.routing import blocks
from channels_app.services import rules
from channels_app.services.base import UNSET, clean_fields, parse_uuid, raise_if, write_service
from channels_app.services.whatsapp import (
    apply_whatsapp,
    check_whatsapp_id_free,
    clean_whatsapp,
    give_webhook_identity,
)
from channels_app.validators import clean_additional_settings, clean_direction, clean_name, clean_sip

SipChanges = dict[str, Any]  # model field -> new value, None clears
# A change to any of these forgets the last trunk check: it described how the gateway was reached.
CHECKED_FIELDS = ("sip_gateway", "sip_secondary_gateway", "sip_port", "sip_username", "sip_password", "sip_transport")


def default_trunk_name(channel: str, e164: str) -> str:
    """`default-trunk-name`: `{channel}_trunk_{digits}`."""
    return f"{channel}_trunk_{e164.lstrip('+')}"


# --- input ---------------------------------------------------------------------------------------


def trunk_fields(
    *, channel: str, name: object, direction: object, sip: object, additional_settings: object, whatsapp: object = UNSET
) -> tuple[dict[str, Any], SipChanges | None]:
    """Validate the optional trunk fields together, every mistake at once.
    Returns (plain fields given, SIP changes or None); the `whatsapp` block's changes, when given,
    are `fields["whatsapp"]`."""
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {}
    sip_changes = None
    if name is None:
        fields["name"] = None  # back to the default name
    elif name is not UNSET:
        fields["name"] = clean_name(name, errors)
    if channel == Channel.CALL:
        if direction is not UNSET and direction is not None:
            fields["direction"] = clean_direction(direction, errors)
        if sip is not UNSET and sip is not None:
            sip_changes = clean_sip(sip, errors)
    elif sip is not UNSET and sip is not None:
        errors["sip"] = [_("SIP settings apply to the call channel only.")]
    if whatsapp is not UNSET and whatsapp is not None:
        if channel == Channel.WHATSAPP:
            fields["whatsapp"] = clean_whatsapp(whatsapp, errors)
        else:
            errors["whatsapp"] = [_("WhatsApp settings apply to the whatsapp channel only.")]
    if additional_settings is not UNSET:
        value = {} if additional_settings is None else additional_settings
        fields["additional_settings"] = clean_additional_settings(value, errors)
    raise_if(errors)
    return fields, sip_changes


def register_input(
    *,
    phone_number: object,
    channel: object,
    name: object,
    direction: object,
    sip: object,
    additional_settings: object,
    whatsapp: object = UNSET,
    region: str = "",
) -> tuple[str, str, dict[str, Any], SipChanges | None]:
    """trunk_register's input checks, every mistake at once: (channel, E.164, fields, SIP changes).
    `region` is the workspace's default region (`default-region`)."""
    channel = rules.trunk_channel(channel)
    errors: dict[str, list[str]] = {}
    e164 = fields = sip_changes = None
    try:
        e164 = numbers.parse_field(phone_number, region=region)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    try:
        fields, sip_changes = trunk_fields(
            channel=channel,
            name=name,
            direction=direction,
            sip=sip,
            additional_settings=additional_settings,
            whatsapp=whatsapp,
        )
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    raise_if(errors)
    return channel, e164, fields, sip_changes


def apply_sip(binding: ChannelBinding, changes: SipChanges) -> list[str]:
    """Merge SIP keys into the binding (`update-merges`). Returns the secret fields that changed.

    A change of how the gateway is reached (`CHECKED_FIELDS`) forgets the last trunk check: it
    described a configuration that is gone. Inbound addresses and the number format do not.
    """
    changed_secrets = []
    changed_any = False
    for field, value in changes.items():
        if getattr(binding, field) != value:
            changed_any = changed_any or field in CHECKED_FIELDS
            if field in SECRET_FIELDS:
                changed_secrets.append(field)
            setattr(binding, field, value)
    if changed_secrets:
        binding.credentials_updated_at = timezone.now()
    if changed_any:
        binding.health_status, binding.health_details, binding.health_checked_at = None, {}, None
    return changed_secrets


# --- new rows ------------------------------------------------------------------------------------


def number_row(workspace: Workspace, e164: str, *, source: str, **fields: Any) -> PhoneNumber:
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


def new_external_number(workspace: Workspace, e164: str) -> PhoneNumber:
    """An external number's inventory row (unsaved, validated, marked for its audit record)."""
    number = number_row(
        workspace,
        e164,
        source=Source.EXTERNAL,
        compliance_status=ComplianceStatus.NOT_REQUIRED,
        voice_capable=True,
        sms_capable=False,
        local_calling_capable=True,
        monthly_fee=Decimal("0"),
    )
    clean_fields(number, exclude=("workspace", "number"))  # `e164` is what numbers.parse_field made valid
    mark(number, action="registered")
    return number


def new_trunk(
    *,
    workspace: Workspace,
    number: PhoneNumber,
    channel: str,
    agent: Agent,
    fields: dict[str, Any],
    sip_changes: SipChanges | None,
) -> ChannelBinding:
    """A trunk row (unsaved, validated, marked) with its defaults and SIP settings applied."""
    binding = ChannelBinding(
        workspace=workspace,
        phone_number=number,
        channel=channel,
        agent=agent,
        is_trunk=True,
        name=fields.get("name") or default_trunk_name(channel, number.e164),
        direction=(fields.get("direction") or Direction.BOTH) if channel == Channel.CALL else None,
        additional_settings=fields.get("additional_settings") or {},
    )
    secrets_changed = apply_sip(binding, sip_changes or {})
    if channel == Channel.WHATSAPP:
        give_webhook_identity(binding)
        secrets_changed += apply_whatsapp(binding, fields.get("whatsapp") or {})
    clean_fields(binding, exclude=("workspace", "phone_number", "agent"))
    mark(binding, action="registered", secrets_changed=secrets_changed)
    return binding


# --- services ------------------------------------------------------------------------------------


@write_service
def trunk_register(
    *,
    workspace: Workspace,
    actor: Actor,
    phone_number: object,
    agent_uuid: object,
    channel: object,
    name: object = UNSET,
    direction: object = UNSET,
    sip: object = UNSET,
    additional_settings: object = UNSET,
    whatsapp: object = UNSET,
) -> ChannelBinding:
    """Register an external number's trunk on one channel.

    Creates the external number with its first trunk, with country, type and location derived.
    Every mistake at once (`all-at-once`): the input, the agent, and the number's and the
    agent's conflicts (with what could be read of the input), in the order of the rules.
    """
    problems: list[DomainError] = []
    e164 = agent = None
    agent_serving = False
    try:
        channel, e164, fields, sip_changes = register_input(
            phone_number=phone_number,
            channel=channel,
            name=name,
            direction=direction,
            sip=sip,
            additional_settings=additional_settings,
            whatsapp=whatsapp,
            region=workspace.default_region,
        )
    except DomainError as exc:
        problems.append(exc)
        # What could be read is still checked against the rules below.
        try:
            channel = rules.trunk_channel(channel)
            e164 = numbers.parse_field(phone_number, region=workspace.default_region)
        except DomainError:
            pass
        channel = channel if channel in (Channel.CALL, Channel.WHATSAPP) else None
    try:
        if channel is None:
            rules.agent_of(workspace, agent_uuid)
        else:
            agent, agent_serving = rules.agent_serving(workspace, agent_uuid, channel)
    except DomainError as exc:
        problems.append(exc)
    number = rules.locked_number(number=e164) if e164 is not None and channel is not None else None
    try:
        rules.check_number_registrable(workspace, number)
        if number is not None:
            rules.check_number_free_on(number, channel)
    except DomainError as exc:
        problems.append(exc)
    if agent_serving:
        try:
            rules.check_agent_free_on(agent, channel)  # raises, unless the agent was freed since
        except DomainError as exc:
            problems.append(exc)
    raise_all(problems)
    if number is None:
        number = new_external_number(workspace, e164)
        try:
            with transaction.atomic():
                number.save()
        except IntegrityError:
            # A concurrent request added the number and committed (the insert waited for it).
            number = rules.locked_number(number=e164)
            rules.check_number_registrable(workspace, number)
            if number is None:  # added and removed again since
                raise rules.raced(channel) from None
            rules.check_number_free_on(number, channel)
    binding = new_trunk(
        workspace=workspace, number=number, channel=channel, agent=agent, fields=fields, sip_changes=sip_changes
    )
    check_whatsapp_id_free(binding)
    try:
        with transaction.atomic():
            binding.save()
    except IntegrityError:
        # A concurrent registration bound the number, the agent or the WhatsApp id first.
        rules.check_number_free_on(number, channel)
        rules.check_agent_free_on(agent, channel)
        check_whatsapp_id_free(binding)
        raise rules.raced(channel) from None
    blocks.store_new([binding])
    return binding


@write_service
def trunk_update(
    *,
    workspace: Workspace,
    actor: Actor,
    phone_number: object,
    channel: object,
    name: object = UNSET,
    direction: object = UNSET,
    sip: object = UNSET,
    additional_settings: object = UNSET,
    whatsapp: object = UNSET,
) -> ChannelBinding:
    """`update-merges`: omitted fields stay; `sip` and `whatsapp` merge key by key ("" clears);
    settings replace whole."""
    binding = rules.locked_trunk(workspace, phone_number, channel)
    fields, sip_changes = trunk_fields(
        channel=binding.channel,
        name=name,
        direction=direction,
        sip=sip,
        additional_settings=additional_settings,
        whatsapp=whatsapp,
    )
    tracked = (
        "name",
        "direction",
        "additional_settings",
        "sip_gateway",
        "sip_secondary_gateway",
        "sip_port",
        "wa_phone_number_id",
        "wa_business_account_id",
    )
    before = {field: getattr(binding, field) for field in (*tracked, *ROUTING_FIELDS)}
    if "name" in fields:
        binding.name = fields["name"] or default_trunk_name(binding.channel, binding.phone_number.e164)
    if "direction" in fields:
        binding.direction = fields["direction"]
    if "additional_settings" in fields:
        binding.additional_settings = fields["additional_settings"]
    secrets_changed = apply_sip(binding, sip_changes or {})
    secrets_changed += apply_whatsapp(binding, fields.get("whatsapp") or {})
    if secrets_changed or any(getattr(binding, field) != value for field, value in before.items()):
        clean_fields(binding, exclude=("workspace", "phone_number", "agent"))
        mark(binding, action="updated", secrets_changed=secrets_changed)
        if binding.wa_phone_number_id == before["wa_phone_number_id"]:
            binding.save()
        else:
            check_whatsapp_id_free(binding)
            try:
                with transaction.atomic():
                    binding.save()
            except IntegrityError:
                check_whatsapp_id_free(binding)  # a concurrent request connected the id first
                raise rules.raced(binding.channel) from None
        if binding.sip_inbound_addresses != before["sip_inbound_addresses"]:
            blocks.replace(binding)
    return binding


@write_service
def trunk_assign(
    *, workspace: Workspace, actor: Actor, phone_number: object, channel: object, agent_uuid: object
) -> ChannelBinding:
    """`assign-changes-the-agent-only`; assigning the current agent is a successful no-op."""
    binding = rules.locked_trunk(workspace, phone_number, channel)
    return reassign(binding, rules.agent_of(workspace, agent_uuid))


@write_service
def trunk_delete(*, workspace: Workspace, actor: Actor, phone_number: object, channel: object) -> PhoneNumber | None:
    """`last-trunk-takes-the-number`: remove one trunk; the number leaves with its last one."""
    return unbind(rules.locked_trunk(workspace, phone_number, channel))


@write_service
def binding_reassign(*, workspace: Workspace, actor: Actor, binding_uuid: object, agent_uuid: object) -> ChannelBinding:
    """Give a binding (trunk or purchased) to another agent of the same workspace."""
    binding = rules.locked_binding(workspace=workspace, uuid=parse_uuid(binding_uuid, "binding"))
    if binding is None:
        raise DomainError("NOT_FOUND", _("Binding not found."))
    return reassign(binding, rules.agent_of(workspace, agent_uuid))


@write_service
def binding_delete(*, workspace: Workspace, actor: Actor, binding_uuid: object) -> PhoneNumber | None:
    """Unbind one channel of any number (an external number leaves with its last trunk)."""
    binding = rules.locked_binding(workspace=workspace, uuid=parse_uuid(binding_uuid, "binding"))
    if binding is None:
        raise DomainError("NOT_FOUND", _("Binding not found."))
    return unbind(binding)


def reassign(binding: ChannelBinding, agent: Agent) -> ChannelBinding:
    """The binding, locked, given to `agent` (`one-number-per-agent-and-channel`)."""
    if binding.agent_id == agent.pk:
        return binding
    rules.check_agent_free_on(agent, binding.channel)
    binding.agent = agent
    try:
        with transaction.atomic():
            mark(binding, action="reassigned")
            binding.save(update_fields=["agent", "updated_at"])
    except IntegrityError:
        rules.check_agent_free_on(agent, binding.channel)  # a concurrent request took the agent
        raise rules.raced(binding.channel) from None
    return binding


def unbind(binding: ChannelBinding) -> PhoneNumber | None:
    """Delete the binding, locked; an external number without bindings leaves the inventory.
    Returns the number, or None when it left."""
    number = rules.locked_number(pk=binding.phone_number_id)
    mark(binding, action="deleted")
    binding.delete()
    if number.source == Source.EXTERNAL and not number.bindings.exists():
        mark(number, action="removed")
        number.delete()
        return None
    return number
