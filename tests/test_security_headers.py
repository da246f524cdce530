"""Deploy hardening: production settings pass Django's deploy check, and every door sends the
security headers (HSTS, CSP, X-Frame-Options, nosniff, Referrer-Policy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
    "DEBUG": "false",
    "SECRET_KEY": "a-production-like-secret-key-with-enough-entropy-3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    "FIELD_ENCRYPTION_KEY": "aW2FZmlwVqYhQ0dBc2lG1m3oZ7a1qH6yDk5mRz8cTnE=",
    "ALLOWED_HOSTS": "trunkadmin.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


HSTS_ALL_THE_WAY = {"SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true"}


@pytest.mark.parametrize(
    ("extra", "silenced"),
    [({}, 2), (HSTS_ALL_THE_WAY, 0)],
    ids=["hsts-host-only", "hsts-subdomains-and-preload"],
)
def test_production_settings_pass_the_deploy_check_with_zero_warnings(extra, silenced):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**PRODUCTION_ENV, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(f"\n[deploy check] exit={result.returncode} output={result.stdout.strip()!r}")
    assert result.returncode == 0, result.stdout + result.stderr
    # Only W005 and W021 (includeSubDomains and preload off, the default) are silenced.
    assert result.stdout.strip() == f"System check identified no issues ({silenced} silenced)."


PRINT_HSTS = (
    "from django.conf import settings; "
    "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)"
)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [({}, "31536000 False False"), (HSTS_ALL_THE_WAY, "31536000 True True"), ({"DEBUG": "true"}, "0 False False")],
    ids=["production", "production-subdomains-and-preload", "debug"],
)
def test_hsts_covers_subdomains_and_asks_for_preload_only_when_set(extra, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PRINT_HSTS],
        cwd=ROOT,
        env={**PRODUCTION_ENV, "TRUNKADMIN_VAR_DIR": str(tmp_path), **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert f"Missing required setting(s): {missing}" in result.stderr


EXPECTED_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/", "/api/v1/health"])
def test_every_door_sends_the_security_headers(client, path):
    response = client.get(path, secure=True)
    assert response.status_code == 200
    for header, value in EXPECTED_HEADERS.items():
        assert response.headers.get(header) == value, header
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]


@pytest.mark.django_db
def test_hsts_names_subdomains_and_preload_when_they_are_on(client, settings):
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = client.get("/api/v1/health", secure=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
