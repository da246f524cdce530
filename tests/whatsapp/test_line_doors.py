"""The WhatsApp line through the other doors: CSV import, self-serve pages, the staff admin
(forms, deliveries and their "retry"), check_trunks, key rotation and check_encryption, and the
privacy rules on stored messages. Secrets never come back through any of them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from channels_app import imports, services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import ChannelBinding, MessageDelivery, WhatsappMessage
from channels_app.services import delivery
from channels_app.whatsapp.agent_client import Outcome
from channels_app.whatsapp.payload import Inbound
from tests.admin_support import csv_text, row
from tests.whatsapp.conftest import register_line
from tests.whatsapp.support import ACCESS_TOKEN, APP_SECRET, NUMBER, PHONE_NUMBER_ID
from trunkadmin.settings_test import TEST_FIELD_KEYS

pytestmark = pytest.mark.django_db
K1, K2 = TEST_FIELD_KEYS
BODY_TEXT = "MARKER-message-text-3b9f"


def receive(binding, *ids: str) -> int:
    return delivery.messages_receive(
        binding=binding,
        messages=[Inbound(i, "16315551181", "text", None, {"text": {"body": BODY_TEXT}}, None) for i in ids],
    )


# --- CSV ---------------------------------------------------------------------------------------


def test_the_csv_columns_register_a_line_and_report_a_taken_id_on_its_column(workspace_a, agents_a):
    text = csv_text(
        row(
            NUMBER,
            agents_a[0],
            "whatsapp",
            wa_phone_number_id=PHONE_NUMBER_ID,
            wa_business_account_id="42",
            wa_access_token=ACCESS_TOKEN,
            wa_app_secret=APP_SECRET,
        ),
        row("+14155550125", agents_a[1], "whatsapp", wa_phone_number_id=PHONE_NUMBER_ID),
        row("+14155550126", agents_a[2], "call", wa_app_secret="x"),
    )
    report = imports.import_csv(workspace=workspace_a, actor=Actor.command("tests"), source=text, dry_run=False)

    assert [r.ok for r in report.rows] == [True, False, False]
    line = ChannelBinding.objects.get()
    assert (line.wa_phone_number_id, line.wa_business_account_id) == (PHONE_NUMBER_ID, "42")
    assert (line.wa_access_token, line.wa_app_secret) == (ACCESS_TOKEN, APP_SECRET)
    taken, on_call = report.rows[1].errors, report.rows[2].errors
    assert [(e.column, e.code) for e in taken] == [("wa_phone_number_id", "WHATSAPP_ID_IN_USE")]
    assert [(e.column, e.code) for e in on_call] == [(None, "VALIDATION_ERROR")]
    assert report.rows[0].cell("wa_access_token") == "set" and report.rows[0].cell("wa_app_secret") == "set"
    assert ACCESS_TOKEN not in report.rows[0].report_line(dry_run=False)


# --- self-serve --------------------------------------------------------------------------------


def test_the_register_page_takes_the_line_and_the_number_page_shows_it_without_secrets(client, customer_a, agent_a):
    client.force_login(customer_a)
    response = client.post(
        "/app/ws-a/numbers/register/",
        {
            "phone_number": NUMBER,
            "channel": "whatsapp",
            "agent": str(agent_a.agent_uuid),
            "wa_phone_number_id": PHONE_NUMBER_ID,
            "wa_access_token": ACCESS_TOKEN,
            "wa_app_secret": APP_SECRET,
        },
        follow=True,
    )
    page = response.content.decode()
    line = ChannelBinding.objects.get()
    assert response.status_code == 200
    assert line.webhook_url in page and line.verify_token in page and PHONE_NUMBER_ID in page
    assert 'data-counter="received">0<' in page
    assert ACCESS_TOKEN not in page and APP_SECRET not in page
    edit = client.get(f"/app/ws-a/numbers/{line.phone_number.phone_number_uuid}/whatsapp/edit/").content.decode()
    assert "An access token is saved" in edit and ACCESS_TOKEN not in edit and APP_SECRET not in edit


def test_the_edit_page_keeps_a_blank_secret_and_clears_a_ticked_one(client, customer_a, line_a):
    client.force_login(customer_a)
    url = f"/app/ws-a/numbers/{line_a.phone_number.phone_number_uuid}/whatsapp/edit/"
    response = client.post(
        url,
        {
            "name": line_a.name,
            "wa_phone_number_id": PHONE_NUMBER_ID,
            "wa_business_account_id": "7",
            "wa_access_token": "",
            "clear_app_secret": "on",
            "additional_settings": "",
        },
    )
    assert response.status_code == 302
    line_a.refresh_from_db()
    assert (line_a.wa_access_token, line_a.wa_app_secret, line_a.wa_business_account_id) == (ACCESS_TOKEN, None, "7")


def test_the_number_page_counts_messages_and_says_the_last_problem_in_plain_words(client, customer_a, line_a, settings):
    settings.AGENT_DELIVERY_MAX_ATTEMPTS = 1
    receive(line_a, "wamid.1", "wamid.2", "wamid.3")
    claimed = delivery.deliveries_claim(worker="w", limit=2)
    delivery.deliveries_record(
        worker="w",
        outcomes=[
            (claimed[0], Outcome(True, 200)),
            (claimed[1], Outcome(False, None, "The agent's endpoint did not answer within 10 seconds.")),
        ],
    )
    client.force_login(customer_a)
    page = client.get(f"/app/ws-a/numbers/{line_a.phone_number.phone_number_uuid}/").content.decode()
    for counter, value in (("received", 3), ("delivered", 1), ("pending", 1), ("dead", 1)):
        assert f'data-counter="{counter}">{value}<' in page
    assert "The agent&#x27;s endpoint did not answer within 10 seconds." in page


# --- the staff admin ---------------------------------------------------------------------------


def test_the_admin_edits_the_line_write_only_and_retries_a_dead_delivery(client, staff_user, line_a, settings):
    client.force_login(staff_user)
    page = client.get(f"/admin/channels_app/channelbinding/{line_a.pk}/change/").content.decode()
    assert line_a.webhook_url in page and "access token set, app secret set" in page
    assert ACCESS_TOKEN not in page and APP_SECRET not in page

    settings.AGENT_DELIVERY_MAX_ATTEMPTS = 1
    receive(line_a, "wamid.dead")
    [claimed] = delivery.deliveries_claim(worker="w", limit=1)
    delivery.deliveries_record(
        worker="w", outcomes=[(claimed, Outcome(False, 503, "The agent's endpoint answered HTTP 503."))]
    )
    dead = MessageDelivery.objects.get()
    assert dead.status == "dead"
    changelist = "/admin/channels_app/messagedelivery/"
    listed = client.get(changelist).content.decode()
    assert "wamid.dead" in listed and BODY_TEXT not in listed
    detail = client.get(f"{changelist}{MessageDelivery.objects.get().pk}/change/").content.decode()
    assert "wamid.dead" in detail and BODY_TEXT not in detail
    confirm = client.post(changelist, {"action": "retry_selected", "_selected_action": [dead.pk]})
    assert confirm.status_code == 200 and "Yes, retry" in confirm.content.decode()
    done = client.post(changelist, {"action": "retry_selected", "_selected_action": [dead.pk], "post": "yes"})
    assert done.status_code == 302
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.dead_at) == ("pending", 0, None)


def test_a_delivered_message_or_one_whose_body_is_gone_cannot_be_retried(line_a):
    receive(line_a, "wamid.ok")
    [claimed] = delivery.deliveries_claim(worker="w", limit=1)
    delivery.deliveries_record(worker="w", outcomes=[(claimed, Outcome(True, 200))])
    with pytest.raises(DomainError, match="delivered already"):
        services.deliveries_retry(actor=Actor.command("tests"), deliveries=[MessageDelivery.objects.get()])
    receive(line_a, "wamid.purged")
    purged = MessageDelivery.objects.get(message__wa_message_id="wamid.purged")
    MessageDelivery.objects.filter(pk=purged.pk).update(status="dead", next_attempt_at=None, dead_at=timezone.now())
    WhatsappMessage.objects.filter(wa_message_id="wamid.purged").update(body=None)
    with pytest.raises(DomainError, match="deleted 7 days after"):
        services.deliveries_retry(actor=Actor.command("tests"), deliveries=[purged])


# --- privacy -----------------------------------------------------------------------------------


def test_a_dead_messages_body_is_deleted_after_seven_days_and_a_pending_one_is_kept(line_a, settings):
    settings.AGENT_DELIVERY_MAX_ATTEMPTS = 1
    receive(line_a, "wamid.old", "wamid.recent", "wamid.waiting")
    claimed = delivery.deliveries_claim(worker="w", limit=2)
    delivery.deliveries_record(worker="w", outcomes=[(row_, Outcome(False, 500, "HTTP 500")) for row_ in claimed])
    MessageDelivery.objects.filter(message__wa_message_id="wamid.old").update(
        dead_at=timezone.now() - timedelta(days=7, minutes=1)
    )

    assert delivery.bodies_purge() == 1

    kept = dict(WhatsappMessage.objects.values_list("wa_message_id", "body"))
    assert kept["wamid.old"] is None
    assert kept["wamid.recent"] is not None and kept["wamid.waiting"] is not None
    assert delivery.bodies_purge() == 0


# --- check_trunks and the encryption commands ---------------------------------------------------


def test_check_trunks_checks_whatsapp_lines_against_the_graph_api(graph, line_a, workspace_a, agents_a, command_actor):
    register_line(workspace_a, agents_a[1], command_actor, number="+14155550125", phone_number_id=None)
    out = StringIO()
    call_command("check_trunks", "ws-a", "--concurrency", "1", stdout=out)
    text = out.getvalue()
    assert "Checking 0 call trunk(s) and 2 WhatsApp line(s) of workspace ws-a" in text
    assert f"ws-a {NUMBER} whatsapp: ok - Connected as Acme Support, quality rating GREEN." in text
    assert "ws-a +14155550125 whatsapp: skipped_no_line" in text
    assert ACCESS_TOKEN not in text
    assert ChannelBinding.objects.get(pk=line_a.pk).health_status == "ok"


def test_rotation_and_check_encryption_cover_the_line_secrets(settings, workspace_a, agent_a, command_actor):
    settings.FIELD_ENCRYPTION_KEY = [K1]
    line = register_line(workspace_a, agent_a, command_actor)
    with override_settings(FIELD_ENCRYPTION_KEY=[K2, K1]):
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)
        assert "channels_app_channelbinding: re-encrypted 1 rows (2 values)" in out.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEY=[K2]):
        line = ChannelBinding.objects.get(pk=line.pk)
        assert (line.wa_access_token, line.wa_app_secret) == (ACCESS_TOKEN, APP_SECRET)
        checked = StringIO()
        call_command("check_encryption", stdout=checked)
        assert "All 2 encrypted values decrypt." in checked.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT wa_access_token, wa_app_secret FROM channels_app_channelbinding")
        stored = cursor.fetchone()
    assert ACCESS_TOKEN not in str(stored) and all(value.startswith("gAAAAA") for value in stored)


# --- "Check now" on the number page and in the admin ----------------------------------------------


def test_check_now_on_the_number_page_reads_the_line_and_shows_the_result(client, customer_a, graph, line_a):
    client.force_login(customer_a)
    number_page = f"/app/ws-a/numbers/{line_a.phone_number.phone_number_uuid}/"
    response = client.post(f"{number_page}whatsapp/check/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(number_page + "#line-check", 302)]
    assert "Line checked" not in page  # the message names the result
    assert "Trunk checked: Connected, number verified." in page
    assert "Connected as Acme Support, quality rating GREEN." in page
    assert ACCESS_TOKEN not in page


def test_check_now_in_the_admin_reads_the_line(client, staff_user, graph, line_a):
    client.force_login(staff_user)
    url = f"/admin/channels_app/channelbinding/{line_a.pk}/check/"
    page = client.post(url, follow=True).content.decode()
    assert f"Checked the whatsapp trunk of {NUMBER}: Connected, number verified." in page
    assert "Connected as Acme Support" in page and ACCESS_TOKEN not in page
