"""A server process started with a key that cannot read the stored credentials refuses to start;
with the right key among the configured ones, it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trunkadmin.settings_test import TEST_FIELD_KEYS

ROOT = Path(__file__).resolve().parents[1]
K1, K2 = TEST_FIELD_KEYS

SEED = """
from channels_app import services
from channels_app.audit import Actor
from channels_app.models import Agent, Workspace
ws = Workspace.objects.create(name="W", slug="w")
agent = Agent.objects.create(workspace=ws, name="A")
services.trunk_register(workspace=ws, actor=Actor.command("test"), phone_number="+12025550147",
    agent_uuid=agent.agent_uuid, channel="call", sip={"gateway": "sip.example.com", "password": "pw-1"})
"""


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_server_process_refuses_to_start_with_a_key_that_cannot_decrypt(tmp_path):
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
        "DEBUG": "false",
        "SECRET_KEY": "startup-refusal-test-secret-key-0123456789abcdef0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "TRUNKADMIN_VAR_DIR": str(tmp_path),
        "SECURE_SSL_REDIRECT": "false",
    }
    written = {**base, "FIELD_ENCRYPTION_KEY": K1}
    assert _run(written, "manage.py", "migrate", "-v0").returncode == 0
    seeded = _run(written, "manage.py", "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr

    wrong = _run({**base, "FIELD_ENCRYPTION_KEY": K2}, "-c", "import trunkadmin.wsgi")
    assert wrong.returncode != 0
    assert "Refusing to serve" in wrong.stderr
    assert "pw-1" not in wrong.stderr

    rotated = _run({**base, "FIELD_ENCRYPTION_KEY": f"{K2},{K1}"}, "-c", "import trunkadmin.wsgi")
    assert rotated.returncode == 0, rotated.stderr
