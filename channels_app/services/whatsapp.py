"""The `whatsapp` block of a WhatsApp trunk: its Cloud API line (docs/whatsapp.md).

Rules (docs/rules.md): `whatsapp-on-whatsapp` (the block belongs to WhatsApp trunks; on a call
trunk it is a validation error on `whatsapp`), `whatsapp-id-once` (a phone number id is connected
to one trunk of the whole installation, WHATSAPP_ID_IN_USE without saying where), and
`update-merges` for the block as for `sip` (only the keys sent change; "" or null clears one).
"""

from __future__ import annotations

import re
import secrets

from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.errors import DomainError
from channels_app.models import WHATSAPP_SECRET_FIELDS, ChannelBinding

WHATSAPP_KEYS = ("phone_number_id", "business_account_id", "access_token", "app_secret")
MAX_ID_DIGITS = 32
MAX_TOKEN = 1024
MAX_APP_SECRET = 255
_DIGITS = re.compile(r"[0-9]{1,32}")
# Printable ASCII without spaces: what Meta's tokens and secrets are made of.
_TOKEN_TEXT = re.compile(r"[!-~]+")

WhatsappChanges = dict[str, str | None]  # model field -> new value, None clears
Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def clean_whatsapp(value: object, errors: Errors) -> WhatsappChanges:
    """Validate a `whatsapp` object. Returns {model field: value or None (clear)} for the keys sent."""
    if not isinstance(value, dict):
        _add(errors, "whatsapp", _("Must be a JSON object."))
        return {}
    cleaned: WhatsappChanges = {}
    for key, raw in value.items():
        path = f"whatsapp.{key}"
        if key not in WHATSAPP_KEYS:
            _add(errors, path, _("Unknown key. Expected one of: %(keys)s.") % {"keys": ", ".join(WHATSAPP_KEYS)})
            continue
        if raw is None or raw == "":
            cleaned[f"wa_{key}"] = None
            continue
        if isinstance(raw, int) and not isinstance(raw, bool) and key.endswith("_id"):
            raw = str(raw)  # ids typed as numbers
        if not isinstance(raw, str):
            _add(errors, path, _("Must be a string."))
            continue
        if key.endswith("_id"):
            text = raw.strip()
            if not _DIGITS.fullmatch(text):
                _add(errors, path, _("Digits only, at most %(n)d (copy it from Meta's WhatsApp Manager).") % {"n": 32})
                continue
        else:
            text, limit = raw, MAX_TOKEN if key == "access_token" else MAX_APP_SECRET
            if len(text) > limit:
                _add(errors, path, _("At most %(n)d characters.") % {"n": limit})
                continue
            if not _TOKEN_TEXT.fullmatch(text):
                _add(errors, path, _("Letters, digits and punctuation only, without spaces."))
                continue
        cleaned[f"wa_{key}"] = text
    return cleaned


def apply_whatsapp(binding: ChannelBinding, changes: WhatsappChanges) -> list[str]:
    """Merge the keys into the binding (`update-merges`). Returns the secret fields that changed.

    A change of the number id or the token forgets the last check: it described another line.
    """
    changed = [field for field, value in changes.items() if getattr(binding, field) != value]
    for field in changed:
        setattr(binding, field, changes[field])
    secrets_changed = [field for field in changed if field in WHATSAPP_SECRET_FIELDS]
    if secrets_changed:
        binding.credentials_updated_at = timezone.now()
    if {"wa_phone_number_id", "wa_access_token"} & set(changed):
        binding.health_status, binding.health_details, binding.health_checked_at = None, {}, None
    return secrets_changed


def give_webhook_identity(binding: ChannelBinding) -> None:
    """A new WhatsApp trunk's webhook id (its URL) and verify token: random, unguessable."""
    binding.webhook_id = secrets.token_urlsafe(24)
    binding.verify_token = secrets.token_urlsafe(24)


def whatsapp_id_in_use() -> DomainError:
    """The same answer whoever holds the id: this workspace or another is not revealed."""
    return DomainError(
        "WHATSAPP_ID_IN_USE",
        _("This WhatsApp phone number id is already connected."),
        field="whatsapp.phone_number_id",
        details=_("A WhatsApp Business number can be connected to one trunk only."),
    )


def check_whatsapp_id_free(binding: ChannelBinding) -> None:
    """`whatsapp-id-once`: no other trunk of the installation has the binding's phone number id."""
    if not binding.wa_phone_number_id:
        return
    others = ChannelBinding.objects.filter(wa_phone_number_id=binding.wa_phone_number_id)
    if binding.pk is not None:
        others = others.exclude(pk=binding.pk)
    if others.exists():
        raise whatsapp_id_in_use()
