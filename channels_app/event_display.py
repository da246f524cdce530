"""How an audit event reads to a person, on the self-serve activity and the admin's history alike:
each change as "label: before -> after" in words (field names people use, choices by their label,
agents by name, yes/no, lists and settings spelled out), never raw JSON, and a secret only as
"changed".

The events come from `selectors.number_events` / `token_events` (django-simple-history); this
module only words them, so the two doors cannot describe the same change differently.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels_app import fieldpaths
from channels_app.models import SECRET_FIELDS, ApiToken, ChannelBinding, PhoneNumber
from channels_app.selectors import Event

# The paths of secrets: their value is never recorded, only that they changed.
SECRET_PATHS = frozenset(fieldpaths.path_of_model_field(name) for name in SECRET_FIELDS)
# A number's first history row lists every column; the activity names only what identifies it.
NUMBER_CREATED_KEYS = ("number", "source", "country_code", "type", "location")
# Shown beside the change already (the event's channel).
NOT_SHOWN_AS_CHANGE = frozenset({"channel"})
# How the sections of channel settings read.
SETTINGS_SECTIONS = {
    "voice": gettext_lazy("Voice"),
    "sms": gettext_lazy("SMS"),
    "inbound": gettext_lazy("Inbound calls"),
}
_MODELS = (ChannelBinding, PhoneNumber, ApiToken)
_NONE = "—"


@dataclasses.dataclass(frozen=True)
class ChangeLine:
    """One change in words. `before` is None when there was nothing before (a creation)."""

    label: str
    after: str
    before: str | None = None
    secret: bool = False


def _model_field(path: str):
    field = fieldpaths.BY_PATH.get(path)
    name = field.model_field if field and field.model_field else path
    for model in _MODELS:
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def label(path: str) -> str:
    """A field as people read it: the table's label, else the model field's verbose name."""
    if path in fieldpaths.BY_PATH:
        return fieldpaths.label(path)
    field = _model_field(path)
    if field is not None and getattr(field, "verbose_name", None):
        return str(field.verbose_name).capitalize()
    return fieldpaths.label(path)


def _flat(value: dict, prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, dict) and item:
            pairs.extend(_flat(item, f"{prefix}{key}."))
        else:
            pairs.append((f"{prefix}{key}", item))
    return pairs


def in_words(value: Any, path: str = "") -> str:
    """A recorded value in words: choices by label, yes/no, lists joined, objects as key: value."""
    if value is None or value == "" or value == [] or value == {}:
        return _NONE
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(in_words(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {in_words(item)}" for key, item in _flat(value))
    field = _model_field(path) if path else None
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _settings_lines(before: dict | None, after: dict) -> list[ChangeLine]:
    """Channel settings, one line per setting that changed ("Voice: channel limit 2 -> 5")."""
    old = dict(_flat(before or {}))
    lines = []
    for key, value in _flat(after or {}):
        if before is not None and old.get(key) == value:
            continue
        section, _dot, name = key.partition(".")
        text = f"{SETTINGS_SECTIONS.get(section, section)}: {name.replace('_', ' ')}" if name else section
        lines.append(ChangeLine(text, in_words(value), in_words(old.get(key)) if before is not None else None))
    return lines


def change_lines(event: Event, *, brief_creation: bool = True) -> list[ChangeLine]:
    """The changes of `event` in words, in the order they were recorded."""
    changes = event.changes
    if brief_creation and event.channel is None and "number" in changes and not event.before:
        changes = {key: changes[key] for key in NUMBER_CREATED_KEYS if key in changes}
    lines: list[ChangeLine] = []
    for path, value in changes.items():
        if path in NOT_SHOWN_AS_CHANGE:
            continue
        had_before = path in event.before
        before = event.before.get(path)
        if path in SECRET_PATHS:
            lines.append(ChangeLine(label(path), _("changed"), secret=True))
        elif path == "agent_uuid":
            lines.append(
                ChangeLine(
                    label(path),
                    event.agent_name or in_words(value),
                    (event.agent_name_before or in_words(before)) if had_before else None,
                )
            )
        elif path == "channel_settings" and isinstance(value, dict):
            lines.extend(_settings_lines(before if had_before else None, value))
        else:
            lines.append(ChangeLine(label(path), in_words(value, path), in_words(before, path) if had_before else None))
    return lines
