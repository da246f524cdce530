"""How numbers are written on the wire: what the edge reads from a carrier, and writes to one.

Reading is lenient (docs/routing.md): a called user U names a number when U is its E.164 form
(`+14155550100`), its E.164 digits without `+` (`14155550100`) or its national form
(`4155550100`; with the national prefix 0 too, `02071838750` for +44 20 7183 8750), whatever the
trunk's `number_format` says. Writing follows the trunk's `number_format` exactly. No Django here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, shortnumberinfo

from channels_app.routing.models import NumberFormat

# Visual separators a carrier or a dialler may leave in a user part (RFC 3966 allows them).
_VISUAL = re.compile(r"[\s\-.()]")
_DIGITS = re.compile(r"[0-9]{1,20}")
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")


@dataclass(frozen=True)
class Readings:
    """The numbers a wire user may name: E.164 forms first, then national significant numbers."""

    e164: tuple[str, ...] = ()
    national: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.e164 or self.national)


def wire_user(raw: str | None) -> str:
    """A SIP user part without its parameters (`;npdi`, `;rn=`) and visual separators."""
    if not raw:
        return ""
    return _VISUAL.sub("", raw.split(";", 1)[0])


def readings(raw: str | None) -> Readings:
    """Every number `raw` can spell, in the order a match is preferred."""
    user = wire_user(raw)
    if _E164.fullmatch(user):
        return Readings(e164=(user,))
    if user.startswith("+") or not _DIGITS.fullmatch(user):
        return Readings()
    e164: list[str] = []
    if user.startswith("00") and _E164.fullmatch("+" + user[2:]):
        e164.append("+" + user[2:])  # the international dialling prefix
    elif _E164.fullmatch("+" + user):
        e164.append("+" + user)
    national = [user]
    if user.startswith("0") and len(user) > 1:
        national.append(user[1:])  # the national (trunk) prefix
    return Readings(e164=tuple(e164), national=tuple(national))


def national_significant(e164: str) -> str:
    """The national significant number of an E.164 number (`+442071838750` -> `2071838750`)."""
    return phonenumbers.national_significant_number(phonenumbers.parse(e164, None))


def spelled(e164: str, number_format: str | None, *, home: str | None = None) -> str:
    """`e164` as a trunk with `number_format` writes it. `national` is the national form of the
    number's own country; a number of another country than `home` (the trunk number's) is
    written as that country dials it abroad (`011442071838750` from the US)."""
    if number_format == NumberFormat.E164_NO_PLUS:
        return e164.lstrip("+")
    if number_format == NumberFormat.NATIONAL:
        parsed = phonenumbers.parse(e164, None)
        home_region = phonenumbers.region_code_for_number(phonenumbers.parse(home, None)) if home else None
        region = phonenumbers.region_code_for_number(parsed)
        if home_region and region != home_region:
            text = phonenumbers.format_out_of_country_calling_number(parsed, home_region)
        else:
            text = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
        return "".join(ch for ch in text if ch.isdigit())
    return e164


@dataclass(frozen=True)
class Destination:
    """An outbound call's destination as the agent wrote it, read."""

    raw: str
    e164: str | None  # None: not a valid number
    region: str | None
    emergency: bool
    premium: bool


def destination(raw: str | None, *, home: str) -> Destination:
    """Read an outbound destination: E.164, international digits (with or without 00), or a
    national number of `home`'s country. Emergency short codes are recognised in that country."""
    user = wire_user(raw)
    home_region = phonenumbers.region_code_for_number(phonenumbers.parse(home, None))
    emergency = bool(user) and _DIGITS.fullmatch(user.lstrip("+")) is not None and _is_emergency(user, home_region)
    for candidate, region in _destination_candidates(user, home_region):
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(parsed):
            continue
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        dest_region = phonenumbers.region_code_for_number(parsed)
        return Destination(
            raw=raw or "",
            e164=e164,
            region=dest_region,
            emergency=emergency or _is_emergency(phonenumbers.national_significant_number(parsed), dest_region),
            premium=phonenumbers.number_type(parsed) == PhoneNumberType.PREMIUM_RATE,
        )
    return Destination(raw=raw or "", e164=None, region=None, emergency=emergency, premium=False)


def _destination_candidates(user: str, home_region: str | None) -> list[tuple[str, str | None]]:
    if _E164.fullmatch(user):
        return [(user, None)]
    if not _DIGITS.fullmatch(user):
        return []
    if user.startswith("00"):
        return [("+" + user[2:], None)]
    candidates: list[tuple[str, str | None]] = []
    if not user.startswith("0"):
        candidates.append(("+" + user, None))
    if home_region:
        candidates.append((user, home_region))
    return candidates


def _is_emergency(digits: str, region: str | None) -> bool:
    if not region:
        return False
    return shortnumberinfo.connects_to_emergency_number(digits.lstrip("+"), region)
