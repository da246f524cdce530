"""Each WhatsApp trunk's webhook over real HTTP (pytest-django's live server on 127.0.0.1):
Meta's verification handshake, signed notifications shaped as Meta documents them, and the
delivery that follows, to an agent endpoint on 127.0.0.1 (run_worker in this process)."""

from __future__ import annotations

import json
import logging
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from channels_app.models import MessageDelivery, WhatsappMessage
from channels_app.whatsapp.signatures import sign
from tests.whatsapp.conftest import register_line
from tests.whatsapp.support import (
    AGENT_SECRET,
    APP_SECRET,
    NUMBER,
    PHONE_NUMBER_ID,
    get,
    notification,
    path_of,
    post_webhook,
    text_message,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def deliver_due() -> str:
    out = StringIO()
    call_command("run_worker", "--once", stdout=out)
    return out.getvalue()


def deliver_until(status: str, attempts: int = 10) -> None:
    """Run the worker until the one delivery reaches `status`, waiting out each backoff: the
    loop follows the delivery's own next attempt time, so a fast machine cannot outrun it."""
    for _ in range(attempts):
        deliver_due()
        delivery = MessageDelivery.objects.get()
        if delivery.status == status:
            return
        if delivery.next_attempt_at is not None:
            time.sleep(max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()) + 0.005)


# --- the handshake -----------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_for_the_trunks_verify_token(live_server, line_a):
    query = f"?hub.mode=subscribe&hub.verify_token={line_a.verify_token}&hub.challenge=1158201444"
    assert get(live_server.url, path_of(line_a) + query) == (200, "1158201444")


@pytest.mark.parametrize("mode", ["subscribe", "unsubscribe"])
def test_the_handshake_refuses_a_wrong_token_or_mode(live_server, line_a, workspace_a, agents_a, command_actor, mode):
    other = register_line(workspace_a, agents_a[1], command_actor, number="+14155550125", phone_number_id="2")
    wrong = f"?hub.mode={mode}&hub.verify_token={other.verify_token}&hub.challenge=42"
    assert get(live_server.url, path_of(line_a) + wrong)[0] == 403
    if mode != "subscribe":
        right = f"?hub.mode={mode}&hub.verify_token={line_a.verify_token}&hub.challenge=42"
        assert get(live_server.url, path_of(line_a) + right)[0] == 403
    assert get(live_server.url, "/webhooks/whatsapp/not-a-trunk?hub.mode=subscribe")[0] == 404


# --- receiving ---------------------------------------------------------------------------------


def test_a_signed_message_is_stored_once_and_delivered_once_to_the_bound_agent_signed(
    live_server, line_a, agent_a, agent
):
    document = notification(
        PHONE_NUMBER_ID, [text_message("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")]
    )

    first = post_webhook(live_server.url, path_of(line_a), document, secret=APP_SECRET)
    retry = post_webhook(live_server.url, path_of(line_a), document, secret=APP_SECRET)  # Meta retries

    assert first == retry == (200, "OK")
    message = WhatsappMessage.objects.get()
    assert (message.binding_id, message.agent_uuid, message.sender, message.message_type) == (
        line_a.pk,
        agent_a.agent_uuid,
        "16315551181",
        "text",
    )
    assert "Kerry Fisher" in json.dumps(message.body)
    deliver_due()
    [received] = agent.received
    assert received.path == f"/agents/{agent_a.agent_uuid}/messages"
    assert received.headers["X-Trunkadmin-Signature"] == sign(received.body, AGENT_SECRET)
    assert received.headers["X-Trunkadmin-Agent"] == str(agent_a.agent_uuid)
    assert received.headers["X-Trunkadmin-Number"] == NUMBER
    assert received.headers["X-Trunkadmin-Binding"] == str(line_a.uuid)
    assert received.headers["X-Trunkadmin-Message-Id"] == message.wa_message_id
    document = received.document
    assert document["message"]["text"] == {"body": "Hello"}
    assert document["contact"] == {"profile": {"name": "Kerry Fisher"}, "wa_id": "16315551181"}
    assert (document["message_id"], document["from"], document["phone_number"], document["sent_at"]) == (
        message.wa_message_id,
        "16315551181",
        NUMBER,
        "2024-06-10T06:13:20Z",
    )
    delivery = MessageDelivery.objects.get()
    message.refresh_from_db()
    assert (delivery.status, delivery.attempts, message.body) == ("delivered", 1, None)
    assert message.body_deleted_at is not None and delivery.delivered_at is not None
    deliver_due()
    assert len(agent.received) == 1


