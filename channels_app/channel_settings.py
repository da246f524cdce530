"""The `channel_settings` document of a phone number: its shape, defaults and partial updates.

voice / sms: {enabled: bool, channel_limit: int >= 1 or null, whitelisted_destinations: [ISO alpha-2]}
inbound:     {enabled: bool, channel_limit: int >= 1 or null}
"""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers

from channels_app.errors import ValidationFailed

SECTIONS = {
    "voice": ("enabled", "channel_limit", "whitelisted_destinations"),
    "sms": ("enabled", "channel_limit", "whitelisted_destinations"),
    "inbound": ("enabled", "channel_limit"),
}
MAX_CHANNEL_LIMIT = 10_000
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def defaults() -> dict[str, dict[str, Any]]:
    return {
        "voice": {"enabled": True, "channel_limit": None, "whitelisted_destinations": []},
        "sms": {"enabled": False, "channel_limit": None, "whitelisted_destinations": []},
        "inbound": {"enabled": True, "channel_limit": None},
    }


def normalised(stored: Any) -> dict[str, dict[str, Any]]:
    """The stored document completed with defaults (older rows may miss keys)."""
    result = defaults()
    if isinstance(stored, dict):
        for section, keys in SECTIONS.items():
            values = stored.get(section)
            if isinstance(values, dict):
                for key in keys:
                    if key in values:
                        result[section][key] = values[key]
    return result


def merge(stored: Any, patch: Any) -> dict[str, dict[str, Any]]:
    """Apply a partial update; only the keys sent change. Raises ValidationFailed with dotted paths."""
    errors: dict[str, list[str]] = {}
    if not isinstance(patch, dict):
        raise ValidationFailed.single("channel_settings", "Must be a JSON object.")
    result = copy.deepcopy(normalised(stored))
    for section, values in patch.items():
        path = f"channel_settings.{section}"
        if section not in SECTIONS:
            errors[path] = [f"Unknown section. Expected one of: {', '.join(SECTIONS)}."]
            continue
        if not isinstance(values, dict):
            errors[path] = ["Must be a JSON object."]
            continue
        for key, value in values.items():
            key_path = f"{path}.{key}"
            if key not in SECTIONS[section]:
                errors[key_path] = [f"Unknown setting. Expected one of: {', '.join(SECTIONS[section])}."]
            elif key == "enabled":
                if not isinstance(value, bool):
                    errors[key_path] = ["Must be true or false."]
                else:
                    result[section][key] = value
            elif key == "channel_limit":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHANNEL_LIMIT
                ):
                    errors[key_path] = [f"Must be a whole number from 1 to {MAX_CHANNEL_LIMIT}, or null."]
                else:
                    result[section][key] = value
            else:  # whitelisted_destinations
                if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
                    errors[key_path] = ["Must be a list of ISO 3166 alpha-2 country codes."]
                    continue
                codes = [code.upper() for code in value]
                unknown = [code for code in codes if code not in _REGIONS]
                if unknown:
                    errors[key_path] = [f"Unknown country code(s): {', '.join(unknown[:5])}."]
                elif len(codes) > 250:
                    errors[key_path] = ["At most 250 country codes."]
                else:
                    result[section][key] = sorted(set(codes))
    if errors:
        raise ValidationFailed(errors)
    return result
