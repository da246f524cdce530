"""`import_trunks` reads its file row by row: memory does not grow with the file.

The file is checked whole before any row is registered; then rows go to the service a run at a
time (imports.RUN_ROWS), each row's report line is written when its outcome is known, and no row
is kept. bench/import_trunks.py measures the memory; these tests hold the behaviour.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from channels_app import imports
from channels_app.audit import Actor
from channels_app.models import Agent, ChannelBinding, PhoneNumber
from tests.admin_support import csv_text, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def agents(workspace_a) -> list[Agent]:
    return [Agent.objects.create(workspace=workspace_a, name=f"import agent {i}") for i in range(8)]


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_trunks", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_file_longer_than_a_run_is_registered_run_by_run_in_file_order(workspace_a, agents, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "RUN_ROWS", 3)
    lines = [row(f"+1 202 555 01{40 + i}", agents[i]) for i in range(7)]
    lines.insert(5, row("+1 202 555 0141", agents[7]))  # the second row's number, two runs later
    path = tmp_path / "trunks.csv"
    path.write_text(csv_text(*lines), encoding="utf-8")

    with pytest.raises(CommandError) as failed:
        command(workspace_a.slug, str(path))
    assert str(failed.value).startswith("Registered 7 of 8 rows, 1 refused.")
    assert PhoneNumber.objects.count() == ChannelBinding.objects.count() == 7


def test_the_report_lines_come_in_file_order_as_rows_are_registered(workspace_a, agents, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "RUN_ROWS", 2)
    path = tmp_path / "trunks.csv"
    path.write_text(
        csv_text(*(row(f"+1 202 555 01{40 + i}", agents[i]) for i in range(5)), row("+1 202 555 0140", agents[5])),
        encoding="utf-8",
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_trunks", workspace_a.slug, str(path), stdout=out, stderr=io.StringIO())
    lines = [line for line in out.getvalue().splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in lines] == [f"line {n}" for n in range(2, 8)]
    assert "refused" in lines[-1] and "NUMBER_ALREADY_BOUND" in lines[-1]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"+12025550199,call,\x00\n", "NUL characters"),
        (b"+12025550199,call,\xff\xfe\n", "The file must be UTF-8 encoded CSV."),
    ],
)
def test_a_file_broken_at_its_end_is_refused_before_any_row_is_registered(workspace_a, agents, tmp_path, tail, message):
    path = tmp_path / "trunks.csv"
    path.write_bytes(csv_text(*(row(f"+1 202 555 01{40 + i}", agents[i]) for i in range(3))).encode() + tail)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_trunks", workspace_a.slug, str(path), stdout=out, stderr=io.StringIO())
    assert message in str(failed.value)
    assert out.getvalue() == ""
    assert PhoneNumber.objects.count() == 0


def test_file_rows_hands_out_an_iterator_and_register_rows_can_keep_none(workspace_a, agents, tmp_path):
    path = tmp_path / "trunks.csv"
    path.write_text(csv_text(*(row(f"+1 202 555 01{40 + i}", agents[i]) for i in range(4))), encoding="utf-8")
    seen = []
    with imports.file_rows(path) as (total, rows):
        assert total == 4
        assert isinstance(rows, Iterator) and not isinstance(rows, list)
        report = imports.register_rows(
            workspace=workspace_a,
            actor=Actor.command("tests"),
            rows=rows,
            total=total,
            dry_run=False,
            on_row=lambda registered: seen.append(registered.line),
            keep_rows=False,
        )
    assert report.rows == []
    assert (report.valid_count, report.refused_count) == (4, 0)
    assert seen == [2, 3, 4, 5]
