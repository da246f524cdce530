"""The encrypted credential field: the only code in the project that touches crypto.

It is a thin subclass of django-encrypted-model-fields'
`EncryptedCharField` that fixes its traps:

- the library returns the raw ciphertext when decryption fails (a later save then encrypts the
  ciphertext and corrupts the secret for good); this field raises `CredentialDecryptionError`;
- the library decrypts *user input* in `to_python` if it happens to be a valid token; this field
  only decrypts values read from the database;
- the library builds its crypter once at import; this field reads `FIELD_ENCRYPTION_KEY` on use
  (cached per key list), so key rotation and tests see the configured keys.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from encrypted_model_fields.fields import EncryptedCharField

FERNET_PREFIX = "gAAAAA"  # every Fernet token (version byte 0x80) starts with this in base64


class CredentialDecryptionError(Exception):
    """A stored credential cannot be decrypted with any configured key."""

    def __init__(self, model_label: str = "", field_name: str = "") -> None:
        where = f"{model_label}.{field_name}" if model_label else "a stored credential"
        super().__init__(
            f"Cannot decrypt {where} with the configured FIELD_ENCRYPTION_KEY. "
            "Add the key it was written with (newest first) or restore the right key."
        )


def configured_keys() -> tuple[str, ...]:
    keys = settings.FIELD_ENCRYPTION_KEY
    if isinstance(keys, str):
        keys = [key.strip() for key in keys.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty.")
    return tuple(keys)


@lru_cache(maxsize=8)
def _crypter_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY is not a list of Fernet keys: {exc}") from exc


def crypter() -> MultiFernet:
    """The MultiFernet for the configured keys: the first encrypts, all decrypt."""
    return _crypter_for(configured_keys())


def encrypt(plaintext: str) -> str:
    return crypter().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a stored value; raises CredentialDecryptionError, never returns ciphertext."""
    try:
        return crypter().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise CredentialDecryptionError() from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored value under the newest key (used by `rotate_field_keys`)."""
    try:
        return crypter().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise CredentialDecryptionError() from exc


def reencrypt_if_stale(token: str) -> str | None:
    """For key rotation: None when `token` already decrypts under the newest key (nothing to do),
    else the same plaintext re-encrypted under it. Raises CredentialDecryptionError when no
    configured key can read it. The plaintext never leaves this module."""
    try:
        _crypter_for(configured_keys()[:1]).decrypt(token.encode("ascii"))
        return None
    except InvalidToken:
        return rotate(token)
    except (UnicodeError, ValueError) as exc:
        raise CredentialDecryptionError() from exc


class EncryptedCredentialField(EncryptedCharField):
    """A write-mostly secret: encrypted at rest, decrypted only when read from the database.

    Empty strings are stored as NULL so "is it set?" can be answered without decrypting.
    The column is text (ciphertext is longer than the plaintext); `max_length` is enforced by the
    model's validators on the plaintext.
    """

    def to_python(self, value):
        # Never decrypt here: to_python also sees user input (forms, full_clean).
        return models.CharField.to_python(self, value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return decrypt(value)
        except CredentialDecryptionError as exc:
            label = self.model._meta.label if hasattr(self, "model") else ""
            raise CredentialDecryptionError(label, self.name) from exc.__cause__

    def get_prep_value(self, value):
        value = models.CharField.get_prep_value(self, value)
        return value if value not in ("", None) else None

    def get_db_prep_save(self, value, connection):
        value = self.get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))


class NationalNumberField(models.CharField):
    """The national significant number of the row's phone number, derived on every save.

    Like `auto_now`, the value is computed in `pre_save()`, which `save()`, `create()` and
    `bulk_create()` all call, so every row written through the ORM carries it. The routing look-up
    reads a carrier's national spelling of a number through it (docs/routing.md). Nullable so that
    adding the column leaves the table in place on SQLite (a rebuilt table would lose the
    inventory triggers of migration 0004); every saved row has a value.
    """

    def __init__(self, *args, source: str = "number", **kwargs) -> None:
        self.source = source
        kwargs.setdefault("max_length", 17)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.source != "number":
            kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = _national_significant(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def _national_significant(number) -> str | None:
    if number is None or number == "":
        return None
    if not isinstance(number, phonenumbers.PhoneNumber):
        try:
            number = phonenumbers.parse(str(number), None)
        except phonenumbers.NumberParseException:
            return None
    return phonenumbers.national_significant_number(number)
