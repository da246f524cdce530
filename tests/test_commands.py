"""Management commands (docs/operations.md): scriptable, exit 0 on success, non-zero with a clear message.

seed_demo (idempotent, the contract's content), create_api_token (prints only the token),
check_encryption and the channels_app.E001 system check (loud when keys cannot read what is stored).
Exit statuses are checked in a real `manage.py` process against the test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from channels_app import selectors, tokens
from channels_app.models import Agent, ApiToken, ChannelBinding, Membership, PhoneNumber, Role, Workspace
from trunkadmin.settings_test import TEST_FIELD_KEYS

ROOT = Path(__file__).resolve().parents[1]
WRONG_KEY = TEST_FIELD_KEYS[1]


def manage(*args: str, keys: list[str] | None = None, tmp_path: Path) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a fresh process with production settings, on this test's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{os.path.abspath(db['NAME'])}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
        "TRUNKADMIN_VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "command-tests-" + "s" * 40,
        "FIELD_ENCRYPTION_KEY": ",".join(keys or settings.FIELD_ENCRYPTION_KEY),
        "DATABASE_URL": url,
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_token(output: str) -> str:
    line = next(line for line in output.splitlines() if "API token" in line)
    return line.rsplit(" ", 1)[1]


# --- seed_demo -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_creates_the_contracts_demo(django_user_model):
    output = seed("--password", "demo-pw-for-tests-1")
    assert set(Workspace.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    for slug in ("acme", "globex"):
        workspace = Workspace.objects.get(slug=slug)
        roles = dict(Membership.objects.filter(workspace=workspace).values_list("user__username", "role"))
        assert roles[f"{slug}-admin"] == Role.ADMIN
        assert Role.VIEWER in roles.values()
        assert Agent.objects.filter(workspace=workspace).count() >= 3
        purchased = PhoneNumber.objects.filter(workspace=workspace, source="purchased")
        assert purchased.count() >= 2
        assert purchased.filter(sms_capable=True).exclude(bindings__channel="sms").exists()
    assert not PhoneNumber.objects.filter(source="external").exists()
    assert not ChannelBinding.objects.exists()
    staff = django_user_model.objects.get(username="staff")
    assert (staff.is_staff, staff.is_superuser) == (True, True)
    for username in ("staff", "acme-admin", "acme-viewer", "globex-admin", "globex-viewer"):
        assert django_user_model.objects.get(username=username).check_password("demo-pw-for-tests-1")
        assert username in output
    assert "http://127.0.0.1:8000/admin/" in output
    token = selectors.token_by_secret(demo_token(output))
    assert (token.workspace.slug, token.scope) == ("acme", "read_write")


@pytest.mark.django_db
def test_seed_demo_run_twice_changes_nothing_but_the_demo_token():
    first = seed()
    counts = [model.objects.count() for model in (Workspace, Membership, Agent, PhoneNumber, get_user_model())]
    history = PhoneNumber.history.count()
    second = seed()
    assert [model.objects.count() for model in (Workspace, Membership, Agent, PhoneNumber, get_user_model())] == counts
    assert PhoneNumber.history.count() == history
    assert selectors.token_by_secret(demo_token(first)) is None, "the previous demo token is revoked"
    assert selectors.token_by_secret(demo_token(second)) is not None
    assert ApiToken.objects.filter(name="demo token", revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_seed_demo_without_a_token_prints_none_and_a_new_password_replaces_the_old(django_user_model):
    seed("--password", "first-pw-123456")
    tokens_before = ApiToken.objects.count()
    output = seed("--no-token", "--password", "second-pw-123456")
    assert "API token" not in output
    assert ApiToken.objects.count() == tokens_before
    assert django_user_model.objects.get(username="acme-admin").check_password("second-pw-123456")


@pytest.mark.django_db
def test_seed_demo_prints_links_to_where_the_product_is_served():
    assert "http://127.0.0.1:8000/admin/" in seed("--no-token")
    output = seed("--base-url", "http://127.0.0.1:8123/")
    assert "http://127.0.0.1:8123/admin/" in output and "http://127.0.0.1:8123/api/v1/phone-numbers" in output
    assert ":8000" not in output


# --- create_api_token --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_create_api_token_prints_only_the_token(workspace_a, tmp_path):
    result = manage("create_api_token", workspace_a.slug, "--name", "ci", "--scope", "read", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert result.stdout == lines[0] + "\n"
    assert tokens.is_well_formed(lines[0])
    token = selectors.token_by_secret(lines[0])
    assert (token.workspace, token.name, token.scope, token.expires_at) == (workspace_a, "ci", "read", None)


@pytest.mark.django_db(transaction=True)
def test_create_api_token_fails_with_a_message_for_an_unknown_workspace(workspace_a, tmp_path):
    result = manage("create_api_token", "no-such-slug", tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "No workspace with slug 'no-such-slug'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_api_token_sets_the_expiry_in_days(workspace_a):
    out = StringIO()
    call_command("create_api_token", workspace_a.slug, "--expires-in-days", "3", stdout=out)
    token = selectors.token_by_secret(out.getvalue().strip())
    assert timedelta(days=3) - timedelta(minutes=1) < token.expires_at - timezone.now() <= timedelta(days=3)
    assert token.scope == "read_write"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [(["--expires-in-days", "0"], "--expires-in-days"), (["--name", "   "], "name")],
)
def test_create_api_token_refuses_bad_options(args, message, workspace_a):
    with pytest.raises(CommandError) as excinfo:
        call_command("create_api_token", workspace_a.slug, *args, stdout=StringIO())
    assert message in str(excinfo.value)
    assert not ApiToken.objects.exists()


# --- check_encryption and the E001 system check --------------------------------------------------------


@pytest.mark.django_db
def test_check_encryption_passes_when_every_value_decrypts(trunk_a):
    out = StringIO()
    call_command("check_encryption", stdout=out)
    assert "All 4 encrypted values decrypt." in out.getvalue()  # 3 on the trunk, 1 in its history row
    with override_settings(FIELD_ENCRYPTION_KEY=[WRONG_KEY, *settings.FIELD_ENCRYPTION_KEY]):
        call_command("check_encryption", stdout=StringIO())  # a newer key first: still readable


@pytest.mark.django_db
def test_check_encryption_fails_in_process_under_a_wrong_key(trunk_a):
    with override_settings(FIELD_ENCRYPTION_KEY=[WRONG_KEY]), pytest.raises(CommandError) as excinfo:
        call_command("check_encryption", stdout=StringIO())
    assert "4 of 4 encrypted values cannot be decrypted" in str(excinfo.value)
    assert "gAAAAA" not in str(excinfo.value)


@pytest.mark.django_db(transaction=True)
def test_check_encryption_and_the_database_check_exit_non_zero_on_undecryptable_data(trunk_a, tmp_path):
    result = manage("check_encryption", keys=[WRONG_KEY], tmp_path=tmp_path)
    assert result.returncode == 1
    assert "cannot be decrypted with the configured keys" in result.stderr
    assert "gAAAAA" not in result.stderr + result.stdout

    result = manage("check", "--database", "default", keys=[WRONG_KEY], tmp_path=tmp_path)
    assert result.returncode != 0
    assert "channels_app.E001" in result.stderr


@pytest.mark.django_db
def test_the_e001_system_check_fires_only_when_stored_values_cannot_be_read(trunk_a):
    assert [e.id for e in checks.run_checks(databases=["default"]) if e.id == "channels_app.E001"] == []
    with override_settings(FIELD_ENCRYPTION_KEY=[WRONG_KEY]):
        errors = [e for e in checks.run_checks(databases=["default"]) if e.id == "channels_app.E001"]
    assert len(errors) == 1
    assert "cannot be decrypted" in errors[0].msg
    assert "rotate_field_keys" in errors[0].hint
