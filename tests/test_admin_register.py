"""The admin's "register external number" form: the same service, rules and messages as the API.

Every refusal appears next to the right field with the contract's message, the page answers 200
(never a crash), and nothing is written: no number, no binding, no audit event.
"""

from __future__ import annotations

import json

import pytest

from channels_app import numbers
from channels_app.models import ChannelBinding, PhoneNumber
from tests.admin_support import NUMBERS_URL, REGISTER_URL, form_errors, register_data
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def counts() -> tuple[int, int, int, int]:
    return (
        PhoneNumber.objects.count(),
        ChannelBinding.objects.count(),
        PhoneNumber.history.count(),
        ChannelBinding.history.count(),
    )


def refused(client, data) -> dict[str, list[str]]:
    """POST the form, assert it was re-rendered with errors and wrote nothing; return the errors."""
    before = counts()
    response = client.post(REGISTER_URL, data)
    assert response.status_code == 200, response.content[:500]
    assert counts() == before
    return form_errors(response)


def test_the_register_page_loads_with_every_field(staff_client, workspace_a, agents_a):
    response = staff_client.get(REGISTER_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Register external number" in html
    for name in ("workspace", "phone_number", "channel", "agent", "sip_gateway", "sip_password", "additional_settings"):
        assert f'name="{name}"' in html
    assert 'type="password" name="sip_password"' in html
    assert "A agent 1" in html


def test_it_registers_a_call_trunk_with_credentials_and_redirects_to_the_number(staff_client, workspace_a, agent_a):
    data = register_data(
        workspace_a,
        agent_a,
        phone_number="+1 (202) 555-0143",
        name="Front desk trunk",
        direction="inbound",
        sip_gateway="sip.example.com",
        sip_port="5061",
        sip_username=MARKER_USERNAME,
        sip_password=MARKER_PASSWORD,
        additional_settings='{"region": "eu"}',
    )
    response = staff_client.post(REGISTER_URL, data)
    number = PhoneNumber.objects.get(number="+12025550143")
    assert response.status_code == 302
    assert response["Location"] == f"{NUMBERS_URL}{number.pk}/change/"
    binding = number.bindings.get()
    assert (binding.channel, binding.agent, binding.name, binding.direction) == (
        "call",
        agent_a,
        "Front desk trunk",
        "inbound",
    )
    assert (binding.sip_gateway, binding.sip_port, binding.additional_settings) == (
        "sip.example.com",
        "5061",
        {"region": "eu"},
    )
    assert (binding.sip_username, binding.sip_password) == (MARKER_USERNAME, MARKER_PASSWORD)
    assert number.source == "external" and number.country_code == "US"


def test_the_registration_is_recorded_as_the_staff_user_through_the_admin_door(
    staff_client, workspace_a, agent_a, staff_user
):
    staff_client.post(REGISTER_URL, register_data(workspace_a, agent_a, sip_password=MARKER_PASSWORD))
    record = ChannelBinding.history.get()
    assert (record.door, record.actor_label, record.history_user, record.action) == (
        "admin",
        staff_user.username,
        staff_user,
        "registered",
    )
    assert record.secrets_changed == ["sip_password"]


def test_it_registers_whatsapp_with_the_default_name_and_no_direction(staff_client, workspace_a, agent_a):
    staff_client.post(REGISTER_URL, register_data(workspace_a, agent_a, channel="whatsapp", direction="outbound"))
    binding = ChannelBinding.objects.get()
    assert (binding.channel, binding.name, binding.direction) == ("whatsapp", "whatsapp_trunk_12025550143", None)


def test_a_number_in_any_spelling_is_stored_in_e164(staff_client, workspace_a, agent_a):
    staff_client.post(REGISTER_URL, register_data(workspace_a, agent_a, phone_number="1.202.555.0143"))
    assert PhoneNumber.objects.get().e164 == "+12025550143"


# --- each rule violation, on its field, with the contract's message, nothing written ----------------


@pytest.mark.parametrize(
    "spelling", ["202 555 0143", "tel:+12025550143", "+1 202 555 0143 ext. 12", "+1 202 555 01", "00 1 202 555 0143"]
)
def test_an_unusable_number_is_refused_on_the_number_field_with_the_parser_message(
    staff_client, workspace_a, agent_a, spelling
):
    with pytest.raises(numbers.InvalidNumber) as parser_says:
        numbers.to_e164(spelling)
    errors = refused(staff_client, register_data(workspace_a, agent_a, phone_number=spelling))
    assert errors == {"phone_number": [str(parser_says.value)]}
    assert "+1 202 555 0123" in errors["phone_number"][0]  # says what was expected


def test_a_purchased_number_of_the_workspace_is_refused_as_in_inventory(
    staff_client, workspace_a, agent_a, purchased_a
):
    errors = refused(staff_client, register_data(workspace_a, agent_a, phone_number=purchased_a.e164))
    assert errors == {
        "phone_number": [
            "This number is a purchased number of this workspace. "
            "Purchased numbers are bound with the agent channel endpoints, not as trunks."
        ]
    }


def test_a_number_of_another_workspace_is_unavailable_without_naming_it(
    staff_client, workspace_a, agent_a, purchased_b
):
    errors = refused(staff_client, register_data(workspace_a, agent_a, phone_number=purchased_b.e164))
    assert errors == {
        "phone_number": ["This number cannot be registered. The number is not available for registration."]
    }
    assert "Workspace B" not in str(errors)


def test_a_number_already_bound_on_the_channel_is_refused(staff_client, workspace_a, agents_a, trunk_a):
    errors = refused(staff_client, register_data(workspace_a, agents_a[1], phone_number="+1 234 567 8901"))
    assert errors == {
        "phone_number": ["This number is already bound on call. Delete or reassign the existing call binding first."]
    }


def test_an_agent_already_serving_the_channel_is_refused_on_the_agent_field(
    staff_client, workspace_a, agent_a, trunk_a
):
    errors = refused(staff_client, register_data(workspace_a, agent_a, phone_number="+1 202 555 0144"))
    assert errors == {
        "agent": [
            "A agent 1 already answers call on +1 234-567-8901. "
            "An agent serves at most one number per channel: unbind it there or choose another agent."
        ]
    }


def test_sms_is_refused_with_the_pointer_to_the_sms_assign_endpoint(staff_client, workspace_a, agent_a):
    errors = refused(staff_client, register_data(workspace_a, agent_a, channel="sms"))
    assert errors == {
        "channel": [
            "SMS cannot be bound through a trunk. Bind SMS to a purchased number with "
            "POST /api/v1/agents/{agent_uuid}/channels/sms."
        ]
    }


def test_sip_settings_on_whatsapp_are_refused(staff_client, workspace_a, agent_a):
    errors = refused(
        staff_client, register_data(workspace_a, agent_a, channel="whatsapp", sip_gateway="sip.example.com")
    )
    assert errors == {"__all__": ["SIP settings apply to the call channel only."]}


def test_an_agent_of_another_workspace_is_not_found(staff_client, workspace_a, workspace_b, agent_a, agent_b):
    errors = refused(staff_client, register_data(workspace_a, agent_b))
    assert errors == {"agent": ["Agent not found."]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "sip_gateway",
            "sip://sip.example.com:5060",
            "Enter a host name or IP address only, without scheme, port or path (e.g. sip.example.com).",
        ),
        ("sip_secondary_gateway", "https://backup", "Enter a host name or IP address only"),
        ("sip_port", "70000", "Must be a whole number from 1 to 65535."),
        ("sip_port", "abc", "Must be a whole number from 1 to 65535."),
        ("sip_password", "x" * 256, "At most 255 characters."),
        ("sip_username", "u" * 256, "At most 255 characters."),
        ("name", "n" * 256, "At most 255 characters."),
        ("additional_settings", "[1, 2]", 'Must be a JSON object, e.g. {"region": "eu"}.'),
        ("additional_settings", json.dumps({"blob": "x" * 17000}), "At most 16 KiB of JSON."),
        ("additional_settings", "{not json", "Enter a valid JSON."),
    ],
)
def test_a_bad_field_is_refused_next_to_that_field(staff_client, workspace_a, agent_a, field, value, message):
    errors = refused(staff_client, register_data(workspace_a, agent_a, **{field: value}))
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)


