"""Every mistake of a submit at once (`all-at-once`), on the self-serve and admin forms and the API;
the agent conflict names and links the number holding the agent; the agent search by name or
UUID, its busy marks, and its cost with many agents; secrets dropped after an error are said so.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.models import Agent, ChannelBinding, PhoneNumber
from tests import api_support
from tests.conftest import MARKER_PASSWORD
from tests.test_admin_register import refused
from tests.test_pages_numbers import REGISTER, detail_url, field_errors, register_data

pytestmark = pytest.mark.django_db
api = api_support.api

FIVE_MISTAKES = {
    "phone_number": "+1 202 555 01",  # too short
    "agent": "",  # no agent
    "sip_gateway": "sip:gw.example.com",  # a URI, not a host
    "sip_port": "99999",  # out of range
    "additional_settings": "{not json",  # not JSON
}


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def logged_in(client, customer_a):
    client.force_login(customer_a)
    return client


def typed(chosen, **overrides) -> dict[str, str]:
    return {**register_data(chosen), **overrides}


def all_field_errors(html: str) -> dict[str, list[str]]:
    found = {}
    for field in re.findall(r'<ul class="field-errors" id="id_(\w+)_error">', html):
        found[field] = field_errors(html, field)
    return found


def test_the_register_form_shows_five_mistakes_after_one_submit(logged_in, agent_a):
    response = logged_in.post(REGISTER, typed(agent_a, **FIVE_MISTAKES))
    assert response.status_code == 200
    errors = all_field_errors(response.content.decode())
    assert sorted(errors) == ["additional_settings", "agent", "phone_number", "sip_gateway", "sip_port"]
    assert all(len(messages) == 1 for messages in errors.values()), errors
    assert errors["agent"] == ["Choose an agent: type its name or UUID."]
    assert "There are 5 problems" in response.content.decode()
    assert PhoneNumber.objects.count() == 0 and ChannelBinding.objects.count() == 0


def test_a_dry_run_after_a_form_error_writes_nothing_and_leaves_no_history(logged_in, agent_a):
    before = (PhoneNumber.history.count(), ChannelBinding.history.count())
    logged_in.post(REGISTER, typed(agent_a, additional_settings="{not json"))
    assert (PhoneNumber.history.count(), ChannelBinding.history.count()) == before
    assert PhoneNumber.objects.count() == 0


def test_a_number_conflict_and_an_agent_conflict_come_together(logged_in, trunk_a, agent_a):
    # The number is bound on call, and agent_a already answers call on it.
    html = logged_in.post(REGISTER, typed(agent_a, phone_number="+1 234 567 8901")).content.decode()
    assert field_errors(html, "phone_number")[0].startswith("This number is already bound on call.")
    assert field_errors(html, "agent")[0].startswith("A agent 1 already answers call on +1 234-567-8901.")


def test_the_api_reports_input_mistakes_and_an_unknown_agent_in_one_answer(api, workspace_a):
    response = api.post(
        "/phone-numbers/trunks",
        {
            "phone_number": "+1 202 555 01",
            "channel": "call",
            "agent_uuid": "8a1f3f4e-0000-4000-8000-000000000000",
            "sip": {"gateway": "sip:gw", "port": 99999},
        },
    )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert sorted(fields) == ["agent_uuid", "phone_number", "sip.gateway", "sip.port"]
    assert fields["agent_uuid"] == ["Agent not found."]


def test_the_api_reports_a_conflict_with_the_input_mistakes(api, trunk_a, agents_a):
    response = api.post(
        "/phone-numbers/trunks",
        {
            "phone_number": "+12345678901",
            "channel": "call",
            "agent_uuid": str(agents_a[1].agent_uuid),
            "sip": {"port": 0},
        },
    )
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["phone_number"] == [
        "This number is already bound on call. Delete or reassign the existing call binding first."
    ]
    assert "sip.port" in fields


def test_the_edit_form_shows_json_and_sip_mistakes_together(logged_in, trunk_a):
    url = f"{detail_url(trunk_a.phone_number)}call/edit/"
    response = logged_in.post(
        url,
        {
            "name": "",
            "direction": "both",
            "sip_gateway": "sip:gw.example.com",
            "sip_port": "99999",
            "sip_secondary_gateway": "",
            "sip_transport": "udp",
            "sip_number_format": "e164",
            "additional_settings": "[1, 2",
        },
    )
    errors = all_field_errors(response.content.decode())
    assert sorted(errors) == ["additional_settings", "sip_gateway", "sip_port"]
    trunk_a.refresh_from_db()
    assert trunk_a.sip_port != 99999


def test_the_admin_register_form_shows_every_mistake_at_once(staff_client, workspace_a, agent_a):
    errors = refused(
        staff_client,
        {
            "workspace": workspace_a.pk,
            "phone_number": "+1 202 555 01",
            "channel": "call",
            "agent": "",
            "sip_gateway": "sip:gw.example.com",
            "sip_port": "99999",
            "additional_settings": "{not json",
        },
    )
    assert sorted(errors) == ["additional_settings", "agent", "phone_number", "sip_gateway", "sip_port"]


def test_the_agent_conflict_links_the_number_holding_the_agent(logged_in, trunk_a, agent_a):
    html = logged_in.post(REGISTER, typed(agent_a)).content.decode()
    holder = trunk_a.phone_number
    assert f'href="/app/ws-a/numbers/{holder.phone_number_uuid}/">Open +1 234-567-8901</a>' in html


def test_a_typed_password_dropped_after_an_error_is_said_so_next_to_it(logged_in, agent_a):
    html = logged_in.post(REGISTER, typed(agent_a, sip_port="99999")).content.decode()
    assert MARKER_PASSWORD not in html
    hint = re.search(r'<p class="hint" id="id_sip_password_helptext">(.*?)</p>', html).group(1)
    assert hint == "Not kept, for your safety: type it again before you save."


# --- the agent search ------------------------------------------------------------------------------


def test_an_agent_is_chosen_by_its_name_in_any_case(logged_in, agent_a):
    response = logged_in.post(REGISTER, typed(agent_a, agent="  a AGENT 1 "))
    assert response.status_code == 302
    assert ChannelBinding.objects.get().agent == agent_a


def test_an_agent_is_chosen_by_its_uuid(logged_in, agents_a):
    response = logged_in.post(REGISTER, typed(agents_a[2], agent=str(agents_a[2].agent_uuid)))
    assert response.status_code == 302
    assert ChannelBinding.objects.get().agent == agents_a[2]


def test_an_ambiguous_or_unknown_agent_name_is_refused_next_to_the_agent(logged_in, workspace_a, agent_a):
    Agent.objects.create(workspace=workspace_a, name="Twin")
    Agent.objects.create(workspace=workspace_a, name="twin")
    html = logged_in.post(REGISTER, typed(agent_a, agent="Twin")).content.decode()
    assert field_errors(html, "agent") == ["2 agents are named “Twin”: use the agent's UUID instead."]
    html = logged_in.post(REGISTER, typed(agent_a, agent="Nobody")).content.decode()
    assert field_errors(html, "agent") == ["No agent of this workspace is named or has the UUID “Nobody”."]


def test_another_workspaces_agent_is_not_found_by_name_or_uuid(logged_in, agent_a, agent_b):
    for text in (agent_b.name, str(agent_b.agent_uuid)):
        html = logged_in.post(REGISTER, typed(agent_a, agent=text)).content.decode()
        assert field_errors(html, "agent")[0].startswith("No agent of this workspace")
    assert ChannelBinding.objects.count() == 0


def test_find_agents_lists_the_matches_with_busy_ones_marked_and_saves_nothing(logged_in, trunk_a, agents_a):
    data = typed(agents_a[0], agent="agent", find_agent="1")
    response = logged_in.post(REGISTER, data)
    html = response.content.decode()
    assert response.status_code == 200 and PhoneNumber.objects.count() == 1  # trunk_a's only
    matches = re.search(r"<div class=\"agent-matches\".*?</div>", html, re.S).group(0)
    assert "3 agents match “agent”" in matches
    assert "A agent 1</strong>" in matches and "already answers call on +12345678901" in matches
    assert matches.count("already answers") == 1
    assert 'class="field-errors"' not in html  # a search, not a refused submit
    assert 'value="A agent 2">A agent 2</option>' in html  # the datalist


def test_the_agent_search_costs_the_same_queries_with_ten_thousand_agents(logged_in, workspace_a, agent_a):
    def page_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = logged_in.get(REGISTER)
        return len(captured), len(response.content)

    few, few_bytes = page_queries()
    Agent.objects.bulk_create([Agent(workspace=workspace_a, name=f"Bulk agent {i:05d}") for i in range(10_000)])
    many, many_bytes = page_queries()
    with CaptureQueriesContext(connection) as captured:
        logged_in.post(REGISTER, {"agent": "Bulk agent 0999", "find_agent": "1", "channel": "call"})
    print(
        f"[agent search] queries with 3 agents: {few}; with 10,003: {many}; find: {len(captured)}; "
        f"page bytes {few_bytes} -> {many_bytes}"
    )
    assert many == few
    assert many_bytes - few_bytes < 4_000  # at most 20 suggestions, never the whole list
    assert len(captured) <= few + 2


def test_reassign_and_bind_use_the_agent_search(logged_in, trunk_a, purchased_a, agents_a):
    response = logged_in.post(f"{detail_url(trunk_a.phone_number)}call/assign/", {"agent": "A agent 3"})
    assert response.status_code == 302
    trunk_a.refresh_from_db()
    assert trunk_a.agent == agents_a[2]
    response = logged_in.post(f"{detail_url(purchased_a)}call/bind/", {"agent": "A agent 3"})
    html = html_lib.unescape(response.content.decode())
    assert "A agent 3 already answers call on +1 234-567-8901." in html
    assert f'href="/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/"' in html


def test_the_admin_says_a_typed_password_was_not_kept(staff_client, workspace_a, agent_a):
    from tests.admin_support import REGISTER_URL

    response = staff_client.post(
        REGISTER_URL,
        {
            "workspace": workspace_a.pk,
            "phone_number": "+1 202 555 0144",
            "channel": "call",
            "agent": agent_a.pk,
            "sip_port": "99999",
            "sip_password": MARKER_PASSWORD,
        },
    )
    html = response.content.decode()
    assert MARKER_PASSWORD not in html
    assert "Not kept, for your safety: type it again before you save." in html


def test_the_reassign_form_shows_the_current_agent_by_name_or_by_uuid_when_shared(
    logged_in, trunk_a, agent_a, workspace_a
):
    url = f"{detail_url(trunk_a.phone_number)}call/assign/"
    assert 'value="A agent 1"' in logged_in.get(url).content.decode()
    Agent.objects.create(workspace=workspace_a, name="a agent 1")
    assert f'value="{agent_a.agent_uuid}"' in logged_in.get(url).content.decode()


def test_the_agent_conflict_is_linked_when_it_comes_with_a_form_error(logged_in, trunk_a, agent_a):
    html = logged_in.post(REGISTER, typed(agent_a, additional_settings="{not json")).content.decode()
    assert sorted(all_field_errors(html)) == ["additional_settings", "agent"]
    assert f'href="/app/ws-a/numbers/{trunk_a.phone_number.phone_number_uuid}/">Open +1 234-567-8901</a>' in html
