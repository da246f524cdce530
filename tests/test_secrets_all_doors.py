"""Secrets through all three doors at once: one marker password (and username) entered through the
API, the self-serve pages and the staff admin never appears in any table (history included), any
response, the OpenAPI document, any page, or any log record; every encrypted column holds a Fernet
token."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection

from channels_app.encryption_health import encrypted_columns
from channels_app.fields import FERNET_PREFIX, decrypt
from channels_app.models import ChannelBinding, PhoneNumber
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db

MARKERS = (MARKER_PASSWORD, MARKER_USERNAME)


def _dump_every_table() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


def _not_fernet() -> tuple[int, int]:
    checked = bad = 0
    with connection.cursor() as cursor:
        for model, names in encrypted_columns():
            for name in names:
                column = connection.ops.quote_name(model._meta.get_field(name).column)
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
                for (value,) in cursor.fetchall():
                    checked += 1
                    if not value.startswith(FERNET_PREFIX):
                        bad += 1
                    else:
                        decrypt(value)
    return checked, bad


def test_a_marker_entered_through_every_door_is_stored_encrypted_and_never_shown(
    client, token_a, customer_a, staff_user, workspace_a, agents_a, caplog
):
    outputs: list[str] = []
    caplog.set_level(logging.DEBUG)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_a}"}

    # API
    response = client.post(
        "/api/v1/phone-numbers/trunks",
        data=json.dumps(
            {
                "phone_number": "+14155552671",
                "agent_uuid": str(agents_a[0].agent_uuid),
                "channel": "call",
                "sip": {"gateway": "sip.example.com", "username": MARKER_USERNAME, "password": MARKER_PASSWORD},
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    outputs.append(response.content.decode())
    bad = client.post(  # a refused write echoes nothing either
        "/api/v1/phone-numbers/trunks",
        data=json.dumps(
            {
                "phone_number": "+14155552671",
                "agent_uuid": str(agents_a[1].agent_uuid),
                "channel": "call",
                "sip": {"port": "not-a-port", "password": MARKER_PASSWORD},
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422
    outputs.append(bad.content.decode())

    # Self-serve
    client.force_login(customer_a)
    page = client.post(
        f"/app/{workspace_a.slug}/numbers/register/",
        {
            "phone_number": "+1 202 555 0147",
            "channel": "call",
            "agent": str(agents_a[1].agent_uuid),
            "direction": "both",
            "sip_gateway": "sip.example.com",
            "sip_username": MARKER_USERNAME,
            "sip_password": MARKER_PASSWORD,
        },
        follow=True,
    )
    assert page.status_code == 200
    outputs.append(page.content.decode())
    refused = client.post(
        f"/app/{workspace_a.slug}/numbers/register/",
        {
            "phone_number": "+1 202 555 0147",
            "channel": "call",
            "agent": str(agents_a[2].agent_uuid),
            "sip_username": MARKER_USERNAME,
            "sip_password": MARKER_PASSWORD,
        },
    )
    assert refused.status_code == 200  # the form again, with the error
    outputs.append(refused.content.decode())

    # Staff admin
    client.force_login(staff_user)
    admin_page = client.post(
        "/admin/channels_app/channelbinding/add/",
        {
            "workspace": workspace_a.pk,
            "phone_number": "+1 312 555 0198",
            "channel": "call",
            "agent": agents_a[2].pk,
            "direction": "both",
            "sip_gateway": "sip.example.com",
            "sip_username": MARKER_USERNAME,
            "sip_password": MARKER_PASSWORD,
            "additional_settings": "",
        },
        follow=True,
    )
    assert admin_page.status_code == 200
    outputs.append(admin_page.content.decode())
    assert ChannelBinding.objects.filter(is_trunk=True).count() == 3

    # Every read of what was written, through every door
    for number in PhoneNumber.objects.all():
        uuid = number.phone_number_uuid
        for path in (f"/api/v1/phone-numbers/{uuid}/channels", f"/api/v1/phone-numbers/{uuid}/events"):
            outputs.append(client.get(path, **auth).content.decode())
        outputs.append(client.get(f"/admin/channels_app/phonenumber/{number.pk}/change/").content.decode())
        outputs.append(client.get(f"/admin/channels_app/phonenumber/{number.pk}/history/").content.decode())
    for binding in ChannelBinding.objects.all():
        outputs.append(client.get(f"/admin/channels_app/channelbinding/{binding.pk}/change/").content.decode())
        outputs.append(client.get(f"/admin/channels_app/channelbinding/{binding.pk}/history/").content.decode())
    outputs.append(client.get("/admin/channels_app/channelbinding/").content.decode())
    outputs.append(client.get("/api/v1/phone-numbers", **auth).content.decode())
    outputs.append(client.get("/api/v1/phone-numbers/trunks", **auth).content.decode())
    outputs.append(client.get("/api/v1/schema").content.decode())
    client.force_login(customer_a)
    outputs.append(client.get(f"/app/{workspace_a.slug}/numbers/").content.decode())
    for number in PhoneNumber.objects.all():
        outputs.append(client.get(f"/app/{workspace_a.slug}/numbers/{number.phone_number_uuid}/").content.decode())

    in_outputs = sum(text.count(marker) for text in outputs for marker in MARKERS)
    in_logs = sum(caplog.text.count(marker) for marker in MARKERS)
    dump = _dump_every_table()
    in_tables = sum(dump.count(marker) for marker in MARKERS)
    checked, not_fernet = _not_fernet()
    print(
        f"[secrets] outputs={len(outputs)} marker in outputs={in_outputs} in log records={in_logs} "
        f"in tables (history included)={in_tables}; encrypted values={checked} not Fernet={not_fernet}"
    )
    assert (in_outputs, in_logs, in_tables, not_fernet) == (0, 0, 0, 0)
    assert checked >= 9  # gateway, username and password of three trunks, plus history copies of gateways