def test_several_mistakes_are_all_reported_at_once(staff_client, workspace_a, agent_a):
    errors = refused(
        staff_client,
        register_data(workspace_a, agent_a, phone_number="555", sip_gateway="http://x", sip_port="0"),
    )
    assert set(errors) == {"phone_number", "sip_gateway", "sip_port"}


def test_a_refused_form_never_renders_the_credentials_back(staff_client, workspace_a, agent_a, trunk_a):
    response = staff_client.post(
        REGISTER_URL,
        register_data(
            workspace_a,
            agent_a,
            phone_number="+1 202 555 0144",
            sip_username=MARKER_USERNAME,
            sip_password=MARKER_PASSWORD,
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert MARKER_PASSWORD not in html
    assert MARKER_USERNAME not in html


def test_the_register_form_lists_only_the_agents_of_the_workspace_given_in_the_address(
    staff_client, workspace_a, agents_a, agents_b
):
    html = staff_client.get(f"{REGISTER_URL}?workspace={workspace_a.pk}&phone_number=%2B12025550143").content.decode()
    assert "A agent 2" in html
    assert "B agent 1" not in html
    assert 'value="+12025550143"' in html


def test_the_register_form_takes_credentials_as_sensitive_post_parameters(staff_client, workspace_a, agent_a):
    response = staff_client.post(REGISTER_URL, register_data(workspace_a, agent_a, sip_password=MARKER_PASSWORD))
    assert response.wsgi_request.sensitive_post_parameters == (
        "sip_username",
        "sip_password",
        "wa_access_token",
        "wa_app_secret",
    )
