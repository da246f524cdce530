"""Numbers in any common spelling resolve to one E.164 row; extensions, tel: URIs and
national formats are refused with a message that says what was expected. Country, type and
location of an external number come from the number itself."""

from __future__ import annotations

from decimal import Decimal

import pytest

from channels_app import numbers, selectors, services
from channels_app.models import PhoneNumber
from tests.domain_asserts import list_item_of, raises_domain_error, snapshot_of

SIX_SPELLINGS = [
    "+1 202-555-0123",
    "12025550123",
    "+1 (202) 555-0123",
    "1.202.555.0123",
    "+1 202 555 0123",
    "+12025550123",
]
E164 = "+12025550123"


@pytest.mark.parametrize("spelling", SIX_SPELLINGS)
def test_each_common_spelling_parses_to_e164(spelling):
    assert numbers.to_e164(spelling) == E164


@pytest.mark.django_db
def test_six_spellings_of_one_number_resolve_to_one_row(agents_a, workspace_a, command_actor):
    first = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=SIX_SPELLINGS[0],
        agent_uuid=agents_a[0].agent_uuid,
        channel="call",
    )
    for spelling in SIX_SPELLINGS:
        assert selectors.number_get(workspace=workspace_a, number=spelling).pk == first.phone_number_id
        with raises_domain_error("NUMBER_ALREADY_BOUND", "phone_number"):
            services.trunk_register(
                workspace=workspace_a,
                actor=command_actor,
                phone_number=spelling,
                agent_uuid=agents_a[1].agent_uuid,
                channel="call",
            )
        binding = services.trunk_update(
            workspace=workspace_a, actor=command_actor, phone_number=spelling, channel="call", name=f"via {spelling}"
        )
        assert binding.pk == first.pk
    second = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=SIX_SPELLINGS[3],
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    assert second.phone_number_id == first.phone_number_id
    assert list(PhoneNumber.objects.values_list("number", flat=True)) == [E164]
    assert snapshot_of(second.phone_number)["number"] == E164


@pytest.mark.django_db
def test_staff_cannot_add_a_purchased_number_twice_in_another_spelling(workspace_a, workspace_b, command_actor):
    services.number_add_purchased(workspace=workspace_a, actor=command_actor, number=SIX_SPELLINGS[1])
    for spelling in SIX_SPELLINGS:
        with raises_domain_error("NUMBER_UNAVAILABLE", "number"):
            services.number_add_purchased(workspace=workspace_b, actor=command_actor, number=spelling)
    assert PhoneNumber.objects.count() == 1


REFUSED = {
    # extensions
    "+1 202 555 0123 ext. 4": "Extensions",
    "+1 202 555 0123 extension 4": "Extensions",
    "+12025550123x4": "Extensions",
    "+1 202 555 0123 x 4": "Extensions",
    "+1-202-555-0123#4": "Extensions",
    "+12025550123;ext=4": "Extensions",
    "+12025550123,4": "Extensions",
    # tel: URIs
    "tel:+12025550123": "tel:",
    "TEL:+1-202-555-0123": "tel:",
    # national formats without the country code
    "(202) 555-0123": "national formats are not accepted",
    "202-555-0123": "national formats are not accepted",
    "2025550123": "national formats are not accepted",
    "020 7183 8750": "national formats are not accepted",
    "0044 20 7183 8750": "instead of the international dialling prefix 00",
    # not a valid number for the pinned metadata, or not a number at all
    "+1 202 555 012": "not a valid",
    "+1 202 555 01234": "not a valid",
    "+999 123 4567": "not a valid",
    "+1-800-FLOWERS": "international format",
    "++12025550123": "international format",
    "+1/202/555/0123": "international format",
    "+": "international format",
    "": "required",
    "   ": "required",
}


@pytest.mark.parametrize("raw", sorted(REFUSED))
def test_a_refused_spelling_says_what_was_expected(raw):
    with pytest.raises(numbers.InvalidNumber) as excinfo:
        numbers.to_e164(raw)
    message = str(excinfo.value)
    assert REFUSED[raw].lower() in message.lower()
    if raw.strip():
        assert "international format" in message
        assert "+1 202 555 0123" in message


@pytest.mark.parametrize("raw", [None, 12025550123, 1.5, ["+12025550123"], {"n": 1}])
def test_a_number_that_is_not_text_is_refused(raw):
    with pytest.raises(numbers.InvalidNumber):
        numbers.to_e164(raw)


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["+1 202 555 0123 ext. 4", "tel:+12025550123", "(202) 555-0123", None])
def test_services_refuse_a_bad_number_as_a_validation_error_on_the_field(raw, agent_a, workspace_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "phone_number") as excinfo:
        services.trunk_register(
            workspace=workspace_a, actor=command_actor, phone_number=raw, agent_uuid=agent_a.agent_uuid, channel="call"
        )
    assert excinfo.value.details == excinfo.value.fields["phone_number"][0]
    with raises_domain_error("VALIDATION_ERROR", "number"):
        services.number_add_purchased(workspace=workspace_a, actor=command_actor, number=raw)
    with raises_domain_error("VALIDATION_ERROR", "number"):
        selectors.number_get(workspace=workspace_a, number=raw)
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize(
    ("raw", "country", "kind", "location"),
    [
        ("+1 202 555 0123", "US", "local", "Washington D.C."),
        ("+44 20 7183 8750", "GB", "local", "London"),
        ("+1 800 555 0199", "US", "toll_free", ""),
        ("+44 7400 123456", "GB", "mobile", "United Kingdom"),
        ("+49 30 1234567", "DE", "local", "Berlin"),
    ],
)
def test_country_type_and_location_are_derived_from_the_number(raw, country, kind, location):
    facts = numbers.describe(numbers.to_e164(raw))
    assert (facts.country_code, facts.type, facts.location) == (country, kind, location)


@pytest.mark.django_db
def test_an_external_number_gets_derived_facts_and_is_never_billed(agent_a, workspace_a, command_actor):
    binding = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="44 20 7183 8750",
        agent_uuid=agent_a.agent_uuid,
        channel="call",
    )
    number = PhoneNumber.objects.get(pk=binding.phone_number_id)
    assert (number.number, number.country_code, number.type, number.location) == (
        "+442071838750",
        "GB",
        "local",
        "London",
    )
    assert (number.source, number.is_external, number.monthly_fee) == ("external", True, Decimal("0"))
    assert list_item_of(number)["billing"]["monthly_fee"] == 0


def test_search_keeps_only_the_digits_of_a_search_term():
    assert numbers.search_digits("+1 (202) 555-01") == "120255501"
    assert numbers.search_digits("٣٤٥ abc") == ""
