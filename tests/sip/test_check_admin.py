"""The staff admin's "Check now" on a call trunk (its change page and its number's page), and the
stored result shown read-only. Django's test client, the real database, and sipp on 127.0.0.1
for `ok`; checks that need no peer use a gateway the address policy refuses at once.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_app import services
from channels_app.models import ChannelBinding, ProbeSlot
from tests.admin_support import change_url
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, make_user
from tests.sip.support import NUMBER, REFUSED_GATEWAY, register_trunk

pytestmark = pytest.mark.django_db


def check_url(binding) -> str:
    return f"/admin/channels_app/channelbinding/{binding.pk}/check/"


def admin_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def refused_trunk(workspace_a, agent_a, command_actor, settings):
    settings.SIP_CHECK_ALLOW_PRIVATE = False
    return register_trunk(workspace_a, agent_a, command_actor, gateway=REFUSED_GATEWAY)


def test_staff_check_a_trunk_from_its_page_and_read_the_result_there(
    trunk_on_peer, staff_client, workspace_a, agent_a, command_actor
):
    peer, binding = trunk_on_peer("registrar.xml", username=MARKER_USERNAME, password=MARKER_PASSWORD)
    page = staff_client.get(change_url(binding)).content.decode()
    assert "not checked since the last SIP change" in page
    form = re.search(r'<form method="post" action="([^"]+)" class="object-tools-form">(.*?)</form>', page, re.S)
    assert form and form.group(1) == check_url(binding) and "csrfmiddlewaretoken" in form.group(2)

    response = staff_client.post(check_url(binding), follow=True)

    assert response.redirect_chain == [(change_url(binding), 302)]
    assert admin_messages(response) == [f"Checked the call trunk of {NUMBER}: Reachable, credentials accepted."]
    html = unescape(response.content.decode())
    binding.refresh_from_db()
    when = binding.health_checked_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"Reachable, credentials accepted ({when})" in html
    assert re.search(
        rf"<li>gateway 127\.0\.0\.1:{peer.port} · <strong>Reachable, credentials accepted</strong> · "
        rf"127\.0\.0\.1:{peer.port} accepted the credentials \(SIP/2\.0 200 OK\)\. "
        r'<span class="quiet">OPTIONS: SIP/2\.0 200 OK in \d+\.\d ms · REGISTER: SIP/2\.0 200 OK in \d+\.\d ms</span>'
        r"</li>",
        html,
    )
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def test_staff_check_a_trunk_from_its_numbers_page_and_come_back_to_it(staff_client, refused_trunk):
    number_page = change_url(refused_trunk.phone_number)
    html = unescape(staff_client.get(number_page).content.decode())
    button = re.search(
        r'<button type="submit" class="trunk-check-button" form="trunk-check-form" formaction="([^"]+)"', html
    )
    assert button and button.group(1) == f"{check_url(refused_trunk)}?next={number_page.replace('/', '%2F')}"
    # The buttons' form lies outside the number's form and carries only the CSRF token.
    owner = re.search(r'</form></div>\s*<form id="trunk-check-form" method="post" hidden>(.*?)</form>', html, re.S)
    assert owner and re.fullmatch(
        r'\s*<input type="hidden" name="csrfmiddlewaretoken" value="[^"]+">\s*', owner.group(1)
    )
    assert "not checked since the last SIP change" in html

    response = staff_client.post(button.group(1), follow=True)

    assert response.redirect_chain == [(number_page, 302)]
    assert admin_messages(response) == [f"Checked the call trunk of {NUMBER}: Address not allowed."]
    refused_trunk.refresh_from_db()
    when = refused_trunk.health_checked_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"Address not allowed ({when})" in response.content.decode()


def test_a_second_check_within_30_seconds_is_refused_with_a_message(staff_client, refused_trunk):
    staff_client.post(check_url(refused_trunk), follow=True)
    checked_at = ChannelBinding.objects.get().health_checked_at

    response = staff_client.post(check_url(refused_trunk), follow=True)

    [message] = admin_messages(response)
    assert re.fullmatch(
        r"This trunk was checked moments ago\. A trunk can be checked once every 30 seconds\. "
        r"Try again in ([1-9]|[12][0-9]|30) seconds\.",
        message,
    )
    assert ChannelBinding.objects.get().health_checked_at == checked_at


def test_a_trunk_without_a_gateway_is_refused_with_the_reason(staff_client, workspace_a, agent_a, command_actor):
    binding = register_trunk(workspace_a, agent_a, command_actor, username="u", password="p")

    response = staff_client.post(check_url(binding), follow=True)

    assert admin_messages(response) == ["The request is not valid. Set a gateway before checking this trunk."]
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_only_trunks_offer_the_check_and_a_line_says_what_it_lacks(
    staff_client, workspace_a, agents_a, purchased_a, command_actor
):
    whatsapp = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agents_a[0].agent_uuid,
        channel="whatsapp",
    )
    services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    purchased_call = ChannelBinding.objects.get(phone_number=purchased_a)

    assert "/check/" not in staff_client.get(change_url(purchased_call)).content.decode()
    assert "/check/" not in staff_client.get(change_url(purchased_call.phone_number)).content.decode()
    assert "/check/" in staff_client.get(change_url(whatsapp)).content.decode()
    response = staff_client.post(check_url(whatsapp), follow=True)
    assert admin_messages(response) == ["The request is not valid. Set the phone number id before checking this line."]
    assert staff_client.post(check_url(purchased_call)).status_code == 403


def test_the_check_takes_a_post_and_never_redirects_elsewhere(staff_client, refused_trunk):
    assert staff_client.get(check_url(refused_trunk)).status_code == 405

    response = staff_client.post(check_url(refused_trunk) + "?next=https://elsewhere.example/")

    assert response.status_code == 302
    assert response["Location"] == change_url(refused_trunk)


def test_staff_who_may_only_view_bindings_see_the_result_but_cannot_check(client, refused_trunk):
    viewer = make_user("viewing-staff", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_channelbinding", "view_phonenumber"]),
    )
    client.force_login(viewer)

    assert "not checked since the last SIP change" in client.get(change_url(refused_trunk)).content.decode()
    assert "/check/" not in client.get(change_url(refused_trunk)).content.decode()
    assert "/check/" not in client.get(change_url(refused_trunk.phone_number)).content.decode()
    assert client.post(check_url(refused_trunk)).status_code == 403
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_the_check_refuses_a_post_without_its_csrf_token(staff_user, refused_trunk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    assert client.post(check_url(refused_trunk)).status_code == 403
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_the_number_page_costs_no_more_queries_with_a_checked_trunk(
    staff_client, refused_trunk, django_assert_max_num_queries
):
    url = change_url(refused_trunk.phone_number)
    staff_client.get(url)  # warm caches (content types, permissions)
    with CaptureQueriesContext(connection) as before:
        staff_client.get(url)
    unchecked = len(before)  # now: the log is reset by the next request
    staff_client.post(check_url(refused_trunk))

    with django_assert_max_num_queries(unchecked):
        staff_client.get(url)
