"""The number field (channels_app/fields.py NumberField): the library's field and values, with
validity and formats remembered per digits, and invisible to migrations."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber as LibraryPhoneNumber

from channels_app.fields import CheckedPhoneNumber, NumberField, to_checked_number
from channels_app.models import PhoneNumber


def test_values_are_checked_numbers_that_equal_the_library_s():
    checked = to_checked_number("+12025550123")
    assert isinstance(checked, CheckedPhoneNumber) and isinstance(checked, LibraryPhoneNumber)
    assert str(checked) == "+12025550123" and len(checked) == 12 and checked.is_valid()
    assert checked == LibraryPhoneNumber.from_string("+12025550123") == "+12025550123"
    assert to_checked_number("") == "" and to_checked_number(None) is None
    invalid = to_checked_number("not a number")
    assert isinstance(invalid, CheckedPhoneNumber) and not invalid.is_valid() and str(invalid) == "not a number"
    merged = to_checked_number(phonenumbers.parse("+442071838750"))
    assert isinstance(merged, CheckedPhoneNumber) and str(merged) == "+442071838750"


def test_validity_and_format_are_asked_once_per_digits(monkeypatch):
    calls = {"valid": 0, "format": 0}
    real_valid, real_format = phonenumbers.is_valid_number, phonenumbers.format_number

    def counted_valid(number):
        calls["valid"] += 1
        return real_valid(number)

    def counted_format(number, fmt):
        calls["format"] += 1
        return real_format(number, fmt)

    monkeypatch.setattr(phonenumbers, "is_valid_number", counted_valid)
    monkeypatch.setattr(phonenumbers, "format_number", counted_format)
    number = to_checked_number("+12025550123")
    for _ in range(10):
        assert str(number) == "+12025550123" and number and len(number) == 12
    assert calls == {"valid": 1, "format": 1}
    number.national_number = 2025550199  # changed in place: asked again
    assert str(number) == "+12025550199"
    assert calls == {"valid": 2, "format": 2}


@pytest.mark.django_db
def test_model_instances_hold_checked_numbers_whatever_sets_them(trunk_a):
    assert isinstance(PhoneNumber(number="+12025550123").number, CheckedPhoneNumber)
    loaded = PhoneNumber.objects.get(pk=trunk_a.phone_number_id)
    assert isinstance(loaded.number, CheckedPhoneNumber) and loaded.e164 == "+12345678901"
    assert isinstance(loaded.history.first().number, CheckedPhoneNumber)


def test_migrations_see_the_library_s_field():
    field = PhoneNumber._meta.get_field("number")
    assert isinstance(field, NumberField) and isinstance(field, PhoneNumberField)
    _name, path, _args, kwargs = field.deconstruct()
    assert path == "phonenumber_field.modelfields.PhoneNumberField" and kwargs["max_length"] == 16
