"""The self-serve "Check now" button of a call trunk, through Django's test client.

Against a real SIP peer (sipp on 127.0.0.1) for `ok` and `auth_failed`; checks that need no peer
use a gateway in a range the address policy refuses, which answers at once without a packet.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from channels_app import services
from channels_app.models import ChannelBinding, ProbeSlot
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.sip.support import NUMBER, REFUSED_GATEWAY, register_trunk

pytestmark = pytest.mark.django_db


def page_url(binding, slug="ws-a") -> str:
    return f"/app/{slug}/numbers/{binding.phone_number.phone_number_uuid}/"


def check_url(binding, slug="ws-a", channel="call") -> str:
    return f"{page_url(binding, slug)}{channel}/check/"


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash--[a-z]+">(.*?)</p>', html)


def check_section(html: str) -> str:
    match = re.search(r'<section class="health" id="trunk-check".*?</section>', html, flags=re.S)
    assert match, "no trunk check section"
    return match.group(0)


@pytest.fixture
def refused_trunk(workspace_a, agent_a, command_actor, settings):
    settings.SIP_CHECK_ALLOW_PRIVATE = False
    return register_trunk(workspace_a, agent_a, command_actor, gateway=REFUSED_GATEWAY)


# --- the result on the page ------------------------------------------------------------------


def test_check_now_shows_that_the_gateway_accepts_the_credentials(
    trunk_on_peer, client, customer_a, workspace_a, agent_a, command_actor
):
    peer, binding = trunk_on_peer("registrar.xml", username=MARKER_USERNAME, password=MARKER_PASSWORD)
    client.force_login(customer_a)

    response = client.post(check_url(binding))

    assert response.status_code == 302
    assert response["Location"] == page_url(binding) + "#trunk-check"
    html = client.get(page_url(binding)).content.decode()
    assert flashes(html) == ["Trunk checked: Reachable, credentials accepted."]
    section = check_section(html)
    assert 'data-health-status="ok"' in section
    assert "Reachable, credentials accepted" in section
    binding.refresh_from_db()
    assert binding.health_checked_at.strftime("%-d %b %Y, %H:%M:%S UTC") in section
    assert f"127.0.0.1:{peer.port}" in section
    assert f"127.0.0.1:{peer.port} accepted the credentials (SIP/2.0 200 OK)." in section
    assert re.search(r"<dt>OPTIONS</dt><dd><span class=\"mono\">SIP/2.0 200 OK</span> · \d+\.\d ms</dd>", section)
    assert re.search(r"<dt>REGISTER</dt><dd><span class=\"mono\">SIP/2.0 200 OK</span> · \d+\.\d ms</dd>", section)
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def test_check_now_shows_refused_credentials_without_revealing_them(
    trunk_on_peer, client, customer_a, workspace_a, agent_a, command_actor
):
    _, binding = trunk_on_peer(
        "registrar.xml", peer=(MARKER_USERNAME, "the-right-one"), username=MARKER_USERNAME, password=MARKER_PASSWORD
    )
    client.force_login(customer_a)

    response = client.post(check_url(binding), follow=True)

    html = response.content.decode()
    assert flashes(html) == ["Trunk checked: Credentials refused."]
    section = check_section(html)
    assert 'data-health-status="auth_failed"' in section
    assert "Check the username and password." in section
    assert "SIP/2.0 403 Forbidden" in section
    assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html


def test_a_trunk_never_checked_says_so_and_offers_the_button(client, customer_a, refused_trunk):
    client.force_login(customer_a)

    section = check_section(client.get(page_url(refused_trunk)).content.decode())

    assert "Not checked yet" in section
    assert f'action="{check_url(refused_trunk)}"' in section
    assert "csrfmiddlewaretoken" in section
    assert ">Check now</button>" in section
    assert "once every 30 seconds" in section


def test_a_second_check_within_30_seconds_is_refused_with_a_plain_message(
    client, customer_a, refused_trunk, django_assert_max_num_queries
):
    client.force_login(customer_a)
    first = client.post(check_url(refused_trunk), follow=True).content.decode()
    assert flashes(first) == ["Trunk checked: Address not allowed."]
    assert f"{REFUSED_GATEWAY} is a private address" in check_section(first)
    url = check_url(refused_trunk)
    checked_at = ChannelBinding.objects.get().health_checked_at

    # session, user, membership, the number with its bindings, and the refused claim (6): the trunk,
    # the one upsert in a transaction rolled back (savepoint, rollback, release inside the test's
    # transaction), and when the held slots free up
    with django_assert_max_num_queries(10):
        response = client.post(url)
    html = client.get(response["Location"]).content.decode()

    [message] = flashes(html)
    assert re.fullmatch(
        r"This trunk was checked moments ago\. A trunk can be checked once every 30 seconds\. "
        r"Try again in ([1-9]|[12][0-9]|30) seconds\.",
        message,
    )
    assert 'class="flash flash--error"' in html
    refused_trunk.refresh_from_db()
    assert refused_trunk.health_checked_at == checked_at


def test_a_trunk_without_a_gateway_offers_no_button_and_a_hand_made_post_is_refused_plainly(
    client, customer_a, workspace_a, agent_a, command_actor
):
    binding = register_trunk(workspace_a, agent_a, command_actor, username="u", password="p")
    client.force_login(customer_a)

    section = check_section(client.get(page_url(binding)).content.decode())
    assert "Add a gateway to check this trunk." in section
    assert "/check/" not in section

    html = client.post(check_url(binding), follow=True).content.decode()
    assert flashes(html) == ["Set a gateway before checking this trunk."]
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_getting_the_check_address_only_leads_back_to_the_number(client, customer_a, refused_trunk):
    client.force_login(customer_a)

    response = client.get(check_url(refused_trunk))

    assert response.status_code == 302
    assert response["Location"] == page_url(refused_trunk) + "#trunk-check"
    assert not ProbeSlot.objects.exists()  # nothing claimed


# --- who may check -------------------------------------------------------------------------------


def test_a_viewer_sees_the_last_result_but_cannot_check(client, viewer_a, customer_a, refused_trunk):
    client.force_login(customer_a)
    client.post(check_url(refused_trunk))
    slots = list(ProbeSlot.objects.values_list("key", "until"))
    client.force_login(viewer_a)

    html = client.get(page_url(refused_trunk)).content.decode()
    section = check_section(html)
    assert 'data-health-status="refused"' in section
    assert "/check/" not in html and "Check now" not in html

    for method in ("get", "post"):
        response = getattr(client, method)(check_url(refused_trunk))
        assert response.status_code == 403, method
        assert b"You have read-only access" in response.content
    assert list(ProbeSlot.objects.values_list("key", "until")) == slots


def test_a_developer_can_check(client, developer_a, refused_trunk):
    client.force_login(developer_a)

    response = client.post(check_url(refused_trunk))

    assert response.status_code == 302
    refused_trunk.refresh_from_db()
    assert refused_trunk.health_status == "refused"


def test_another_workspace_gets_404_and_checks_nothing(client, customer_b, refused_trunk):
    client.force_login(customer_b)

    for url in (check_url(refused_trunk), check_url(refused_trunk, slug="ws-b")):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 404, (method, url)
            assert NUMBER.encode() not in response.content
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_only_trunks_have_a_check_address(client, customer_a, workspace_a, agents_a, purchased_a, command_actor):
    whatsapp = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agents_a[0].agent_uuid,
        channel="whatsapp",
    )
    purchased_call = services.call_provision(
        workspace=workspace_a,
        actor=command_actor,
        agent_uuid=agents_a[1].agent_uuid,
        phone_number_uuid=purchased_a.phone_number_uuid,
    )
    assert purchased_call is not None
    client.force_login(customer_a)

    # A WhatsApp line is checked against the Graph API (tests/whatsapp); without an id and a token
    # the page says what to set.
    answer = client.post(check_url(whatsapp, channel="whatsapp"))
    assert (answer.status_code, answer["Location"]) == (302, page_url(whatsapp) + "#line-check")
    assert client.post(f"/app/ws-a/numbers/{purchased_a.phone_number_uuid}/call/check/").status_code == 404
    assert client.post(check_url(whatsapp, channel="sms")).status_code == 404
    assert 'id="trunk-check"' not in client.get(page_url(whatsapp)).content.decode()
    assert 'id="trunk-check"' not in client.get(f"/app/ws-a/numbers/{purchased_a.phone_number_uuid}/").content.decode()


def test_check_now_refuses_a_post_without_its_csrf_token(customer_a, refused_trunk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_a)

    assert client.post(check_url(refused_trunk)).status_code == 403
    assert not ProbeSlot.objects.exists()  # nothing claimed
