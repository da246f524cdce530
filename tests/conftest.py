"""Personas and helpers shared by the whole suite.

Two workspaces (A and B) with members of each role, agents, purchased numbers and API tokens.
Everything goes through the real services and the real database: nothing of ours is mocked.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from channels_app import services
from channels_app.audit import Actor, Door
from channels_app.models import Agent, Membership, Role, Workspace

# Tests print the figure they measured as a line starting with "[topic] "; the lines of passing
# tests are gathered into a "figures" section at the end of the run, so a reader of the CI log
# sees every bar's figure in one place.
_FIGURE_LINE = re.compile(r"^\[[\w .-]+\] ")
_figures: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        _figures.extend(line.strip() for line in report.capstdout.splitlines() if _FIGURE_LINE.match(line.strip()))


def pytest_terminal_summary(terminalreporter):
    if _figures:
        terminalreporter.section("figures")
        for line in _figures:
            terminalreporter.write_line(line)


MARKER_PASSWORD = "MARKER-pw-7f3c9e-do-not-leak"
MARKER_USERNAME = "MARKER-user-41d2a8"
USER_PASSWORD = "correct-horse-battery-9"


def make_user(username: str, *, is_staff: bool = False, is_superuser: bool = False):
    return get_user_model().objects.create_user(
        username=username, password=USER_PASSWORD, is_staff=is_staff, is_superuser=is_superuser
    )


@pytest.fixture
def command_actor() -> Actor:
    return Actor.command("tests")


@pytest.fixture
def workspace_a(db) -> Workspace:
    return Workspace.objects.create(name="Workspace A", slug="ws-a")


@pytest.fixture
def workspace_b(db) -> Workspace:
    return Workspace.objects.create(name="Workspace B", slug="ws-b")


@pytest.fixture
def agents_a(workspace_a) -> list[Agent]:
    return [Agent.objects.create(workspace=workspace_a, name=f"A agent {i}") for i in range(1, 4)]


@pytest.fixture
def agent_a(agents_a) -> Agent:
    return agents_a[0]


@pytest.fixture
def agents_b(workspace_b) -> list[Agent]:
    return [Agent.objects.create(workspace=workspace_b, name=f"B agent {i}") for i in range(1, 3)]


@pytest.fixture
def agent_b(agents_b) -> Agent:
    return agents_b[0]


@pytest.fixture
def staff_user(db):
    return make_user("staff-person", is_staff=True, is_superuser=True)


def _member(username: str, workspace: Workspace, role: str):
    user = make_user(username)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def customer_a(workspace_a):
    """Admin member of workspace A."""
    return _member("customer-a", workspace_a, Role.ADMIN)


@pytest.fixture
def developer_a(workspace_a):
    return _member("developer-a", workspace_a, Role.DEVELOPER)


@pytest.fixture
def viewer_a(workspace_a):
    return _member("viewer-a", workspace_a, Role.VIEWER)


@pytest.fixture
def customer_b(workspace_b):
    return _member("customer-b", workspace_b, Role.ADMIN)


@pytest.fixture
def purchased_a(workspace_a, command_actor):
    """A purchased, voice- and SMS-capable number of workspace A."""
    return services.number_add_purchased(
        workspace=workspace_a, actor=command_actor, number="+12025550101", capabilities={"sms": True}
    )


@pytest.fixture
def purchased_a_voice_only(workspace_a, command_actor):
    return services.number_add_purchased(
        workspace=workspace_a, actor=command_actor, number="+12025550102", capabilities={"sms": False}
    )


@pytest.fixture
def purchased_b(workspace_b, command_actor):
    return services.number_add_purchased(
        workspace=workspace_b, actor=command_actor, number="+14155550111", capabilities={"sms": True}
    )


def _token(workspace, scope, name="test token"):
    _, plaintext = services.token_create(workspace=workspace, actor=Actor(door=Door.COMMAND), name=name, scope=scope)
    return plaintext


@pytest.fixture
def token_a(workspace_a) -> str:
    """Plaintext read_write token of workspace A."""
    return _token(workspace_a, "read_write")


@pytest.fixture
def token_a_read(workspace_a) -> str:
    return _token(workspace_a, "read", name="read-only token")


@pytest.fixture
def token_b(workspace_b) -> str:
    return _token(workspace_b, "read_write")


@pytest.fixture
def trunk_a(workspace_a, agent_a, command_actor):
    """A call trunk on an external number of workspace A, with SIP credentials set."""
    return services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+12345678901",
        agent_uuid=agent_a.agent_uuid,
        channel="call",
        sip={"gateway": "sip.example.com", "username": MARKER_USERNAME, "password": MARKER_PASSWORD},
    )


@pytest.fixture
def log_watch(caplog):
    """Every log record of the test, django.request's included (tests/hostile_values.LogWatch)."""
    from tests.hostile_values import LogWatch

    watch = LogWatch(caplog)
    yield watch
    watch.close()
