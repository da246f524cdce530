"""Phone number parsing (`any-spelling`, docs/rules.md), in one place for every door.

Accepted: international numbers in any common spelling, with or without a leading `+`, with
spaces, dashes, dots and parentheses. In a workspace with a default region (`default-region`), a
spelling without `+` is read as `phonenumbers` reads it in that region: `(202) 555-0143` is
+1 202 555 0143 in a US workspace. Refused, each with a message that says what was expected:
extensions, `tel:` URIs, national formats without a country code (in a workspace without a
region), and numbers the pinned `phonenumbers` metadata does not consider valid.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberType, geocoder

from channels_app.errors import ValidationFailed

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
E164_EXAMPLE = "+12025550123"
EXPECTED = _("Enter the number in international format with its country code, e.g. +1 202 555 0123.")

_NOT_INTERNATIONAL = _("This is not a valid international number (national formats are not accepted). ")
# In a workspace without a default region: the digits are only valid as a national number.
_ADD_COUNTRY_CODE = _(
    "National formats are not accepted without a country code: add it. Enter the number in "
    "international format with its country code, e.g. +1 202 555 0123, or set the workspace's "
    "default country."
)

_SEPARATORS = re.compile(r"[\s\-.()\u00a0]")
# "x" only before a digit: "+1 202 555 0123 x4" is an extension, "+1-800-FLOWERS" is just not a number.
_EXTENSION = re.compile(r"(ext\.?|extension|x\s*\d|#|;|,|\*)", re.IGNORECASE)

_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
}


class InvalidNumber(ValueError):
    """Raised by `to_e164` with a message fit to show next to the field."""


def to_e164(raw: object, region: str | None = None) -> str:
    """Return the E.164 form of `raw` or raise InvalidNumber saying what was expected.

    `region` is the workspace's default region (ISO 3166 alpha-2) or None/"" for none: it decides
    how a spelling without `+` is read, and nothing else."""
    if not isinstance(raw, str):
        raise InvalidNumber(str(_("A phone number must be a string.")))
    text = raw.strip()
    if not text:
        raise InvalidNumber(str(_("This field is required.")))
    if text.lower().startswith("tel:"):
        raise InvalidNumber(str(_("tel: URIs are not accepted. ")) + str(EXPECTED))
    if _EXTENSION.search(text):
        raise InvalidNumber(str(_("Extensions are not accepted. ")) + str(EXPECTED))
    compact = _SEPARATORS.sub("", text)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits.isascii() or not digits.isdigit():
        raise InvalidNumber(str(EXPECTED))
    if digits.startswith("00") and not plus:
        raise InvalidNumber(str(_("Write + instead of the international dialling prefix 00. ")) + str(EXPECTED))
    if region and not plus:
        return _national_e164(digits, region)
    if digits.startswith("0"):
        # A leading 0 is a national trunk prefix: the country code is missing.
        raise InvalidNumber(str(_ADD_COUNTRY_CODE))
    # Without a "+", digits that are not a valid international number are most likely a national
    # number missing its country code: say so rather than just "invalid".
    invalid = _("This is not a valid phone number. ") if plus else _NOT_INTERNATIONAL
    if not 7 <= len(digits) <= 15:
        raise InvalidNumber(str(invalid) + str(EXPECTED))
    e164 = _valid_e164(digits)
    if e164 is None:
        if not plus and _valid_somewhere(digits):
            raise InvalidNumber(str(_ADD_COUNTRY_CODE))
        raise InvalidNumber(str(invalid) + str(EXPECTED))
    return e164


def _national_e164(digits: str, region: str) -> str:
    """`digits` (no `+`) read as `phonenumbers` reads them dialled in `region`."""
    e164 = _valid_in_region(digits, region)
    if e164 is None:
        raise InvalidNumber(
            str(
                _(
                    "This is not a valid number in %(country)s. For a number of another country, "
                    "start with + and its country code, e.g. +44 20 7183 8750."
                )
            )
            % {"country": region_name(region)}
        )
    return e164


@functools.lru_cache(maxsize=4096)
def _valid_in_region(digits: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if parsed.extension or not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Regions whose national numbers people most often type without a country code: a spelling valid
# in one of them, and not internationally, gets "add the country code" rather than "invalid".
_COMMON_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "BR", "ES", "IT", "NL", "MX", "JP")


@functools.lru_cache(maxsize=1024)
def _valid_somewhere(digits: str) -> bool:
    return any(_valid_in_region(digits, region) for region in _COMMON_REGIONS)


@functools.lru_cache(maxsize=1)
def region_choices() -> tuple[tuple[str, str], ...]:
    """(ISO code, "United States (+1)") for every region the pinned metadata knows, by name."""
    rows = [(code, f"{region_name(code)} (+{phonenumbers.country_code_for_region(code)})") for code in REGIONS]
    return tuple(sorted(rows, key=lambda row: row[1]))


REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def example_national(region: str) -> str:
    """An example number of `region` as people there write it (`(201) 555-0123` for US)."""
    example = phonenumbers.example_number(region)
    if example is None:
        return "+1 202 555 0123"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def validate_region(value: str) -> None:
    """A workspace's default region: empty, or a region the pinned metadata knows."""
    if value and value not in REGIONS:
        raise ValidationError(
            _("%(value)s is not a country code the number metadata knows (ISO 3166 alpha-2, e.g. US)."),
            params={"value": value},
            code="invalid_region",
        )


@functools.lru_cache(maxsize=512)
def region_name(region: str) -> str:
    """The English name of a region (`US` -> "United States"), the code itself if unknown."""
    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, "en") if example is not None else ""
    return name or region


@functools.lru_cache(maxsize=4096)
def _valid_e164(digits: str) -> str | None:
    """The E.164 form of +`digits` if it is a valid number. Cached: validating a +1 number tries
    the 25 regions sharing the code, and a bulk import reads each number twice (check, register)."""
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_field(raw: object, field: str = "phone_number", *, region: str | None = None) -> str:
    """`to_e164` for services: a refusal becomes a VALIDATION_ERROR on `field`."""
    try:
        return to_e164(raw, region)
    except InvalidNumber as exc:
        raise ValidationFailed.single(field, str(exc)) from exc


def search_digits(raw: str) -> str:
    """Digits of a search term, so `+1 (234) 567-89` matches stored `+123456789..`."""
    return "".join(ch for ch in raw if ch.isascii() and ch.isdigit())


@dataclass(frozen=True)
class NumberFacts:
    country_code: str
    type: str
    location: str


def describe(e164: str) -> NumberFacts:
    """Country (ISO alpha-2), type and location derived from the number itself."""
    parsed = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(parsed) or ""
    number_type = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "national")
    location = geocoder.description_for_number(parsed, "en") or ""
    return NumberFacts(country_code=region, type=number_type, location=location[:255])
