"""The CSV bulk-registration engine and the `import_trunks` command that runs it.

Same rules as the API (every row goes through services.trunk_register); a preview (dry run)
writes nothing and sees exactly what a commit would; a commit writes every valid row together
and nothing of a refused one; reports never carry a credential.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from channels_app import imports, services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import Agent, ChannelBinding, PhoneNumber
from tests.admin_support import HEADER, csv_text, row
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME

pytestmark = pytest.mark.django_db


def run(workspace, text: str, *, dry_run: bool = False) -> imports.ImportReport:
    return imports.import_csv(workspace=workspace, actor=Actor.command("tests"), source=text, dry_run=dry_run)


def written() -> tuple[int, int, int]:
    return PhoneNumber.objects.count(), ChannelBinding.objects.count(), ChannelBinding.history.count()


# --- the engine -----------------------------------------------------------------------------------------


def test_a_commit_registers_every_valid_row_with_its_fields(workspace_a, agents_a):
    text = csv_text(
        row(
            "+1 202 555 0141",
            agents_a[0],
            name="Desk",
            direction="inbound",
            sip_gateway="sip.example.com",
            sip_port="5080",
            sip_username=MARKER_USERNAME,
            sip_password=MARKER_PASSWORD,
            sip_secondary_gateway="10.0.0.2",
            additional_settings='{"region": "eu"}',
        ),
        row("12025550142", agents_a[1], channel="whatsapp"),
    )
    report = run(workspace_a, text)
    assert (report.valid_count, report.refused_count) == (2, 0)
    call = ChannelBinding.objects.get(channel="call")
    assert (call.phone_number.e164, call.agent, call.name, call.direction) == (
        "+12025550141",
        agents_a[0],
        "Desk",
        "inbound",
    )
    assert (call.sip_gateway, call.sip_port, call.sip_secondary_gateway) == ("sip.example.com", "5080", "10.0.0.2")
    assert (call.sip_username, call.sip_password, call.additional_settings) == (
        MARKER_USERNAME,
        MARKER_PASSWORD,
        {"region": "eu"},
    )
    whatsapp = ChannelBinding.objects.get(channel="whatsapp")
    assert (whatsapp.name, whatsapp.direction) == ("whatsapp_trunk_12025550142", None)
    assert [r.trunk_name for r in report.rows] == ["Desk", "whatsapp_trunk_12025550142"]


def test_refused_rows_are_reported_on_their_columns_and_not_written(workspace_a, agents_a, purchased_a):
    text = csv_text(
        row("+1 202 555 0141", agents_a[0]),
        row("+1 202 555 0142", agents_a[1], sip_gateway="https://sip.example.com"),
        row(purchased_a.e164, agents_a[2]),
        row("not a number", agents_a[2], sip_port="0", additional_settings="{broken"),
    )
    report = run(workspace_a, text)
    assert [r.ok for r in report.rows] == [True, False, False, False]
    assert [(e.column, e.code) for e in report.rows[1].errors] == [("sip_gateway", "VALIDATION_ERROR")]
    assert [(e.column, e.code) for e in report.rows[2].errors] == [("phone_number", "NUMBER_IN_INVENTORY")]
    assert {(e.column, e.code) for e in report.rows[3].errors} == {
        ("additional_settings", "VALIDATION_ERROR"),
        ("phone_number", "VALIDATION_ERROR"),
        ("sip_port", "VALIDATION_ERROR"),
    }
    assert [r.line for r in report.rows] == [2, 3, 4, 5]
    assert list(PhoneNumber.objects.filter(source="external").values_list("number", flat=True)) == ["+12025550141"]


def test_rows_of_one_file_conflict_with_each_other_as_they_would_one_by_one(workspace_a, agents_a):
    text = csv_text(
        row("+1 202 555 0141", agents_a[0]),
        row("+1-202-555-0141", agents_a[1]),  # same number, same channel
        row("+1 202 555 0143", agents_a[0]),  # same agent, same channel
        row("+1 202 555 0141", agents_a[2], channel="whatsapp"),  # same number, other channel: fine
    )
    report = run(workspace_a, text, dry_run=True)
    assert [r.ok for r in report.rows] == [True, False, False, True]
    assert report.rows[1].errors[0].code == "NUMBER_ALREADY_BOUND"
    assert (report.rows[2].errors[0].column, report.rows[2].errors[0].code) == ("agent_uuid", "AGENT_CHANNEL_IN_USE")


def test_a_dry_run_writes_nothing_not_even_an_audit_event(workspace_a, agents_a):
    text = csv_text(row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0142", agents_a[1]))
    before = (*written(), PhoneNumber.history.count())
    report = run(workspace_a, text, dry_run=True)
    assert report.valid_count == 2
    assert (*written(), PhoneNumber.history.count()) == before


def test_sms_an_unknown_agent_and_sip_on_whatsapp_get_the_contract_codes(workspace_a, agents_a, agent_b):
    text = csv_text(
        row("+1 202 555 0141", agents_a[0], channel="sms"),
        row("+1 202 555 0142", agent_b),
        row("+1 202 555 0143", agents_a[1], channel="whatsapp", sip_password="x"),
        "+1 202 555 0144,call,not-a-uuid" + "," * (len(imports.COLUMNS) - 3),
    )
    report = run(workspace_a, text)
    assert [(e.column, e.code) for r in report.rows for e in r.errors] == [
        ("channel", "UNSUPPORTED_CHANNEL"),
        ("agent_uuid", "AGENT_NOT_FOUND"),
        (None, "VALIDATION_ERROR"),
        ("agent_uuid", "VALIDATION_ERROR"),
    ]
    assert "POST /api/v1/agents/{agent_uuid}/channels/sms" in report.rows[0].errors[0].message
    assert written()[:2] == (0, 0)


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out(workspace_a, agent_a):
    text = f"agent_uuid,phone_number,channel\n{agent_a.agent_uuid},+1 202 555 0141,call\n"
    assert run(workspace_a, text).valid_count == 1


def test_empty_lines_are_skipped_and_line_numbers_match_the_file(workspace_a, agents_a):
    text = csv_text(row("+1 202 555 0141", agents_a[0]), ",,,,,,,,,,", "", row("+1 202 555 0142", agents_a[1]))
    report = run(workspace_a, text)
    assert [r.line for r in report.rows] == [2, 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("phone_number,channel\n+12025550141,call\n", "Missing column(s): agent_uuid or agent_name."),
        (HEADER + ",sip_pasword\n", "Unknown column(s): sip_pasword."),
        ("phone_number,channel,agent_uuid,channel\n", "Repeated column(s): channel."),
        (b"\xff\xfephone_number", "The file must be UTF-8 encoded CSV."),
    ],
)
def test_an_unusable_file_is_refused_as_a_whole(workspace_a, text, message):
    with pytest.raises(imports.CsvFormatError) as refused:
        run(workspace_a, text)
    assert message in str(refused.value)


def test_a_utf8_byte_order_mark_and_windows_line_ends_are_accepted(workspace_a, agent_a):
    data = ("\ufeff" + csv_text(row("+1 202 555 0141", agent_a)).replace("\n", "\r\n")).encode("utf-8")
    assert run(workspace_a, data).valid_count == 1


def test_a_row_with_more_cells_than_the_header_is_refused(workspace_a, agent_a):
    report = run(workspace_a, csv_text(row("+1 202 555 0141", agent_a) + ",extra"))
    assert report.rows[0].errors[0].message == "This row has more cells than the header has columns."
    assert written()[:2] == (0, 0)


def test_reports_show_credentials_only_as_set(workspace_a, agent_a):
    text = csv_text(row("+1 202 555 0141", agent_a, sip_username=MARKER_USERNAME, sip_password=MARKER_PASSWORD))
    report = run(workspace_a, text, dry_run=True)
    shown = repr([r.shown for r in report.rows]) + report.rows[0].report_line(dry_run=True)
    assert MARKER_PASSWORD not in shown and MARKER_USERNAME not in shown
    assert report.rows[0].shown["sip_password"] == "set"


def test_the_audit_trail_records_each_row_as_the_command(workspace_a, agent_a):
    run(workspace_a, csv_text(row("+1 202 555 0141", agent_a, sip_password=MARKER_PASSWORD)))
    record = ChannelBinding.history.get()
    assert (record.door, record.actor_label, record.action, record.secrets_changed) == (
        "command",
        "manage.py tests",
        "registered",
        ["sip_password"],
    )


def test_bulk_registration_answers_each_row_exactly_as_single_registrations_would(
    workspace_a, workspace_b, agents_a, agent_b, purchased_a, purchased_b, trunk_a
):
    """trunk_register_many against trunk_register called row by row, on the same mixed rows."""
    rows = [
        {"phone_number": "+1 202 555 0141", "channel": "call", "agent_uuid": agents_a[1].agent_uuid},
        {"phone_number": "+12025550141", "channel": "whatsapp", "agent_uuid": agents_a[1].agent_uuid},
        {"phone_number": "+1 202 555 0141", "channel": "call", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": "+1 202 555 0142", "channel": "call", "agent_uuid": agents_a[1].agent_uuid},
        {"phone_number": purchased_a.e164, "channel": "call", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": purchased_b.e164, "channel": "call", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": "+12345678901", "channel": "whatsapp", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": "+12345678901", "channel": "call", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": "+1 202 555 0143", "channel": "sms", "agent_uuid": agents_a[2].agent_uuid},
        {"phone_number": "+1 202 555 0143", "channel": "call", "agent_uuid": agent_b.agent_uuid},
        {"phone_number": "+1 202 555 0143", "channel": "call", "agent_uuid": "nope"},
        {"phone_number": "12", "channel": "call", "agent_uuid": agents_a[2].agent_uuid, "sip": {"port": 0}},
        {
            "phone_number": "+1 202 555 0144",
            "channel": "whatsapp",
            "agent_uuid": agents_a[2].agent_uuid,
            "sip": {"gateway": "x"},
        },
        {
            "phone_number": "+1 202 555 0145",
            "channel": "call",
            "agent_uuid": agents_a[2].agent_uuid,
            "name": "n" * 256,
        },
        {
            "phone_number": "+1 202 555 0146",
            "channel": "call",
            "agent_uuid": agents_a[2].agent_uuid,
            "direction": "inbound",
            "sip": {"gateway": "sip.example.com", "password": MARKER_PASSWORD},
            "additional_settings": {"a": 1},
        },
        {"phone_number": "+1 202 555 0147", "channel": "call", "agent_uuid": agents_a[2].agent_uuid},
    ]
    actor = Actor.command("tests")

    def shape(outcome):
        if isinstance(outcome, DomainError):
            return ("refused", outcome.code, outcome.field, outcome.message, outcome.details, outcome.fields)
        return (
            "registered",
            outcome.phone_number.e164,
            outcome.channel,
            outcome.agent_id,
            outcome.name,
            outcome.direction,
            outcome.sip_gateway,
            outcome.sip_password,
            outcome.additional_settings,
        )

    def history():
        return sorted(
            (str(r.number) if model is PhoneNumber else r.channel, r.action, r.door, r.actor_label, r.secrets_changed)
            for model in (PhoneNumber, ChannelBinding)
            for r in model.history.filter(actor_label="manage.py tests", history_type="+")
        )

    one_by_one = []
    with services.rolled_back():
        for kwargs in rows:
            try:
                one_by_one.append(shape(services.trunk_register(workspace=workspace_a, actor=actor, **kwargs)))
            except DomainError as exc:
                one_by_one.append(shape(exc))
        single_history = history()
    with services.rolled_back():
        bulk = [shape(o) for o in services.trunk_register_many(workspace=workspace_a, actor=actor, rows=rows)]
        bulk_history = history()
    assert bulk == one_by_one
    assert bulk_history == single_history
    assert [entry[0] for entry in bulk].count("registered") == 4


def test_valid_rows_are_written_in_bulk_with_a_query_count_that_does_not_grow_per_row(
    workspace_a, django_assert_max_num_queries
):
    agents = Agent.objects.bulk_create([Agent(workspace=workspace_a, name=f"bulk {i}") for i in range(120)])
    text = csv_text(
        *(row(f"+1212200{i:04d}", agent, sip_password="pw") for i, agent in enumerate(agents)),
    )
    with django_assert_max_num_queries(25):  # 120 rows one by one would take over 1,000
        report = run(workspace_a, text)
    assert report.valid_count == 120
    assert ChannelBinding.history.filter(secrets_changed=["sip_password"]).count() == 120


# --- the command ------------------------------------------------------------------------------------------


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str):
        path = tmp_path / "trunks.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_trunks", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_a_file_with_a_per_row_report_and_progress(workspace_a, agents_a, csv_file):
    path = csv_file(csv_text(row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0142", agents_a[1])))
    out, err = command(workspace_a.slug, path)
    assert "line 2: +1 202 555 0141 call: registered as +12025550141 (call_trunk_12025550141)" in out
    assert "line 3: +1 202 555 0142 call: registered as +12025550142" in out
    assert "Registered 2 of 2 rows, 0 refused." in out
    assert "2/2 rows checked" in err
    assert ChannelBinding.objects.count() == 2
    assert ChannelBinding.history.first().actor_label == "manage.py import_trunks"


def test_the_command_dry_run_writes_nothing(workspace_a, agent_a, csv_file):
    out, _ = command(workspace_a.slug, csv_file(csv_text(row("+1 202 555 0141", agent_a))), "--dry-run")
    assert "line 2: +1 202 555 0141 call: valid as +12025550141" in out
    assert "Dry run: 1 of 1 rows would be registered, 0 refused. Nothing was written." in out
    assert written() == (0, 0, 0)


def test_the_command_fails_when_a_row_is_refused_but_keeps_the_valid_rows(workspace_a, agents_a, csv_file):
    path = csv_file(
        csv_text(
            row("+1 202 555 0141", agents_a[0], sip_password=MARKER_PASSWORD),
            row("+1 202 555 0142", agents_a[1], sip_gateway="sip://bad", sip_password=MARKER_PASSWORD),
        )
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_trunks", workspace_a.slug, path, stdout=out, stderr=err)
    assert str(failed.value) == (
        "Registered 1 of 2 rows, 1 refused. See the refused rows above; the 1 valid rows were registered."
    )
    assert "line 3: +1 202 555 0142 call: refused - sip_gateway: Enter a host name" in out.getvalue()
    assert "[VALIDATION_ERROR]" in out.getvalue()
    assert MARKER_PASSWORD not in out.getvalue() + err.getvalue() + str(failed.value)
    assert list(PhoneNumber.objects.values_list("number", flat=True)) == ["+12025550141"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-workspace", "x.csv"), "No workspace with slug 'no-such-workspace'."),
        (("ws-a", "/nonexistent/trunks.csv"), "Cannot read /nonexistent/trunks.csv"),
    ],
)
def test_the_command_fails_clearly_on_a_bad_workspace_or_path(workspace_a, args, message):
    with pytest.raises(CommandError) as failed:
        command(*args)
    assert message in str(failed.value)


def test_the_command_fails_clearly_on_a_bad_header(workspace_a, csv_file):
    with pytest.raises(CommandError) as failed:
        command(workspace_a.slug, csv_file("number,channel\n"))
    assert "Missing column(s): phone_number, agent_uuid or agent_name." in str(failed.value)
