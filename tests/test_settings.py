"""Settings from the environment (contract §6), checked in a fresh process with a clean environment:
production refuses to start without its secrets; development generates them once and reuses them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trunkadmin.env import dev_secrets
from trunkadmin.settings_test import TEST_FIELD_KEYS

ROOT = Path(__file__).resolve().parents[1]
PRINT_KEY_DIGESTS = (
    "import hashlib; from django.conf import settings; "
    "print(hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()); "
    "print(hashlib.sha256(','.join(settings.FIELD_ENCRYPTION_KEY).encode()).hexdigest())"
)


def manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """`manage.py ARGS` with only PATH, HOME and the given variables in the environment."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
        "TRUNKADMIN_VAR_DIR": str(var_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named", "not_named"),
    [
        ({}, ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"], []),
        ({"DEBUG": "false"}, ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"], []),
        ({"DEBUG": "false", "SECRET_KEY": "s" * 50}, ["FIELD_ENCRYPTION_KEY"], ["SECRET_KEY,"]),
        ({"DEBUG": "false", "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEYS[0]}, ["SECRET_KEY"], ["FIELD_ENCRYPTION_KEY"]),
    ],
    ids=["debug-unset", "debug-false", "no-field-key", "no-secret-key"],
)
def test_production_refuses_to_start_without_its_secrets(env, named, not_named, tmp_path):
    result = manage("check", var_dir=tmp_path, **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "Missing required setting(s)" in last_line
    for name in named:
        assert name in last_line
    for name in not_named:
        assert name not in last_line.split("Missing required setting(s):")[1].split(".")[0]
    assert not (tmp_path / "dev-secrets.env").exists(), "production never generates secrets"


def test_production_refuses_a_malformed_encryption_key(tmp_path):
    result = manage("check", var_dir=tmp_path, DEBUG="false", SECRET_KEY="s" * 50, FIELD_ENCRYPTION_KEY="not-a-key")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in result.stderr.strip().splitlines()[-1]
    assert "not-a-key" not in result.stderr


def test_an_unclear_debug_value_is_refused(tmp_path):
    result = manage("check", var_dir=tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_production_starts_with_its_secrets_and_a_key_list(tmp_path):
    result = manage(
        "check",
        var_dir=tmp_path,
        DEBUG="false",
        SECRET_KEY="s" * 50,
        FIELD_ENCRYPTION_KEY=",".join(TEST_FIELD_KEYS),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_development_generates_its_secrets_once_and_reuses_them(tmp_path):
    first = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true")
    assert first.returncode == 0, first.stderr
    secrets_file = tmp_path / "dev-secrets.env"
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    content = secrets_file.read_text()
    assert content.startswith("# Development secrets, generated once. Never commit this file.")
    second = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout, "the same keys on every start"
    assert secrets_file.read_text() == content
    key_line = next(line for line in content.splitlines() if line.startswith("FIELD_ENCRYPTION_KEY="))
    key = key_line.split("=", 1)[1]
    assert first.stdout.splitlines()[1] == hashlib.sha256(key.encode()).hexdigest()


def test_development_keys_from_the_environment_win_over_the_generated_file(tmp_path):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_KEY_DIGESTS,
        var_dir=tmp_path,
        DEBUG="true",
        SECRET_KEY="from-the-environment",
        FIELD_ENCRYPTION_KEY=TEST_FIELD_KEYS[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        hashlib.sha256(b"from-the-environment").hexdigest(),
        hashlib.sha256(TEST_FIELD_KEYS[1].encode()).hexdigest(),
    ]
    assert not (tmp_path / "dev-secrets.env").exists()


def test_the_generated_file_only_fills_in_what_is_missing(tmp_path):
    path = tmp_path / "dev-secrets.env"
    path.write_text(f"# kept\nFIELD_ENCRYPTION_KEY={TEST_FIELD_KEYS[0]}\n")
    values = dev_secrets(path)
    assert values["FIELD_ENCRYPTION_KEY"] == TEST_FIELD_KEYS[0]
    assert len(values["SECRET_KEY"]) >= 50
    assert dev_secrets(path) == values


def test_the_local_state_directory_is_not_tracked_by_git():
    for path in ("var/dev-secrets.env", "var/db.sqlite3"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


PRINT_DATABASE_OPTIONS = (
    "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS'].items()))"
)


@pytest.mark.parametrize(
    ("prepared", "expected"),
    [(None, "[('prepare_threshold', 5), ('server_side_binding', True)]"), ("false", "[]")],
)
def test_postgresql_prepares_its_statements_unless_told_not_to(prepared, expected, tmp_path):
    env = {"DEBUG": "true", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused"}
    if prepared is not None:
        env["DATABASE_PREPARED"] = prepared
    result = manage("shell", "-c", PRINT_DATABASE_OPTIONS, var_dir=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