def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(live_server, line_a, caplog):
    document = json.dumps(notification(PHONE_NUMBER_ID, [text_message("wamid.1")])).encode()
    assert post_webhook(live_server.url, path_of(line_a), document, secret=None)[0] == 401
    assert post_webhook(live_server.url, path_of(line_a), document, secret="not-the-app-secret")[0] == 401
    assert post_webhook(live_server.url, path_of(line_a), document, signature="sha256=")[0] == 401
    tampered = document.replace(b"Hello", b"Hellp")
    assert post_webhook(live_server.url, path_of(line_a), tampered, signature=sign(document, APP_SECRET))[0] == 401
    assert not WhatsappMessage.objects.exists() and not MessageDelivery.objects.exists()


def test_a_line_without_app_secret_accepts_no_post(live_server, workspace_a, agent_a, command_actor):
    line = register_line(workspace_a, agent_a, command_actor, app_secret=None)
    document = notification(PHONE_NUMBER_ID, [text_message("wamid.1")])
    assert post_webhook(live_server.url, path_of(line), document, secret="")[0] == 401
    assert not WhatsappMessage.objects.exists()


def test_entries_for_another_phone_number_id_are_dropped_and_logged(live_server, line_a, caplog):
    caplog.set_level(logging.WARNING, logger="channels_app.views.webhooks")
    document = notification("999999", [text_message("wamid.foreign")])
    document["entry"].append(notification(PHONE_NUMBER_ID, [text_message("wamid.ours")])["entry"][0])

    assert post_webhook(live_server.url, path_of(line_a), document, secret=APP_SECRET) == (200, "OK")

    assert list(WhatsappMessage.objects.values_list("wa_message_id", flat=True)) == ["wamid.ours"]
    assert any("dropped 1 change(s) for phone number id(s) 999999" in r.getMessage() for r in caplog.records)


def test_a_body_over_the_limit_is_refused_before_it_is_read(live_server, line_a, settings):
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = 1024
    document = notification(PHONE_NUMBER_ID, [text_message("wamid.big", text="x" * 2000)])
    assert post_webhook(live_server.url, path_of(line_a), document, secret=APP_SECRET)[0] == 413
    assert not WhatsappMessage.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"entry": 5}', b"[" * 5000 + b"]" * 5000])
def test_a_signed_body_that_is_not_a_notification_is_400(live_server, line_a, body):
    status, _ = post_webhook(live_server.url, path_of(line_a), body, secret=APP_SECRET)
    assert status == 400
    assert not WhatsappMessage.objects.exists()


# --- tenancy -----------------------------------------------------------------------------------


def test_a_trunks_url_and_secret_cannot_deliver_into_another_trunk_or_workspace(
    live_server, line_a, workspace_b, agent_b, command_actor, agent
):
    line_b = register_line(
        workspace_b,
        agent_b,
        command_actor,
        number="+14155550199",
        phone_number_id="5550199",
        app_secret="workspace-b-secret",
    )
    for_a = notification(PHONE_NUMBER_ID, [text_message("wamid.meant-for-a")])

    # B's secret on A's URL: refused. A's number id on B's URL with B's secret: dropped.
    assert post_webhook(live_server.url, path_of(line_a), for_a, secret="workspace-b-secret")[0] == 401
    assert post_webhook(live_server.url, path_of(line_b), for_a, secret="workspace-b-secret") == (200, "OK")

    assert not WhatsappMessage.objects.exists()
    deliver_due()
    assert agent.received == []


# --- delivery ----------------------------------------------------------------------------------


def test_an_endpoint_failing_three_times_then_recovering_gets_the_message_once(live_server, line_a, agent):
    agent.fail(3, status=503)
    post_webhook(
        live_server.url, path_of(line_a), notification(PHONE_NUMBER_ID, [text_message("wamid.r")]), secret=APP_SECRET
    )

    deliver_until("delivered")

    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert delivery.last_error == "The agent's endpoint answered HTTP 503 Service Unavailable."
    assert [r.answered for r in agent.received] == [503, 503, 503, 200]
    assert [r.headers["X-Trunkadmin-Attempt"] for r in agent.received] == ["1", "2", "3", "4"]
    assert len(agent.unique) == 1 and agent.duplicates == 0


def test_after_the_last_attempt_a_delivery_is_dead_and_keeps_its_body(live_server, line_a, agent, settings):
    settings.AGENT_DELIVERY_MAX_ATTEMPTS = 2
    agent.fail(10, status=500)
    post_webhook(
        live_server.url, path_of(line_a), notification(PHONE_NUMBER_ID, [text_message("wamid.d")]), secret=APP_SECRET
    )
    deliver_until("dead")
    delivery = MessageDelivery.objects.select_related("message").get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 2, None)
    assert delivery.message.body is not None
    assert len(agent.received) == 2
