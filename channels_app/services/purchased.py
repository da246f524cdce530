"""Purchased numbers bound to agents: SMS assign and call provisioning.

Rules (docs/rules.md): `one-binding-per-channel`, `one-number-per-agent-and-channel`,
`trunk-channels` (SMS only on purchased, SMS-capable numbers), `sms-assign-replaces`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from channels_app.audit import Actor, mark
from channels_app.errors import DomainError, phone_number_not_found
from channels_app.models import Agent, Channel, ChannelBinding, PhoneNumber, Source, Workspace
from channels_app.services import rules
from channels_app.services.base import clean_fields, parse_uuid, write_service


def _purchased_number(workspace: Workspace, phone_number_uuid: object) -> PhoneNumber:
    number = rules.locked_number(
        workspace=workspace, phone_number_uuid=parse_uuid(phone_number_uuid, "phone_number_uuid")
    )
    if number is None:
        raise phone_number_not_found()
    return number


def _bind(number: PhoneNumber, agent: Agent, channel: str) -> ChannelBinding:
    """A new binding of a purchased number; a concurrent winner is the same error as a pre-check."""
    binding = ChannelBinding(workspace=number.workspace, phone_number=number, channel=channel, agent=agent)
    clean_fields(binding, exclude=("workspace", "phone_number", "agent"))
    try:
        with transaction.atomic():
            mark(binding, action="bound")
            binding.save()
    except IntegrityError:
        rules.check_agent_free_on(agent, channel)
        raise rules.raced(channel) from None
    return binding


@write_service
def sms_assign(*, workspace: Workspace, actor: Actor, agent_uuid: object, phone_number_uuid: object) -> PhoneNumber:
    """`sms-assign-replaces`: bind a purchased SMS-capable number on sms, replacing the agent's
    current SMS number."""
    agent = rules.agent_of(workspace, agent_uuid)
    number = _purchased_number(workspace, phone_number_uuid)
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
        rules.check_number_free_on(number, Channel.SMS)
    for previous in ChannelBinding.objects.select_for_update().filter(agent=agent, channel=Channel.SMS):
        mark(previous, action="replaced")
        previous.delete()
    _bind(number, agent, Channel.SMS)
    return number


@write_service
def call_provision(*, workspace: Workspace, actor: Actor, agent_uuid: object, phone_number_uuid: object) -> Agent:
    """Bind a purchased voice-capable number to an agent on call."""
    agent = rules.agent_of(workspace, agent_uuid)
    number = _purchased_number(workspace, phone_number_uuid)
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
    rules.check_number_free_on(number, Channel.CALL)
    rules.check_agent_free_on(agent, Channel.CALL)
    _bind(number, agent, Channel.CALL)
    return agent
