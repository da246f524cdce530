"""Reading Meta's webhook notifications (the `messages` field of a WhatsApp Business Account).

    {"object": "whatsapp_business_account",
     "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
         "messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "...", "phone_number_id": "..."},
         "contacts": [{"profile": {"name": "..."}, "wa_id": "..."}],
         "messages": [{"from": "...", "id": "wamid....", "timestamp": "1700000000", "type": "text",
                       "text": {"body": "..."}}]}}]}]}

Only inbound messages are taken (this line is receive-only); status updates about sent messages
and other fields are ignored. Nothing here trusts the body: the caller has checked its signature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_ID = 255
# A JSON escape of NUL that is not itself escaped (PostgreSQL's jsonb cannot store NUL).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


class PayloadError(ValueError):
    """The body is not a JSON object of Meta's shape."""


@dataclass(frozen=True)
class Inbound:
    """One inbound message of a notification."""

    message_id: str
    sender: str
    type: str
    sent_at: datetime | None
    message: dict[str, Any]
    contact: dict[str, Any] | None


@dataclass
class Notification:
    """The inbound messages for the trunk's phone number id, and the other ids that were dropped."""

    messages: list[Inbound] = field(default_factory=list)
    foreign_ids: list[str] = field(default_factory=list)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return datetime.fromtimestamp(int(value), tz=UTC)
    return None


def _without_nul(value: dict[str, Any]) -> dict[str, Any] | None:
    """`value` with NUL characters removed from its strings (None if it cannot be re-read)."""
    try:
        text = json.dumps(value)
        return json.loads(_NUL_ESCAPE.sub(r"\1", text)) if "\\u0000" in text else value
    except (ValueError, RecursionError):
        return None


def _short_text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID and "\x00" not in value else None


def read(body: bytes, *, phone_number_id: str | None) -> Notification:
    """The messages of every change whose metadata names `phone_number_id`; other ids are listed
    in `foreign_ids` (to be logged, never stored). Raises PayloadError for a body of another shape."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadError("not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise PayloadError("no entry list")
    found = Notification()
    for entry in document["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field", "messages") != "messages":
                continue
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            target = metadata.get("phone_number_id")
            if not phone_number_id or target != phone_number_id:
                found.foreign_ids.append(str(target)[:64] if target is not None else "(none)")
                continue
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for message in value.get("messages") or []:
                inbound = _inbound(message, contacts)
                if inbound is not None:
                    found.messages.append(inbound)
    return found


def _inbound(message: Any, contacts: list[dict[str, Any]]) -> Inbound | None:
    if not isinstance(message, dict) or (message := _without_nul(message)) is None:
        return None
    message_id, sender = _short_text(message.get("id")), _short_text(message.get("from"))
    if message_id is None or sender is None:
        return None
    contact = next((c for c in contacts if c.get("wa_id") == sender), contacts[0] if len(contacts) == 1 else None)
    return Inbound(
        message_id=message_id,
        sender=sender[:32],
        type=(_short_text(message.get("type")) or "unknown")[:32],
        sent_at=_timestamp(message.get("timestamp")),
        message=message,
        contact=_without_nul(contact) if contact is not None else None,
    )
