"""The inventory itself: channel settings, release, and staff entering purchased numbers.

Rules (docs/rules.md): `release-purchased-only`, `any-spelling`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app import channel_settings as settings_doc
from channels_app import inputs, numbers
from channels_app.audit import Actor, mark
from channels_app.errors import DomainError, ValidationFailed, phone_number_not_found
from channels_app.models import ChannelBinding, PhoneNumber, Source, Workspace
from channels_app.services import rules
from channels_app.services.base import clean_fields, parse_uuid, raise_if, write_service
from channels_app.services.trunks import number_row


@write_service
def number_update_settings(
    *, workspace: Workspace, actor: Actor, phone_number_uuid: object, channel_settings: Any
) -> PhoneNumber:
    """Partial update of `channel_settings` (PATCH /phone-numbers/{uuid})."""
    number = rules.locked_number(
        workspace=workspace, phone_number_uuid=parse_uuid(phone_number_uuid, "phone_number_uuid")
    )
    if number is None:
        raise phone_number_not_found()
    merged = settings_doc.merge(number.channel_settings, channel_settings)
    if merged != number.channel_settings:
        number.channel_settings = merged
        mark(number, action="settings_updated")
        number.save(update_fields=["channel_settings", "updated_at"])
    return number


@write_service
def number_release(*, workspace: Workspace, actor: Actor, phone_number_uuid: object) -> None:
    """`release-purchased-only`: a purchased number leaves the inventory with all its bindings.

    Locks the number's bindings before the number, the order an unbind takes (its binding, then
    the number): in the opposite order a release and a concurrent unbind deadlock on PostgreSQL.
    """
    key = parse_uuid(phone_number_uuid, "phone_number_uuid")
    list(
        ChannelBinding.objects.select_for_update(of=("self",))
        .filter(phone_number__workspace=workspace, phone_number__phone_number_uuid=key)
        .values_list("pk", flat=True)
    )
    number = rules.locked_number(workspace=workspace, phone_number_uuid=key)
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
    number: object,
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
        e164 = numbers.parse_field(number, field="number", region=workspace.default_region)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
    caps = _purchased_capabilities(capabilities, errors)
    fee = _monthly_fee(monthly_fee, errors)
    if not isinstance(currency, str) or not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        errors["currency"] = [_("Must be a three-letter ISO 4217 code, e.g. USD.")]
    raise_if(errors)
    existing = PhoneNumber.objects.filter(number=e164).first()
    if existing is not None:
        raise _number_in_use()
    row = number_row(
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
    clean_fields(row, exclude=("workspace",))
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


def _monthly_fee(value: object, errors: dict[str, list[str]]) -> Decimal:
    """A finite, non-negative amount (digits and places are then checked by the model field)."""
    try:
        if isinstance(value, bool) or (isinstance(value, str) and not inputs.is_ascii_amount(value)):
            fee = Decimal("NaN")  # Decimal() reads every script's digits, and exponents
        else:
            fee = Decimal(str(value).strip())
    except ArithmeticError:
        fee = Decimal("NaN")
    if not fee.is_finite() or fee < 0:
        errors["monthly_fee"] = [_("Must be an amount of zero or more, e.g. 1.15.")]
    return fee
