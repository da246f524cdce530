"""The `agent_name` column of the CSV import (channels_app.imports): an agent named instead of
given by UUID, for the admin's import and `import_trunks` alike.

A name stands for the one agent of the workspace that has it, ignoring case (the agent search of
the pages reads names the same way, through `services.rules.agent_named`). An unknown or
ambiguous name is a problem of its row, on the `agent_name` column. The names of a run of rows
are looked up together (selectors.agents_by_text), so a file's queries do not grow with its rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from channels_app import selectors
from channels_app.errors import ValidationFailed
from channels_app.models import Workspace
from channels_app.services import rules

if TYPE_CHECKING:
    from channels_app.imports import Row

AGENT_NAME = "agent_name"
AGENT_UUID = "agent_uuid"


def resolve(workspace: Workspace, rows: Iterable[Row], error) -> None:
    """Give each row that names its agent the agent's UUID (`cells["agent_uuid"]`, marking the row
    `agent_by_name`), or a row error made by `error(column, message)`."""
    named = [row for row in rows if row.cells.get(AGENT_NAME)]
    if not named:
        return
    found = selectors.agents_by_text(workspace=workspace, texts=[row.cells[AGENT_NAME] for row in named])
    for row in named:
        if row.cells.get(AGENT_UUID):
            row.errors.append(error(AGENT_NAME, _("Give agent_uuid or agent_name, not both.")))
            continue
        name = row.cells[AGENT_NAME]
        row.agent_by_name = True
        try:
            agent = rules.agent_named(name, found.get(name.strip().lower(), []))
        except ValidationFailed as exc:
            row.errors.append(error(AGENT_NAME, exc.details))
            continue
        row.cells[AGENT_UUID] = str(agent.agent_uuid)


def column_for(row: Row, column: str | None) -> str | None:
    """The column a problem of the agent is shown on: the one the row used."""
    if column == AGENT_UUID and getattr(row, "agent_by_name", False):
        return AGENT_NAME
    return column
