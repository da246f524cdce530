"""The CSV import's preview and format: every problem of a row at once (a conflict with an
earlier row included), the `agent_name` column in the admin and `import_trunks` alike, the
downloadable template, and a preview whose queries do not grow with its rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app import imports
from channels_app.models import Agent, ChannelBinding
from tests.admin_support import IMPORT_URL, csv_text, row
from tests.test_admin_import import upload
from tests.test_import_trunks import command, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str):
        path = tmp_path / "trunks.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def named_row(number: str, agent_name: str, **cells: str) -> str:
    """A data line naming its agent by `agent_name` (no agent_uuid)."""
    values = dict.fromkeys(imports.COLUMNS, "")
    values.update(phone_number=number, channel="call", agent_name=agent_name, **cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([values[column] for column in imports.COLUMNS])
    return out.getvalue()


THREE_PROBLEMS = {"sip_gateway": "sip:gw.example.com", "sip_port": "99999"}


def test_a_row_with_three_problems_reports_all_three_including_the_earlier_rows_number(workspace_a, agents_a):
    report = run(
        workspace_a,
        csv_text(row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0141", agents_a[1], **THREE_PROBLEMS)),
        dry_run=True,
    )
    second = report.rows[1]
    assert [error.column for error in second.errors] == ["sip_gateway", "sip_port", "phone_number"]
    assert second.errors[2].message.startswith("This number is already bound on call.")


def test_the_admin_preview_shows_the_three_problems_without_codes(staff_client, workspace_a, agents_a):
    text = csv_text(row("+1 202 555 0141", agents_a[0]), row("+1 202 555 0141", agents_a[1], **THREE_PROBLEMS))
    html = upload(staff_client, workspace_a, text).content.decode()
    refused = re.search(r'<tr id="line-3" class="row-refused">(.*?)</tr>', html, re.S).group(1)
    assert "refused: 3 problems" in refused
    assert len(re.findall(r"<li><code>", refused)) == 3
    assert "VALIDATION_ERROR" not in html and "NUMBER_ALREADY_BOUND" not in html


def test_an_agent_named_uniquely_is_used_in_the_admin_and_the_command(staff_client, workspace_a, agents_a, csv_file):
    text = csv_text(named_row("+1 202 555 0141", "a agent 1"), named_row("+1 202 555 0142", "A agent 2"))
    html = upload(staff_client, workspace_a, text).content.decode()
    assert "2 of 2 rows can be registered" in html
    out, _err = command("ws-a", csv_file(text))
    assert "registered as +12025550141" in out
    assert ChannelBinding.objects.get(phone_number__number="+12025550142").agent == agents_a[1]


def test_unknown_ambiguous_and_doubly_given_agents_are_row_errors_on_agent_name(workspace_a, agents_a):
    Agent.objects.create(workspace=workspace_a, name="Twin")
    Agent.objects.create(workspace=workspace_a, name="TWIN")
    report = run(
        workspace_a,
        csv_text(
            named_row("+1 202 555 0141", "Nobody"),
            named_row("+1 202 555 0142", "twin"),
            named_row("+1 202 555 0143", "A agent 1", agent_uuid=str(agents_a[0].agent_uuid)),
        ),
    )
    assert [[(error.column, error.message) for error in r.errors] for r in report.rows] == [
        [("agent_name", "No agent of this workspace is named or has the UUID “Nobody”.")],
        [("agent_name", "2 agents are named “twin”: use the agent's UUID instead.")],
        [("agent_name", "Give agent_uuid or agent_name, not both.")],
    ]
    assert ChannelBinding.objects.count() == 0


def test_an_agent_conflict_of_a_named_agent_is_shown_on_agent_name(workspace_a, agents_a):
    report = run(
        workspace_a, csv_text(named_row("+1 202 555 0141", "A agent 1"), named_row("+1 202 555 0142", "A agent 1"))
    )
    assert [(e.column, e.message.split(".")[0]) for e in report.rows[1].errors] == [
        ("agent_name", "A agent 1 already answers call on +1 202-555-0141")
    ]


def test_another_workspaces_agent_name_is_unknown(workspace_a, agent_b):
    report = run(workspace_a, csv_text(named_row("+1 202 555 0141", agent_b.name)))
    assert report.rows[0].errors[0].column == "agent_name"


def test_the_template_downloads_with_every_column_and_an_example_row_that_imports(staff_client, workspace_a, agents_a):
    response = staff_client.get(f"{IMPORT_URL}template.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="trunks-template.csv"' in response["Content-Disposition"]
    header, example = list(csv.reader(io.StringIO(response.content.decode())))
    assert header == list(imports.COLUMNS)
    assert dict(zip(header, example, strict=True))["agent_name"] == "Reception"
    Agent.objects.create(workspace=workspace_a, name="Reception")
    report = run(workspace_a, response.content.decode())
    assert report.valid_count == 1, [str(e) for e in report.rows[0].errors]
    assert f'href="{IMPORT_URL}template.csv"' in staff_client.get(IMPORT_URL).content.decode()


def test_the_template_needs_the_import_permission(client, workspace_a):
    assert client.get(f"{IMPORT_URL}template.csv").status_code == 302  # to the admin login


def test_the_preview_costs_the_same_queries_for_10_and_200_rows_named_by_agent(staff_client, workspace_a):
    """Reads are flat; the bulk inserts come in batches (SQLite binds at most 999 values per
    statement, so its batches hold a few dozen rows), never one statement per row."""
    agents = Agent.objects.bulk_create([Agent(workspace=workspace_a, name=f"bulk {i:03d}") for i in range(200)])

    def preview_queries(count: int) -> tuple[int, int]:
        text = csv_text(*(named_row(f"+1212200{i:04d}", agent.name) for i, agent in enumerate(agents[:count])))
        with CaptureQueriesContext(connection) as captured:
            html = upload(staff_client, workspace_a, text).content.decode()
        assert f"{count} of {count} rows can be registered" in html
        inserts = sum(1 for query in captured.captured_queries if query["sql"].startswith("INSERT"))
        return len(captured) - inserts, inserts

    small, large = preview_queries(10), preview_queries(200)
    print(
        f"[csv preview] {connection.vendor}: 10 rows: {small[0]} reads + {small[1]} inserts; "
        f"200 rows: {large[0]} reads + {large[1]} inserts"
    )
    assert large[0] == small[0]
    assert large[1] <= 200 / 5  # batches, not rows
