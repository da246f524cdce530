"""The rules of the contract that writes share (docs/rules.md): each look-up and each check once.

Every check raises the same domain error whether it runs before a write or after the database
refused one (a concurrent request won the race): the caller runs it again, and it now sees the
winner's row.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from channels_app import numbers
from channels_app.errors import DomainError, ValidationFailed, agent_not_found, trunk_not_found
from channels_app.models import Agent, Channel, ChannelBinding, PhoneNumber, Source, Workspace
from channels_app.services.base import parse_uuid

SMS_ASSIGN_PATH = "POST /api/v1/agents/{agent_uuid}/channels/sms"


def agent_of(workspace: Workspace, agent_uuid: object) -> Agent:
    """The workspace's agent; AGENT_NOT_FOUND otherwise."""
    agent = Agent.objects.filter(workspace=workspace, agent_uuid=parse_uuid(agent_uuid, "agent_uuid")).first()
    if agent is None:
        raise agent_not_found()
    return agent


def agent_named(text: str, matches: list[Agent], *, field: str = "agent_uuid") -> Agent:
    """`agent-by-name`: the one agent `text` (a name or a UUID) names among `matches` (what
    selectors.agents_by_text found for it); a VALIDATION_ERROR on `field` when there is none or
    the name is ambiguous."""
    shown = text.strip()
    if not shown:
        raise ValidationFailed.single(field, _("Choose an agent: type its name or UUID."))
    if not matches:
        raise ValidationFailed.single(
            field, _("No agent of this workspace is named or has the UUID “%(text)s”.") % {"text": shown[:100]}
        )
    if len(matches) > 1:
        raise ValidationFailed.single(
            field,
            _("%(n)d agents are named “%(text)s”: use the agent's UUID instead.")
            % {"n": len(matches), "text": shown[:100]},
        )
    return matches[0]


def agent_serving(workspace: Workspace, agent_uuid: object, channel: str) -> tuple[Agent, bool]:
    """The workspace's agent, and whether it already serves a number on `channel` (agent free on
    channel), in one query."""
    agent = (
        Agent.objects.filter(workspace=workspace, agent_uuid=parse_uuid(agent_uuid, "agent_uuid"))
        .annotate(serving=Exists(ChannelBinding.objects.filter(agent=OuterRef("pk"), channel=channel)))
        .first()
    )
    if agent is None:
        raise agent_not_found()
    return agent, agent.serving


def locked_number(**lookup: Any) -> PhoneNumber | None:
    """The number of a unique look-up, row-locked until the transaction ends."""
    return PhoneNumber.objects.select_for_update().filter(**lookup).order_by().first()


def locked_binding(**lookup: Any) -> ChannelBinding | None:
    """The binding of a unique look-up with its number and agent, the binding row-locked."""
    return (
        ChannelBinding.objects.select_for_update(of=("self",))
        .select_related("phone_number", "agent")
        .filter(**lookup)
        .order_by()
        .first()
    )


def trunk_channel(channel: object) -> str:
    """Trunk channels (call, whatsapp); sms is UNSUPPORTED_CHANNEL, pointing to SMS assign."""
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


def locked_trunk(workspace: Workspace, phone_number: object, channel: object) -> ChannelBinding:
    """The workspace's trunk on (number, channel), row-locked; TRUNK_NOT_FOUND otherwise."""
    channel = trunk_channel(channel)
    e164 = numbers.parse_field(phone_number, region=workspace.default_region)
    binding = locked_binding(workspace=workspace, phone_number__number=e164, channel=channel, is_trunk=True)
    if binding is None:
        raise trunk_not_found()
    return binding


def check_number_registrable(workspace: Workspace, number: PhoneNumber | None) -> None:
    """External not in inventory: a number held by another workspace, or purchased here, cannot
    become a trunk (the other workspace is not revealed)."""
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


def number_bound_error(channel: str, details: str | None = None) -> DomainError:
    return DomainError(
        "NUMBER_ALREADY_BOUND",
        _("This number is already bound on %(channel)s.") % {"channel": channel},
        field="phone_number",
        details=details or _("Delete or reassign the existing %(channel)s binding first.") % {"channel": channel},
    )


def check_number_free_on(number: PhoneNumber, channel: str, *, except_agent: Agent | None = None) -> None:
    """One binding per number and channel."""
    holder = ChannelBinding.objects.filter(phone_number=number, channel=channel).values_list("agent_id", flat=True)
    holder_id = holder.order_by().first()
    if holder_id is not None and (except_agent is None or holder_id != except_agent.pk):
        raise number_bound_error(channel)


def check_agent_free_on(agent: Agent, channel: str, *, except_number: PhoneNumber | None = None) -> None:
    """An agent serves at most one number per channel."""
    taken = ChannelBinding.objects.filter(agent=agent, channel=channel)
    if except_number is not None:
        taken = taken.exclude(phone_number=except_number)
    holder = taken.select_related("phone_number").order_by().first()
    if holder is not None:
        raise agent_busy_error(agent, channel, holder.phone_number)


def agent_busy_error(agent: Agent, channel: str, number: PhoneNumber) -> DomainError:
    """AGENT_CHANNEL_IN_USE naming the number that holds the agent (the agent's workspace's own,
    so naming it reveals nothing); `holder` lets a page link it."""
    error = DomainError(
        "AGENT_CHANNEL_IN_USE",
        _("%(agent)s already answers %(channel)s on %(number)s.")
        % {"agent": agent.name, "channel": channel, "number": number.number.as_international},
        field="agent_uuid",
        details=_("An agent serves at most one number per channel: unbind it there or choose another agent."),
    )
    error.holder = number
    return error


def raced(channel: str) -> DomainError:
    """A concurrent request changed the number between two statements of this one."""
    return number_bound_error(channel, _("A concurrent request changed this number; read it again."))
