"""The one way text from outside becomes a number or a JSON value, for every door.

Python's own parsers are too lenient for input from strangers: `str.isdigit()` is true for
superscripts and circled digits ("⁵⁰⁶⁰", "①") on which `int()` then raises, `int()` reads the
decimal digits of every script ("٥٠٦٠" is 5060), and `json.loads()` and any recursive walk over
its result raise `RecursionError` on deep nesting. So numbers are read with an explicit ASCII
pattern and explicit bounds, text is refused when it holds NUL or a lone surrogate (neither can
be stored), lengths are checked before any work, and JSON is parsed with its nesting depth and
size bounded while it is read. Each refusal is an `InputError` with a plain message; the callers
(validators, serializers, forms, the CSV import, the admin) put it on the field it is about.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _

# JSON a person or a program sends us is small and flat; 32 levels is far beyond any real
# settings object and far below where Python's recursion limit sits (about 1,000 frames).
MAX_JSON_DEPTH = 32
# The largest JSON text read at all (a request body or a form's or CSV cell's JSON). Documents
# with a smaller limit of their own (additional_settings: 16 KiB) check that on the value.
MAX_JSON_BYTES = 1024 * 1024

_ASCII_WHOLE = re.compile(r"[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """Text that cannot be read as the value asked for; `message` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def whole_number(value: Any, *, minimum: int, maximum: int, message: str | None = None) -> int:
    """An integer from `minimum` to `maximum`, given as an int or as ASCII digits (surrounding
    spaces allowed). Booleans, floats, other scripts' digits, signs and anything longer than the
    bound's own digits are refused before `int()` runs."""
    refusal = message or _("Must be a whole number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum}
    if isinstance(value, bool):
        raise InputError(refusal)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > len(str(maximum)) or not _ASCII_WHOLE.fullmatch(text):
            raise InputError(refusal)
        value = int(text)
    if not isinstance(value, int) or not minimum <= value <= maximum:
        raise InputError(refusal)
    return value


def is_ascii_digits(value: Any, *, max_length: int) -> bool:
    """True for a non-empty string of at most `max_length` ASCII digits `[0-9]`, nothing else."""
    return isinstance(value, str) and 0 < len(value) <= max_length and _ASCII_WHOLE.fullmatch(value) is not None


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored (NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return _("Must not contain NUL characters.")
    if _SURROGATE.search(value):
        return _("Must be valid Unicode text.")
    return None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_problem(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why this JSON text is nested too deeply, found by one pass over its brackets (strings
    left out) before any parser recurses, or None."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                return _("JSON is nested more than %(n)d levels deep.") % {"n": max_depth}
        else:
            depth -= 1
    return None


def storable_problem(value: Any) -> str | None:
    """Why a parsed JSON value cannot be stored (a string with NUL is fine in JSON, but not
    a lone surrogate from `"\\ud800"`), or None. Iterative: the depth is already bounded, but a
    walk needs no recursion at all."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return _("JSON text must be valid Unicode.")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON text -> value, bounded: size first, then depth (before the decoder recurses), then
    strict JSON (no NaN or Infinity) holding only storable text. Raises `InputError`."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise InputError(_("JSON text is larger than %(n)d KiB.") % {"n": max_bytes // 1024})
    problem = json_depth_problem(text, max_depth=max_depth)
    if problem:
        raise InputError(problem)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            _("This is not valid JSON (line %(line)d, column %(column)d: %(reason)s).")
            % {"line": exc.lineno, "column": exc.colno, "reason": exc.msg}
        ) from None
    except (ValueError, RecursionError):
        raise InputError(_("This is not valid JSON.")) from None
    problem = storable_problem(value)
    if problem:
        raise InputError(problem)
    return value


def value_depth(value: Any) -> int:
    """The nesting depth of a JSON value already in memory (objects and lists count one level
    each), walked without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


_ASCII_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,12})?")


def is_ascii_amount(text: str) -> bool:
    """Digits `[0-9]` with an optional decimal part: what an amount of money is typed as."""
    return _ASCII_AMOUNT.fullmatch(text.strip()) is not None


class WholeNumberField(forms.IntegerField):
    """A form's whole number read by `whole_number` (Django's IntegerField reads other scripts' digits)."""

    def __init__(self, *, minimum: int = 0, maximum: int = 999_999_999, **kwargs: Any) -> None:
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return whole_number(value, minimum=self.minimum, maximum=self.maximum)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code="invalid") from None


class AmountField(forms.DecimalField):
    """A form's amount of money in ASCII digits (Django's DecimalField reads every script's)."""

    def to_python(self, value: Any):
        if value not in self.empty_values and not is_ascii_amount(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
