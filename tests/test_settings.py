"""Settings from the environment (docs/deployment.md), checked in a fresh process with a clean environment:
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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'."),
        ("SECURE_SSL_REDIRECT", "2", "SECURE_SSL_REDIRECT must be true or false, not '2'."),
        ("CONN_MAX_AGE", "soon", "CONN_MAX_AGE must be a whole number, not 'soon'."),
        ("AXES_FAILURE_LIMIT", "1_000", "AXES_FAILURE_LIMIT must be a whole number, not '1_000'."),
        ("SIP_CHECK_TIMEOUT_MS", "\u0664\u0660\u0660\u0660", "SIP_CHECK_TIMEOUT_MS must be a whole number"),
    ],
    ids=["unclear-boolean", "number-as-boolean", "word-as-number", "underscored-number", "arabic-indic-digits"],
)
def test_an_unclear_boolean_or_number_stops_the_start_naming_the_variable(name, value, message, tmp_path):
    env = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEYS[0], name: value}
    result = manage("check", var_dir=tmp_path, **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert message in last_line


@pytest.mark.parametrize(("value", "expected"), [("YES", "True"), ("on", "True"), ("Off", "False"), ("", "False")])
def test_yes_and_no_words_read_as_booleans(value, expected, tmp_path):
    code = "from django.conf import settings; print(settings.SIP_CHECK_ALLOW_PRIVATE)"
    result = manage("shell", "--no-imports", "-c", code, var_dir=tmp_path, DEBUG="true", SIP_CHECK_ALLOW_PRIVATE=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


PRINT_LISTS = "from django.conf import settings; print(settings.ALLOWED_HOSTS, len(settings.FIELD_ENCRYPTION_KEY))"


def test_lists_are_split_on_commas_and_trimmed(tmp_path):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_LISTS,
        var_dir=tmp_path,
        DEBUG="false",
        SECRET_KEY="s" * 50,
        FIELD_ENCRYPTION_KEY=f" {TEST_FIELD_KEYS[1]} , {TEST_FIELD_KEYS[0]},",
        ALLOWED_HOSTS="a.example.com, b.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['a.example.com', 'b.example.com'] 2"


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
    secrets_file = tmp_path / "dev-secrets.env"
    secrets_file.write_text(f"# kept\nFIELD_ENCRYPTION_KEY={TEST_FIELD_KEYS[0]}\n")
    first = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1] == hashlib.sha256(TEST_FIELD_KEYS[0].encode()).hexdigest()
    lines = secrets_file.read_text().splitlines()
    assert lines[:2] == ["# kept", f"FIELD_ENCRYPTION_KEY={TEST_FIELD_KEYS[0]}"]
    assert len(lines) == 3
    assert lines[2].startswith("SECRET_KEY=")
    assert len(lines[2].split("=", 1)[1]) >= 50
    assert first.stdout.splitlines()[0] == hashlib.sha256(lines[2].split("=", 1)[1].encode()).hexdigest()
    second = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true")
    assert second.stdout == first.stdout
    assert secrets_file.read_text().splitlines() == lines


def test_development_treats_an_empty_secret_as_missing(tmp_path):
    first = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true")
    assert first.returncode == 0, first.stderr
    empty = manage("shell", "--no-imports", "-c", PRINT_KEY_DIGESTS, var_dir=tmp_path, DEBUG="true", SECRET_KEY="")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == first.stdout, "the generated key, not an empty one"


def test_the_local_state_directory_is_not_tracked_by_git():
    for path in ("var/dev-secrets.env", "var/db.sqlite3"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


PRINT_DATABASE_OPTIONS = (
    "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS'].items()))"
)


@pytest.mark.parametrize(
    ("prepared", "query", "expected"),
    [
        (None, "", "[('prepare_threshold', 5), ('server_side_binding', True)]"),
        ("false", "", "[]"),
        (None, "?sslmode=require", "[('prepare_threshold', 5), ('server_side_binding', True), ('sslmode', 'require')]"),
        ("false", "?sslmode=require", "[('sslmode', 'require')]"),
    ],
)
def test_postgresql_prepares_its_statements_unless_told_not_to(prepared, query, expected, tmp_path):
    env = {"DEBUG": "true", "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/unused{query}"}
    if prepared is not None:
        env["DATABASE_PREPARED"] = prepared
    result = manage("shell", "-c", PRINT_DATABASE_OPTIONS, var_dir=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


PRINT_DATABASE = (
    "from django.conf import settings; db = settings.DATABASES['default']; "
    "print(db['ENGINE'], db['NAME'], db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS']); print(sorted(db['OPTIONS']))"
)


@pytest.mark.parametrize("database_url", [None, ""], ids=["unset", "empty"])
def test_the_default_database_is_a_sqlite_file_in_the_local_state_directory(database_url, tmp_path):
    env = {"DEBUG": "true"} if database_url is None else {"DEBUG": "true", "DATABASE_URL": database_url}
    result = manage("shell", "--no-imports", "-c", PRINT_DATABASE, var_dir=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"django.db.backends.sqlite3 {tmp_path / 'db.sqlite3'} 60 True",
        "['init_command', 'timeout', 'transaction_mode']",
    ]


def test_sqlite_options_given_in_the_url_win_over_the_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}?timeout=5"
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['timeout'])"
    result = manage("shell", "--no-imports", "-c", code, var_dir=tmp_path, DEBUG="true", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5"


def test_connections_are_kept_for_conn_max_age_seconds(tmp_path):
    result = manage("shell", "--no-imports", "-c", PRINT_DATABASE, var_dir=tmp_path, DEBUG="true", CONN_MAX_AGE="0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"django.db.backends.sqlite3 {tmp_path / 'db.sqlite3'} 0 True"
