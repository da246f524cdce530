"""Every admin page loads; search finds a number in any spelling; filters; flat query counts.

Changelists must stay fast on 100,000 numbers: the number of queries does not grow with the
rows shown (no N+1), and no changelist counts a whole table.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app import services
from channels_app.audit import Actor
from channels_app.models import Agent, ApiToken, ChannelBinding, Membership, PhoneNumber, Workspace
from tests.admin_support import (
    BINDINGS_URL,
    NUMBERS_URL,
    REGISTER_URL,
    TOKENS_URL,
    change_url,
    form_fields,
    history_url,
    run_action,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def listed_numbers(response) -> list[str]:
    return [str(number.number) for number in response.context["cl"].result_list]


# --- every page loads ---------------------------------------------------------------------------------


def test_every_changelist_and_add_page_loads(staff_client, trunk_a, purchased_a, token_a, customer_a):
    for model in ("workspace", "agent", "membership", "phonenumber", "channelbinding", "apitoken"):
        for suffix in ("", "add/"):
            url = f"/admin/channels_app/{model}/{suffix}"
            assert staff_client.get(url).status_code == 200, url


def test_every_change_and_history_page_loads(staff_client, trunk_a, purchased_a, token_a, customer_a, agent_a):
    whatsapp = services.trunk_register(
        workspace=trunk_a.workspace,
        actor=Actor.command("tests"),
        phone_number=trunk_a.phone_number.e164,
        agent_uuid=agent_a.agent_uuid,
        channel="whatsapp",
    )
    objects = [
        trunk_a.workspace,
        agent_a,
        Membership.objects.get(user=customer_a),
        trunk_a.phone_number,
        purchased_a,
        trunk_a,
        whatsapp,
        ApiToken.objects.first(),
    ]
    for obj in objects:
        assert staff_client.get(change_url(obj)).status_code == 200, obj
    for obj in (trunk_a.phone_number, purchased_a, trunk_a, whatsapp, ApiToken.objects.first()):
        assert staff_client.get(history_url(obj)).status_code == 200, obj


def test_the_number_page_lists_its_bindings_inline_with_their_actions(staff_client, trunk_a, agent_a):
    html = staff_client.get(change_url(trunk_a.phone_number)).content.decode()
    assert "Channel bindings" in html
    assert "A agent 1" in html and "call_trunk_12345678901" in html
    for action, form_id in (("reassign_selected", "binding-reassign-form"), ("unbind_selected", "binding-unbind-form")):
        # Each row's button names its binding; its form, outside the number's, names the action.
        assert (
            f'<button type="submit" class="binding-action-button" form="{form_id}" '
            f'name="_selected_action" value="{trunk_a.pk}">'
        ) in html
        assert re.search(rf'<form id="{form_id}" method="post" action="{BINDINGS_URL}" hidden>', html)
        assert form_fields(html, form_id) == {"action": [action]}
    assert "Register another channel" in html


def test_a_row_button_of_the_number_page_reaches_the_action_confirmation(staff_client, trunk_a):
    html = staff_client.get(change_url(trunk_a.phone_number)).content.decode()
    # What the browser sends for the row's "unbind" button: its form's fields and its own name/value.
    page = staff_client.post(BINDINGS_URL, {**form_fields(html, "binding-unbind-form"), "_selected_action": trunk_a.pk})
    assert page.status_code == 200
    assert page.templates[0].name == "admin/channels_app/channelbinding/unbind_selected_confirmation.html"
    assert form_fields(page.content.decode(), "unbind-form")["_selected_action"] == [str(trunk_a.pk)]
    assert ChannelBinding.objects.filter(pk=trunk_a.pk).exists()


def test_a_purchased_binding_is_shown_read_only(staff_client, purchased_a, agent_a, command_actor):
    services.call_provision(
        workspace=purchased_a.workspace,
        actor=command_actor,
        agent_uuid=agent_a.agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    binding = ChannelBinding.objects.get()
    response = staff_client.get(change_url(binding))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert staff_client.post(change_url(binding), {}).status_code == 403


def test_a_staff_member_without_permissions_is_refused_every_page_and_action(client, trunk_a, purchased_a, token_a):
    client.force_login(make_user("plain-staff", is_staff=True))
    for url in (
        NUMBERS_URL,
        REGISTER_URL,
        change_url(trunk_a),
        history_url(trunk_a.phone_number),
        f"{NUMBERS_URL}import/",
    ):
        assert client.get(url).status_code == 403, url
    token = ApiToken.objects.first()
    for url, action, obj in (
        (BINDINGS_URL, "reassign_selected", trunk_a),
        (BINDINGS_URL, "unbind_selected", trunk_a),
        (NUMBERS_URL, "release_selected", purchased_a),
        (TOKENS_URL, "revoke_selected", token),
    ):
        assert run_action(client, url, action, [obj]).status_code == 403, action
        assert run_action(client, url, action, [obj], confirm=True).status_code == 403, action
    assert (
        ChannelBinding.objects.filter(pk=trunk_a.pk).exists() and PhoneNumber.objects.filter(pk=purchased_a.pk).exists()
    )
    token.refresh_from_db()
    assert token.revoked_at is None


def test_staff_who_may_only_view_get_no_action_and_no_button(client, trunk_a, purchased_a, token_a):
    viewer = make_user("viewing-staff", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_channelbinding", "view_phonenumber", "view_apitoken"])
    )
    client.force_login(viewer)
    token = ApiToken.objects.first()
    for page in (change_url(trunk_a), change_url(trunk_a.phone_number), change_url(purchased_a), change_url(token)):
        html = client.get(page).content.decode()
        assert not re.search(r"(reassign|unbind|release|revoke)_selected", html), page
    for url, action, obj in (
        (BINDINGS_URL, "reassign_selected", trunk_a),
        (BINDINGS_URL, "unbind_selected", trunk_a),
        (NUMBERS_URL, "release_selected", purchased_a),
        (TOKENS_URL, "revoke_selected", token),
    ):
        for confirmed in (False, True):
            response = run_action(client, url, action, [obj], confirm=confirmed)
            # No action is offered to them: the list again (or a redirect to it), no confirmation page.
            assert response.status_code in (200, 302), action
            assert "confirmation" not in " ".join(t.name for t in response.templates), action
    assert (
        ChannelBinding.objects.filter(pk=trunk_a.pk).exists() and PhoneNumber.objects.filter(pk=purchased_a.pk).exists()
    )
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_visitors_are_sent_to_the_admin_login(client, trunk_a):
    response = client.get(NUMBERS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- search by number in any spelling ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["+1 (234) 567-8901", "12345678901", "+12345678901", "1.234.567.8901", "234-567-8901", "(234) 567 8901", "5678"],
)
def test_the_number_search_finds_a_number_in_any_spelling(staff_client, trunk_a, purchased_a, spelling):
    response = staff_client.get(NUMBERS_URL, {"q": spelling})
    assert listed_numbers(response) == ["+12345678901"]


def test_a_national_spelling_that_reads_as_another_countrys_number_still_finds_the_number(
    staff_client, workspace_a, command_actor
):
    services.number_add_purchased(workspace=workspace_a, actor=command_actor, number="+13644618640")
    # "3644618640" is also a valid Hungarian number (+36 44 618 640): the digits still find it.
    assert listed_numbers(staff_client.get(NUMBERS_URL, {"q": "364 461 8640"})) == ["+13644618640"]
    assert listed_numbers(staff_client.get(NUMBERS_URL, {"q": "+1 364 461 8640"})) == ["+13644618640"]


def test_the_number_search_ignores_a_national_trunk_prefix(staff_client, workspace_a, command_actor):
    services.number_add_purchased(workspace=workspace_a, actor=command_actor, number="+442071838750")
    for spelling in ("020 7183 8750", "0044 20 7183 8750", "+44 (0)20 7183 8750", "442071838750"):
        assert listed_numbers(staff_client.get(NUMBERS_URL, {"q": spelling})) == ["+442071838750"], spelling


def test_the_number_search_finds_a_number_by_its_uuid(staff_client, trunk_a, purchased_a):
    response = staff_client.get(NUMBERS_URL, {"q": str(purchased_a.phone_number_uuid)})
    assert listed_numbers(response) == [purchased_a.e164]


def test_a_search_without_digits_looks_at_workspace_and_location(staff_client, trunk_a, purchased_b):
    assert listed_numbers(staff_client.get(NUMBERS_URL, {"q": "Workspace B"})) == [purchased_b.e164]


def test_the_bindings_search_finds_a_trunk_by_its_number_in_any_spelling(staff_client, trunk_a, purchased_a):
    response = staff_client.get(BINDINGS_URL, {"q": "+1 (234) 567-8901"})
    assert [binding.pk for binding in response.context["cl"].result_list] == [trunk_a.pk]


# --- filters ----------------------------------------------------------------------------------------------


def test_the_number_filters_narrow_by_workspace_source_channel_agent_and_direction(
    staff_client, trunk_a, purchased_a, purchased_b, agent_a, agents_a
):
    def numbers(**params):
        return listed_numbers(staff_client.get(NUMBERS_URL, params))

    assert numbers(workspace__id__exact=purchased_b.workspace_id) == [purchased_b.e164]
    assert numbers(source__exact="external") == [trunk_a.phone_number.e164]
    assert numbers(channel="call") == [trunk_a.phone_number.e164]
    assert numbers(channel="none") == sorted([purchased_a.e164, purchased_b.e164])
    assert numbers(agent=str(agent_a.agent_uuid)) == [trunk_a.phone_number.e164]
    assert numbers(agent="A AGENT 1") == [trunk_a.phone_number.e164]
    assert numbers(agent=str(agents_a[1].agent_uuid)) == []
    assert numbers(direction="both") == [trunk_a.phone_number.e164]
    assert numbers(direction="inbound") == []


def test_the_agent_filter_is_a_text_box_that_keeps_the_other_filters(staff_client, trunk_a, agents_a, agents_b):
    html = staff_client.get(NUMBERS_URL, {"source__exact": "external", "agent": "agent 1"}).content.decode()
    form = re.search(r'<form method="get" class="channels-app-input-filter">(.*?)</form>', html, re.S).group(1)
    assert '<input type="hidden" name="source__exact" value="external">' in form
    assert 'name="agent" value="agent 1"' in form
    assert "B agent 2" not in html  # agents are not listed one by one


def test_the_binding_filters_narrow_by_channel_kind_agent_and_direction(staff_client, trunk_a, agent_a):
    def bindings(**params):
        return [b.pk for b in staff_client.get(BINDINGS_URL, params).context["cl"].result_list]

    assert bindings(channel__exact="call") == [trunk_a.pk]
    assert bindings(channel__exact="sms") == []
    assert bindings(source="external") == [trunk_a.pk]
    assert bindings(source="purchased") == []
    assert bindings(agent=str(agent_a.agent_uuid)) == [trunk_a.pk]
    assert bindings(agent="agent 2") == []
    assert bindings(direction__exact="both") == [trunk_a.pk]


# --- query counts stay flat as rows grow --------------------------------------------------------------


def make_rows(workspace: Workspace, start: int, count: int) -> None:
    """`count` external numbers, each with a call trunk (credentials set) and a token per row."""
    actor = Actor.command("tests")
    for i in range(start, start + count):
        agent = Agent.objects.create(workspace=workspace, name=f"agent {i}")
        services.trunk_register(
            workspace=workspace,
            actor=actor,
            phone_number=f"+1212200{i:04d}",
            agent_uuid=agent.agent_uuid,
            channel="call",
            sip={"gateway": "sip.example.com", "username": "u", "password": "p"},
        )
        services.token_create(workspace=workspace, actor=actor, name=f"token {i}")
        Membership.objects.create(workspace=workspace, user=make_user(f"member-{i}"))


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


CHANGELISTS = [
    NUMBERS_URL,
    f"{NUMBERS_URL}?q=1212200",
    f"{NUMBERS_URL}?channel=call&source__exact=external",
    BINDINGS_URL,
    f"{BINDINGS_URL}?q=1212200",
    TOKENS_URL,
    "/admin/channels_app/agent/",
    "/admin/channels_app/membership/",
    "/admin/channels_app/workspace/",
]


def test_changelist_query_counts_stay_the_same_from_5_to_50_rows(
    staff_client, workspace_a, django_assert_max_num_queries
):
    make_rows(workspace_a, 0, 5)
    few = {url: queries_for(staff_client, url) for url in CHANGELISTS}
    make_rows(workspace_a, 5, 45)
    many = {url: queries_for(staff_client, url) for url in CHANGELISTS}
    assert many == few
    for url in CHANGELISTS:
        with django_assert_max_num_queries(12):
            staff_client.get(url)


def test_the_number_page_query_count_does_not_grow_with_its_bindings(staff_client, trunk_a, agents_a, command_actor):
    url = change_url(trunk_a.phone_number)
    one = queries_for(staff_client, url)
    services.trunk_register(
        workspace=trunk_a.workspace,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    assert queries_for(staff_client, url) == one


@override_settings(ADMIN_CHANGELIST_COUNT_CAP=2)
def test_no_changelist_counts_beyond_the_cap(staff_client, workspace_a):
    make_rows(workspace_a, 0, 4)
    response = staff_client.get(NUMBERS_URL)
    assert response.context["cl"].result_count == 3  # cap + 1: "more than 2"
    assert "More than 2 phone numbers" in response.content.decode()
    assert PhoneNumber.objects.count() == 4


def test_the_agent_list_links_to_the_numbers_each_agent_serves(staff_client, trunk_a, agent_a):
    html = staff_client.get("/admin/channels_app/agent/").content.decode()
    link = f"{NUMBERS_URL}?agent={agent_a.agent_uuid}"
    assert link in html
    assert listed_numbers(staff_client.get(link)) == [trunk_a.phone_number.e164]


def test_a_call_trunk_page_shows_the_last_trunk_check_status(staff_client, trunk_a):
    assert "not checked since the last SIP change" in staff_client.get(change_url(trunk_a)).content.decode()


def test_a_call_trunk_page_shows_each_gateway_of_the_stored_check(staff_client, trunk_a):
    """The page reads the stored result itself: status, time and one line per gateway."""
    checked_at = timezone.now()
    ChannelBinding.objects.filter(pk=trunk_a.pk).update(
        health_status="reachable",
        health_checked_at=checked_at,
        health_details={
            "gateways": [
                {
                    "role": "gateway",
                    "host": "sip.example.com",
                    "port": 5060,
                    "address": "192.0.2.10",
                    "status": "reachable",
                    "status_line": "SIP/2.0 200 OK",
                    "rtt_ms": 12.345,
                    "register": None,
                    "message": "sip.example.com answered OPTIONS.",
                },
                {
                    "role": "secondary_gateway",
                    "host": "192.0.2.20",
                    "port": 5080,
                    "address": "192.0.2.20",
                    "status": "unreachable",
                    "status_line": None,
                    "rtt_ms": None,
                    "register": None,
                    "message": "No answer from 192.0.2.20:5080.",
                },
            ]
        },
    )
    html = staff_client.get(change_url(trunk_a)).content.decode()
    assert f"Reachable, credentials not verified ({checked_at:%Y-%m-%d %H:%M} UTC)" in html
    assert (
        "<li>gateway sip.example.com:5060 (192.0.2.10) · <strong>Reachable, credentials not verified</strong> · "
        'sip.example.com answered OPTIONS. <span class="quiet">OPTIONS: SIP/2.0 200 OK in 12.3 ms</span></li>'
    ) in html
    assert (
        "<li>secondary gateway 192.0.2.20:5080 · <strong>No answer</strong> · No answer from 192.0.2.20:5080.</li>"
        in html
    )
    inline = staff_client.get(change_url(trunk_a.phone_number)).content.decode()
    assert f"Reachable, credentials not verified ({checked_at:%Y-%m-%d %H:%M} UTC)" in inline
