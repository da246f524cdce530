"""Bulk registration from CSV in the admin: upload, preview every row with its errors, commit.

The preview writes nothing; the commit writes every valid row and none of the refused ones; the
file travels between the two steps encrypted, so the credentials never appear in the page.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.models import ChannelBinding, PhoneNumber
from tests.admin_support import IMPORT_URL, csv_text, row
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def upload(client, workspace, text: str):
    file = SimpleUploadedFile("trunks.csv", text.encode("utf-8"), content_type="text/csv")
    return client.post(IMPORT_URL, {"workspace": workspace.pk, "file": file})


def payload_of(response) -> str:
    return re.search(r'name="payload" value="([^"]+)"', response.content.decode()).group(1)


def written() -> tuple[int, int, int, int]:
    return (
        PhoneNumber.objects.count(),
        ChannelBinding.objects.count(),
        PhoneNumber.history.count(),
        ChannelBinding.history.count(),
    )


@pytest.fixture
def three_rows(workspace_a, agents_a):
    """Three rows, the second with a bad gateway; every row carries the marker credentials."""
    secrets = {"sip_username": MARKER_USERNAME, "sip_password": MARKER_PASSWORD}
    return csv_text(
        row("+1 202 555 0141", agents_a[0], **secrets),
        row("+1 202 555 0142", agents_a[1], sip_gateway="sip.example.com:5060", **secrets),
        row("+1 202 555 0143", agents_a[2], channel="whatsapp"),
    )


def test_the_upload_page_loads_and_names_the_columns(staff_client, workspace_a):
    html = staff_client.get(IMPORT_URL).content.decode()
    assert "phone_number, channel, agent_uuid, agent_name, name, direction, sip_gateway, sip_port" in html
    assert 'type="file"' in html


def test_the_preview_lists_every_row_with_its_errors_and_writes_nothing(staff_client, workspace_a, three_rows):
    before = written()
    response = upload(staff_client, workspace_a, three_rows)
    assert response.status_code == 200
    assert written() == before
    html = response.content.decode()
    assert "2 of 3 rows can be registered" in html and "Nothing has been written yet." in html
    assert html.count('class="row-ok"') == 2 and html.count('class="row-refused"') == 1
    refused = re.search(r'<tr id="line-3" class="row-refused">(.*?)</tr>', html, re.S).group(1)
    assert "<code>sip_gateway</code>: Enter a host name or IP address only" in refused
    assert "VALIDATION_ERROR" not in refused  # people read the message, not the code
    assert "call_trunk_12025550141" in html and "A agent 1" in html
    assert 'value="Register 2 valid rows"' in html


def test_the_commit_registers_the_valid_rows_only(staff_client, workspace_a, three_rows, staff_user):
    preview = upload(staff_client, workspace_a, three_rows)
    response = staff_client.post(IMPORT_URL, {"payload": payload_of(preview)})
    assert response.status_code == 200
    assert "Registered 2 of 3 rows in Workspace A." in response.content.decode()
    assert sorted(PhoneNumber.objects.values_list("number", flat=True)) == ["+12025550141", "+12025550143"]
    call = ChannelBinding.objects.get(channel="call")
    assert (call.sip_username, call.sip_password) == (MARKER_USERNAME, MARKER_PASSWORD)
    assert {(r.door, r.history_user) for r in ChannelBinding.history.all()} == {("admin", staff_user)}


def test_the_credentials_appear_in_neither_the_preview_nor_the_result(staff_client, workspace_a, three_rows):
    preview = upload(staff_client, workspace_a, three_rows)
    result = staff_client.post(IMPORT_URL, {"payload": payload_of(preview)})
    for response in (preview, result):
        html = response.content.decode()
        assert MARKER_PASSWORD not in html and MARKER_USERNAME not in html
    assert payload_of(preview).startswith("gAAAAA")  # the file travels encrypted


def test_the_import_takes_its_input_as_sensitive_post_parameters(staff_client, workspace_a, three_rows):
    response = upload(staff_client, workspace_a, three_rows)
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


def test_a_tampered_payload_is_refused_and_nothing_is_written(staff_client, workspace_a, three_rows):
    payload = payload_of(upload(staff_client, workspace_a, three_rows))
    response = staff_client.post(IMPORT_URL, {"payload": payload[:-8] + "AAAAAAAA"}, follow=True)
    assert "The preview has expired or is not valid." in response.content.decode()
    assert written()[:2] == (0, 0)


def test_another_staff_member_cannot_commit_someone_elses_preview(client, staff_user, workspace_a, three_rows):
    client.force_login(staff_user)
    payload = payload_of(upload(client, workspace_a, three_rows))
    client.force_login(make_user("other-staff", is_staff=True, is_superuser=True))
    response = client.post(IMPORT_URL, {"payload": payload}, follow=True)
    assert "The preview has expired or is not valid." in response.content.decode()
    assert written()[:2] == (0, 0)


def test_a_file_with_a_bad_header_is_refused_on_the_file_field(staff_client, workspace_a):
    response = upload(staff_client, workspace_a, "number,channel\n+12025550141,call\n")
    (message,) = response.context["form"].errors["file"]
    assert message.startswith(
        "Missing column(s): phone_number, agent_uuid or agent_name. Unknown column(s): number. Expected: "
    )


def test_a_file_with_no_rows_is_refused(staff_client, workspace_a):
    response = upload(staff_client, workspace_a, csv_text())
    assert response.context["form"].errors == {"file": ["The file has a header but no rows."]}


def test_a_file_where_every_row_is_refused_offers_nothing_to_commit(staff_client, workspace_a, agent_a):
    response = upload(staff_client, workspace_a, csv_text(row("12", agent_a)))
    assert 'value="Register 0 valid rows" disabled' in response.content.decode()
