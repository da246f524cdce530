"""Small typed readers for settings that come from the environment.

Kept apart from settings.py so they can be unit-tested and reused by the test settings.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def dev_secrets(path: Path) -> dict[str, str]:
    """Return development secrets, generating them once into an untracked file.

    Only used when DEBUG is on: a fresh checkout runs without any setup, and restarting keeps the
    same keys so stored credentials stay readable.
    """
    from cryptography.fernet import Fernet

    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    }
    missing = {key: make() for key, make in wanted.items() if not values.get(key)}
    if missing:
        values.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "# Development secrets, generated once. Never commit this file.\n"
        body += "".join(f"{key}={value}\n" for key, value in values.items())
        path.write_text(body)
        path.chmod(0o600)
    return values
