"""Self-serve number pages: list, register, detail, edit, reassign, delete, activity.

Every write goes through the real services; the assertions read the database afterwards.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.db import connection

from channels_app import selectors, services
from channels_app.fields import FERNET_PREFIX
from channels_app.models import Agent, ChannelBinding, PhoneNumber
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db

REGISTER = "/app/ws-a/numbers/register/"


@pytest.fixture
def logged_in(client, customer_a):
    client.force_login(customer_a)
    return client


def detail_url(number) -> str:
    return f"/app/ws-a/numbers/{number.phone_number_uuid}/"


def field_errors(html: str, field: str) -> list[str]:
    """The messages shown next to a field (its <ul id="id_<field>_error">)."""
    block = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, flags=re.S)
    if block is None:
        return []
    items = re.findall(r"<li><span class=\"visually-hidden\">Error: </span>(.*?)</li>", block.group(1), flags=re.S)
    return [html_lib.unescape(item) for item in items]


def input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html_lib.unescape(value.group(1)) if value else None


def register_data(agent, **overrides) -> dict[str, str]:
    data = {
        "phone_number": "+1 (202) 555-0147",
        "channel": "call",
        "agent": str(agent.agent_uuid),
        "name": "",
        "direction": "both",
        "sip_gateway": "sip.example.net",
        "sip_port": "5080",
        "sip_secondary_gateway": "",
        "sip_username": MARKER_USERNAME,
        "sip_password": MARKER_PASSWORD,
        "additional_settings": '{"region": "eu"}',
    }
    data.update(overrides)
    return data


# --- list ------------------------------------------------------------------------------------------


def test_the_list_shows_each_numbers_state_per_channel(logged_in, trunk_a, purchased_a, agents_a, command_actor):
    services.sms_assign(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    html = logged_in.get("/app/ws-a/numbers/").content.decode()
    assert "+1 234-567-8901" in html and "+1 202-555-0101" in html
    assert "call_trunk_12345678901 · both" in html
    assert 'data-health-light="none"' in html and "Not checked yet" in html
    assert "A agent 1" in html and "A agent 2" in html
    assert "External" in html and "Purchased" in html
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


@pytest.mark.parametrize("spelling", ["+1 234 567 8901", "1-234-567-8901", "(234) 567.8901", "45678"])
def test_the_list_finds_a_number_in_any_spelling(logged_in, trunk_a, purchased_a, spelling):
    response = logged_in.get("/app/ws-a/numbers/", {"search": spelling})
    assert [number.e164 for number in response.context["object_list"]] == ["+12345678901"]
    assert "1 number matches your filters" in response.content.decode()


def test_a_search_without_digits_says_how_to_search(logged_in, trunk_a):
    response = logged_in.get("/app/ws-a/numbers/", {"search": "acme"})
    assert field_errors(response.content.decode(), "search") == ["Search by the digits of the number."]
    assert list(response.context["object_list"]) == []


def test_the_list_filters_by_source_channel_and_agent(logged_in, trunk_a, purchased_a, agents_a):
    def numbers(**query):
        return [number.e164 for number in logged_in.get("/app/ws-a/numbers/", query).context["object_list"]]

    assert numbers(source="purchased") == ["+12025550101"]
    assert numbers(source="external") == ["+12345678901"]
    assert numbers(channel="call") == ["+12345678901"]
    assert numbers(channel="sms") == []
    assert numbers(agent=str(agents_a[0].agent_uuid)) == ["+12345678901"]
    assert numbers(agent=str(agents_a[1].agent_uuid)) == []


def test_the_list_paginates_and_keeps_the_filters_in_its_links(logged_in, workspace_a, agents_a, command_actor):
    for i in range(23):
        services.number_add_purchased(workspace=workspace_a, actor=command_actor, number=f"+1202555{1200 + i:04d}")
    first = logged_in.get("/app/ws-a/numbers/", {"search": "+1 202", "source": "purchased"})
    assert len(first.context["object_list"]) == 20
    assert 'href="?search=%2B1+202&amp;source=purchased&amp;page=2"' in first.content.decode()
    second = logged_in.get("/app/ws-a/numbers/", {"search": "+1 202", "source": "purchased", "page": 2})
    assert len(second.context["object_list"]) == 3
    assert "Page 2 of 2" in second.content.decode()


def test_the_list_costs_the_same_queries_for_3_or_30_numbers(
    logged_in, workspace_a, agents_a, command_actor, django_assert_max_num_queries
):
    def add_trunks(start: int, count: int) -> None:
        for i in range(start, start + count):
            agent = Agent.objects.create(workspace=workspace_a, name=f"bulk {i}")
            services.trunk_register(
                workspace=workspace_a,
                actor=command_actor,
                phone_number=f"+1202555{1300 + i:04d}",
                agent_uuid=agent.agent_uuid,
                channel="call",
                sip={"username": "u", "password": "p"},
            )

    add_trunks(0, 3)
    with django_assert_max_num_queries(9):
        assert logged_in.get("/app/ws-a/numbers/").status_code == 200
    add_trunks(3, 27)
    with django_assert_max_num_queries(9):
        response = logged_in.get("/app/ws-a/numbers/")
    assert len(response.context["object_list"]) == 20


# --- register --------------------------------------------------------------------------------------


def test_a_customer_registers_a_call_trunk_with_sip_credentials(logged_in, customer_a, agents_a):
    response = logged_in.post(REGISTER, register_data(agents_a[1]))
    number = PhoneNumber.objects.get(number="+12025550147")
    assert response.status_code == 302
    assert response["Location"] == detail_url(number)
    binding = ChannelBinding.objects.get(phone_number=number)
    assert (binding.channel, binding.agent, binding.name, binding.direction) == (
        "call",
        agents_a[1],
        "call_trunk_12025550147",
        "both",
    )
    assert (binding.sip_gateway, binding.sip_port) == ("sip.example.net", "5080")
    assert (binding.sip_username, binding.sip_password) == (MARKER_USERNAME, MARKER_PASSWORD)
    assert binding.additional_settings == {"region": "eu"}
    assert number.source == "external" and number.country_code == "US"
    history = binding.history.latest()
    assert (history.door, history.actor_label, history.history_user) == ("self_serve", "customer-a", customer_a)
    assert sorted(history.secrets_changed) == ["sip_password", "sip_username"]
    page = logged_in.get(response["Location"]).content.decode()
    assert "is registered on Call and answered by A agent 2" in page


def test_the_default_name_is_shown_as_a_placeholder_and_used_when_left_blank(logged_in, agent_a):
    html = logged_in.get(REGISTER).content.decode()
    assert 'placeholder="call_trunk_&lt;digits&gt;"' in html
    assert "has no agents yet" not in html
    logged_in.post(
        REGISTER,
        register_data(agent_a, channel="whatsapp", sip_gateway="", sip_port="", sip_username="", sip_password=""),
    )
    binding = ChannelBinding.objects.get(phone_number__number="+12025550147")
    assert (binding.name, binding.direction) == ("whatsapp_trunk_12025550147", None)


def test_a_number_already_bound_is_refused_next_to_the_number_and_the_form_keeps_what_was_typed(
    logged_in, trunk_a, agents_a
):
    response = logged_in.post(
        REGISTER, register_data(agents_a[1], phone_number="+1 234 567 8901", sip_gateway="sip.other.example")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(html, "phone_number") == [
        "This number is already bound on call. Delete or reassign the existing call binding first."
    ]
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*name="phone_number"[^>]*>', html).group(0)
    assert 'role="alert"' in html
    assert f'href="{detail_url(trunk_a.phone_number)}"' in html  # a way to the number that holds it
    assert input_value(html, "phone_number") == "+1 234 567 8901"
    assert input_value(html, "sip_gateway") == "sip.other.example"
    assert input_value(html, "sip_password") is None and input_value(html, "sip_username") is None
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html
    assert ChannelBinding.objects.count() == 1


def test_every_mistake_is_shown_next_to_its_own_field_at_once(logged_in, agent_a):
    response = logged_in.post(
        REGISTER,
        register_data(agent_a, sip_gateway="sip://bad:5060", sip_port="70000", additional_settings="[1, 2]"),
    )
    html = response.content.decode()
    assert field_errors(html, "sip_gateway") == [
        "Enter a host name or IP address only, without scheme, port or path (e.g. sip.example.com)."
    ]
    assert field_errors(html, "sip_port") == ["Must be a whole number from 1 to 65535."]
    assert field_errors(html, "additional_settings") == ['Must be a JSON object, e.g. {"region": "eu"}.']
    assert "There are 3 problems" in html
    assert PhoneNumber.objects.count() == 0


def test_additional_settings_that_are_not_json_say_where_the_mistake_is(logged_in, agent_a):
    html = logged_in.post(REGISTER, register_data(agent_a, additional_settings='{"region": eu}')).content.decode()
    assert field_errors(html, "additional_settings") == ["This is not valid JSON (line 1, column 12: Expecting value)."]
    assert input_value(html, "phone_number") == "+1 (202) 555-0147"
    assert PhoneNumber.objects.count() == 0


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("202 555 0147", "national formats are not accepted"),
        ("tel:+12025550147", "tel: uris are not accepted"),
        ("+1 202 555 0147 ext 12", "extensions are not accepted"),
    ],
)
def test_a_number_that_is_not_international_says_what_was_expected(logged_in, agent_a, spelling, reason):
    html = logged_in.post(REGISTER, register_data(agent_a, phone_number=spelling)).content.decode()
    (message,) = field_errors(html, "phone_number")
    assert reason in message.lower()
    assert "international format with its country code" in message
    assert PhoneNumber.objects.count() == 0


def test_sip_settings_for_whatsapp_are_refused_rather_than_dropped(logged_in, agent_a):
    html = logged_in.post(REGISTER, register_data(agent_a, channel="whatsapp")).content.decode()
    assert "SIP settings apply to the call channel only." in html
    assert PhoneNumber.objects.count() == 0


def test_a_purchased_number_of_the_workspace_is_not_registered_as_a_trunk(logged_in, purchased_a, agent_a):
    html = logged_in.post(REGISTER, register_data(agent_a, phone_number="+1 202 555 0101")).content.decode()
    assert field_errors(html, "phone_number")[0].startswith("This number is a purchased number of this workspace.")


def test_an_agent_already_serving_the_channel_is_refused_next_to_the_agent(logged_in, trunk_a, agent_a):
    html = logged_in.post(REGISTER, register_data(agent_a)).content.decode()
    assert field_errors(html, "agent") == [
        "A agent 1 already answers call on +1 234-567-8901. "
        "An agent serves at most one number per channel: unbind it there or choose another agent."
    ]


def test_sms_is_not_offered_as_a_trunk_channel(logged_in, agent_a):
    html = logged_in.get(REGISTER).content.decode()
    assert 'value="sms"' not in html
    response = logged_in.post(REGISTER, register_data(agent_a, channel="sms"))
    assert field_errors(response.content.decode(), "channel")[0].startswith("Select a valid choice.")


def test_the_register_page_links_a_new_channel_of_an_external_number(logged_in, trunk_a):
    html = logged_in.get(detail_url(trunk_a.phone_number)).content.decode()
    link = "/app/ws-a/numbers/register/?phone_number=%2B12345678901&amp;channel=whatsapp"
    assert link in html
    form = logged_in.get(html_lib.unescape(link)).content.decode()
    assert input_value(form, "phone_number") == "+12345678901"
    assert re.search(r'<input type="radio" name="channel" value="whatsapp"[^>]*checked', form)


# --- detail ---------------------------------------------------------------------------------------


def test_the_detail_page_shows_the_snapshot_per_channel_without_secrets(
    logged_in, trunk_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        response = logged_in.get(detail_url(trunk_a.phone_number))
    html = response.content.decode()
    assert "+1 234-567-8901" in html
    assert "call_trunk_12345678901" in html
    assert "sip.example.com:5060" in html
    assert html.count('<span class="pill pill--ok">Set</span>') == 2  # username and password
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def test_the_activity_history_names_actor_door_and_changes_with_secrets_only_as_changed(logged_in, trunk_a, agents_a):
    logged_in.post(
        f"{detail_url(trunk_a.phone_number)}call/edit/",
        {
            "name": "front-desk",
            "direction": "inbound",
            "sip_gateway": "sip.example.com",
            "sip_password": "new-secret-1",
        },
    )
    logged_in.post(f"{detail_url(trunk_a.phone_number)}call/assign/", {"agent": str(agents_a[2].agent_uuid)})
    html = logged_in.get(detail_url(trunk_a.phone_number)).content.decode()
    events = selectors.number_events(number=trunk_a.phone_number)
    assert [e.action for e in events][:2] == ["reassigned", "updated"]
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('id="activity"')[1], flags=re.S)[1:]
    assert "customer-a" in rows[0] and "Self-serve" in rows[0] and "Reassigned" in rows[0] and "A agent 3" in rows[0]
    assert "Updated" in rows[1] and "front-desk" in rows[1] and "Inbound" in rows[1]
    # Each edit reads as before -> after, in words: the old agent struck through, then the new one.
    reassigned = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0]))
    assert f"Agent from {agents_a[0].name} → to {agents_a[2].name}" in reassigned, reassigned
    assert "Direction from Both → to Inbound" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[1]))
    assert re.search(r"SIP password</span> <span class=\"changes__value changes__value--secret\">changed", rows[1])
    assert "tests" in rows[-1] and "Command" in rows[-1]
    assert "new-secret-1" not in html and MARKER_PASSWORD not in html and MARKER_USERNAME not in html


# --- edit ------------------------------------------------------------------------------------------


def edit(client, trunk, **data):
    defaults = {"name": trunk.name, "direction": trunk.direction or "", "sip_gateway": "sip.example.com"}
    return client.post(f"{detail_url(trunk.phone_number)}{trunk.channel}/edit/", {**defaults, **data})


def test_the_edit_form_shows_gateway_and_settings_but_never_the_credentials(logged_in, trunk_a):
    html = logged_in.get(f"{detail_url(trunk_a.phone_number)}call/edit/").content.decode()
    assert input_value(html, "sip_gateway") == "sip.example.com"
    assert input_value(html, "sip_username") is None and input_value(html, "sip_password") is None
    assert "A password is saved. Leave blank to keep it" in html
    assert 'name="clear_password"' in html and 'name="clear_username"' in html
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def test_blank_credentials_keep_the_saved_ones(logged_in, trunk_a):
    response = edit(logged_in, trunk_a, name="renamed", direction="outbound")
    assert response.status_code == 302
    trunk_a.refresh_from_db()
    assert (trunk_a.name, trunk_a.direction) == ("renamed", "outbound")
    assert (trunk_a.sip_username, trunk_a.sip_password) == (MARKER_USERNAME, MARKER_PASSWORD)
    assert trunk_a.history.latest().secrets_changed == []


def test_a_typed_password_replaces_the_saved_one(logged_in, trunk_a):
    edit(logged_in, trunk_a, sip_password="replacement-pw")
    trunk_a.refresh_from_db()
    assert (trunk_a.sip_username, trunk_a.sip_password) == (MARKER_USERNAME, "replacement-pw")
    assert trunk_a.credentials_updated_at is not None


def test_the_remove_tick_box_clears_a_saved_credential(logged_in, trunk_a):
    edit(logged_in, trunk_a, clear_password="on")
    trunk_a.refresh_from_db()
    assert (trunk_a.sip_username, trunk_a.sip_password) == (MARKER_USERNAME, None)
    html = logged_in.get(detail_url(trunk_a.phone_number)).content.decode()
    assert html.count('<span class="pill pill--muted">Not set</span>') == 1


def test_typing_a_password_and_ticking_remove_is_refused(logged_in, trunk_a):
    html = edit(logged_in, trunk_a, clear_password="on", sip_password="both-at-once").content.decode()
    assert field_errors(html, "sip_password") == ["Either type a new value or tick “remove”, not both."]
    trunk_a.refresh_from_db()
    assert trunk_a.sip_password == MARKER_PASSWORD
    assert "both-at-once" not in html


def test_emptying_the_gateway_clears_it_and_a_blank_name_goes_back_to_the_default(logged_in, trunk_a):
    edit(logged_in, trunk_a, name="", sip_gateway="")
    trunk_a.refresh_from_db()
    assert (trunk_a.name, trunk_a.sip_gateway) == ("call_trunk_12345678901", None)


def test_additional_settings_are_replaced_whole_and_emptied_to_clear(logged_in, trunk_a):
    edit(logged_in, trunk_a, additional_settings='{"a": 1}')
    trunk_a.refresh_from_db()
    assert trunk_a.additional_settings == {"a": 1}
    edit(logged_in, trunk_a, additional_settings="")
    trunk_a.refresh_from_db()
    assert trunk_a.additional_settings == {}


def test_an_invalid_edit_shows_the_error_and_changes_nothing(logged_in, trunk_a):
    html = edit(logged_in, trunk_a, name="x" * 300, sip_port="0").content.decode()
    assert field_errors(html, "name") == ["At most 255 characters."]
    assert field_errors(html, "sip_port") == ["Must be a whole number from 1 to 65535."]
    trunk_a.refresh_from_db()
    assert trunk_a.name == "call_trunk_12345678901" and trunk_a.sip_port is None


def test_a_whatsapp_trunk_edit_has_no_sip_or_direction(logged_in, trunk_a, agents_a, command_actor):
    whatsapp = services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    html = logged_in.get(f"{detail_url(trunk_a.phone_number)}whatsapp/edit/").content.decode()
    assert 'name="sip_gateway"' not in html and 'name="direction"' not in html
    response = logged_in.post(f"{detail_url(trunk_a.phone_number)}whatsapp/edit/", {"name": "wa"})
    assert response.status_code == 302
    whatsapp.refresh_from_db()
    assert (whatsapp.name, whatsapp.direction) == ("wa", None)


def test_a_purchased_numbers_binding_has_no_trunk_to_edit(logged_in, purchased_a, agent_a, command_actor):
    services.call_provision(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    assert logged_in.get(f"{detail_url(purchased_a)}call/edit/").status_code == 404
    assert logged_in.get(f"{detail_url(purchased_a)}call/assign/").status_code == 200
    assert logged_in.get(f"{detail_url(purchased_a)}sms/assign/").status_code == 404
    assert logged_in.get(f"{detail_url(purchased_a)}fax/assign/").status_code == 404


# --- reassign --------------------------------------------------------------------------------------


def test_reassigning_changes_only_the_agent(logged_in, trunk_a, agents_a):
    response = logged_in.post(f"{detail_url(trunk_a.phone_number)}call/assign/", {"agent": str(agents_a[1].agent_uuid)})
    assert response.status_code == 302
    trunk_a.refresh_from_db()
    assert trunk_a.agent == agents_a[1]
    assert (trunk_a.sip_password, trunk_a.name) == (MARKER_PASSWORD, "call_trunk_12345678901")


def test_reassigning_to_an_agent_busy_on_the_channel_is_refused_next_to_the_agent(
    logged_in, trunk_a, agents_a, command_actor
):
    services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number="+12025550188",
        agent_uuid=agents_a[1].agent_uuid,
        channel="call",
    )
    response = logged_in.post(f"{detail_url(trunk_a.phone_number)}call/assign/", {"agent": str(agents_a[1].agent_uuid)})
    assert field_errors(response.content.decode(), "agent") == [
        "A agent 2 already answers call on +1 202-555-0188. "
        "An agent serves at most one number per channel: unbind it there or choose another agent."
    ]
    trunk_a.refresh_from_db()
    assert trunk_a.agent == agents_a[0]


def test_reassigning_a_purchased_numbers_binding_goes_through_the_same_rules(
    logged_in, purchased_a, agents_a, command_actor
):
    services.sms_assign(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agents_a[0].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    response = logged_in.post(f"{detail_url(purchased_a)}sms/assign/", {"agent": str(agents_a[2].agent_uuid)})
    assert response.status_code == 302
    assert ChannelBinding.objects.get(phone_number=purchased_a, channel="sms").agent == agents_a[2]


# --- delete ----------------------------------------------------------------------------------------


def test_deleting_the_last_trunk_asks_first_then_removes_the_number(logged_in, trunk_a):
    url = f"{detail_url(trunk_a.phone_number)}call/delete/"
    confirm = logged_in.get(url).content.decode()
    assert "Delete the Call trunk?" in confirm
    assert "leaves your numbers too" in confirm
    assert ChannelBinding.objects.count() == 1
    response = logged_in.post(url)
    assert response.status_code == 302 and response["Location"] == "/app/ws-a/numbers/"
    assert not PhoneNumber.objects.filter(number="+12345678901").exists()
    assert "has left your numbers" in logged_in.get("/app/ws-a/numbers/").content.decode()


def test_deleting_one_channel_keeps_the_others(logged_in, trunk_a, agents_a, command_actor):
    services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    url = f"{detail_url(trunk_a.phone_number)}call/delete/"
    assert "Its other channels (WhatsApp) stay as they are." in logged_in.get(url).content.decode()
    response = logged_in.post(url)
    assert response["Location"] == detail_url(trunk_a.phone_number)
    assert list(ChannelBinding.objects.values_list("channel", flat=True)) == ["whatsapp"]


def test_unbinding_a_purchased_number_keeps_the_number(logged_in, purchased_a, agent_a, command_actor):
    services.call_provision(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    assert "Unbind Call?" in logged_in.get(f"{detail_url(purchased_a)}call/delete/").content.decode()
    logged_in.post(f"{detail_url(purchased_a)}call/delete/")
    assert PhoneNumber.objects.filter(pk=purchased_a.pk).exists()
    assert not ChannelBinding.objects.exists()


# --- secrets end to end ----------------------------------------------------------------------------


def test_a_marker_password_typed_on_the_pages_is_stored_encrypted_and_served_nowhere(logged_in, agents_a):
    """Register, fail, edit and browse with the marker: no page carries it; the database holds ciphertext."""
    served = []

    def keep(response):
        served.append(response.content.decode())
        return response

    keep(logged_in.post(REGISTER, register_data(agents_a[0])))
    number = PhoneNumber.objects.get(number="+12025550147")
    keep(logged_in.post(REGISTER, register_data(agents_a[1])))  # already bound: the form comes back
    keep(logged_in.post(REGISTER, register_data(agents_a[1], sip_port="bad")))
    url = detail_url(number)
    keep(logged_in.post(f"{url}call/edit/", {"direction": "both", "sip_password": MARKER_PASSWORD, "sip_port": "0"}))
    for page in ("/app/ws-a/numbers/", url, f"{url}call/edit/", f"{url}call/assign/", f"{url}call/delete/"):
        keep(logged_in.get(page))
    assert len(served) == 9
    assert all(MARKER_PASSWORD not in html and MARKER_USERNAME not in html for html in served)

    with connection.cursor() as cursor:
        cursor.execute("SELECT sip_username, sip_password FROM channels_app_channelbinding")
        ((username, password),) = cursor.fetchall()
    assert username.startswith(FERNET_PREFIX) and password.startswith(FERNET_PREFIX)
    assert MARKER_PASSWORD not in password and MARKER_USERNAME not in username
    history_columns = [
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), "channels_app_historicalchannelbinding"
        )
    ]
    assert "sip_password" not in history_columns and "sip_username" not in history_columns


HOSTILE = [
    "\x00",
    "x" * 10_000,
    "\u202etxt.exe",
    "📞☎️",
    "<script>alert(1)</script>",
    "'; DROP TABLE channels_app_phonenumber; --",
    '{"a": "\\u0000"}',
]


def test_hostile_text_in_every_field_is_refused_or_escaped_never_a_crash(logged_in, trunk_a, agents_a):
    url = detail_url(trunk_a.phone_number)
    for value in HOSTILE:
        posts = [
            (REGISTER, dict.fromkeys(register_data(agents_a[1]), value) | {"channel": "call"}),
            (
                f"{url}call/edit/",
                {
                    "name": value,
                    "direction": value,
                    "sip_gateway": value,
                    "sip_port": value,
                    "sip_username": value,
                    "sip_password": value,
                    "additional_settings": value,
                },
            ),
            (f"{url}call/assign/", {"agent": value}),
            ("/app/ws-a/tokens/", {"name": value, "scope": value, "expires_in": value}),
        ]
        for path, data in posts:
            response = logged_in.post(path, data)
            assert response.status_code in (200, 302), (path, value[:20], response.status_code)
            assert b"<script>alert(1)</script>" not in response.content
        for query in ({"search": value}, {"source": value}, {"agent": value}, {"page": value}):
            response = logged_in.get("/app/ws-a/numbers/", query)
            assert response.status_code in (200, 404), (query, response.status_code)
            assert b"<script>alert(1)</script>" not in response.content
    assert PhoneNumber.objects.count() == 1
    trunk_a.refresh_from_db()
    assert (trunk_a.sip_password, trunk_a.agent) == (MARKER_PASSWORD, agents_a[0])


def test_views_that_take_credentials_hide_them_from_error_reports(logged_in, trunk_a, agent_a):
    response = logged_in.post(REGISTER, register_data(agent_a))
    credentials = ("sip_username", "sip_password", "wa_access_token", "wa_app_secret")
    assert response.wsgi_request.sensitive_post_parameters == credentials
    response = logged_in.post(f"{detail_url(trunk_a.phone_number)}call/edit/", {"sip_password": "x"})
    assert response.wsgi_request.sensitive_post_parameters == credentials


# --- binding a purchased number ----------------------------------------------------------------------


def test_an_unbound_purchased_number_is_bound_to_an_agent_on_call(logged_in, purchased_a, agent_a, customer_a):
    detail = logged_in.get(detail_url(purchased_a)).content.decode()
    assert f'href="{detail_url(purchased_a)}call/bind/"' in detail
    assert f'href="{detail_url(purchased_a)}sms/bind/"' in detail
    assert f"{detail_url(purchased_a)}whatsapp/bind/" not in detail
    response = logged_in.post(f"{detail_url(purchased_a)}call/bind/", {"agent": str(agent_a.agent_uuid)})
    assert response.status_code == 302 and response["Location"] == detail_url(purchased_a)
    binding = ChannelBinding.objects.get(phone_number=purchased_a, channel="call")
    assert (binding.agent, binding.is_trunk) == (agent_a, False)
    assert (binding.history.latest().door, binding.history.latest().history_user) == ("self_serve", customer_a)
    assert "Call is now answered by A agent 1." in logged_in.get(response["Location"]).content.decode()


def test_binding_sms_moves_the_agents_sms_from_its_previous_number(
    logged_in, purchased_a, workspace_a, agent_a, command_actor
):
    other = services.number_add_purchased(
        workspace=workspace_a, actor=command_actor, number="+12025550155", capabilities={"sms": True}
    )
    services.sms_assign(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=other.phone_number_uuid,
    )
    assert "its SMS moves to this number" in logged_in.get(f"{detail_url(purchased_a)}sms/bind/").content.decode()
    logged_in.post(f"{detail_url(purchased_a)}sms/bind/", {"agent": str(agent_a.agent_uuid)})
    assert list(ChannelBinding.objects.filter(channel="sms").values_list("phone_number__number", flat=True)) == [
        "+12025550101"
    ]


def test_an_agent_busy_on_call_is_refused_next_to_the_agent_when_binding(logged_in, purchased_a, trunk_a, agent_a):
    response = logged_in.post(f"{detail_url(purchased_a)}call/bind/", {"agent": str(agent_a.agent_uuid)})
    assert field_errors(response.content.decode(), "agent") == [
        "A agent 1 already answers call on +1 234-567-8901. "
        "An agent serves at most one number per channel: unbind it there or choose another agent."
    ]
    assert not ChannelBinding.objects.filter(phone_number=purchased_a).exists()


def test_only_a_capable_unbound_purchased_channel_can_be_bound(
    logged_in, purchased_a_voice_only, trunk_a, agent_a, command_actor
):
    assert logged_in.get(f"{detail_url(purchased_a_voice_only)}sms/bind/").status_code == 404  # not SMS-capable
    assert logged_in.get(f"{detail_url(purchased_a_voice_only)}whatsapp/bind/").status_code == 404
    assert logged_in.get(f"{detail_url(trunk_a.phone_number)}whatsapp/bind/").status_code == 404  # external
    services.call_provision(
        workspace=purchased_a_voice_only.workspace,
        actor=command_actor,
        agent_uuid=Agent.objects.create(workspace=purchased_a_voice_only.workspace, name="x").agent_uuid,
        phone_number_uuid=purchased_a_voice_only.phone_number_uuid,
    )
    assert logged_in.get(f"{detail_url(purchased_a_voice_only)}call/bind/").status_code == 404  # already bound


def test_the_register_page_says_so_when_the_workspace_has_no_agents(logged_in):
    assert "Workspace A has no agents yet." in logged_in.get(REGISTER).content.decode()
