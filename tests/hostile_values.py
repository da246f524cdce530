"""Generated hostile input for the property-based door tests (hypothesis strategies).

Text from every Unicode general category (surrogates included), digits and numbers of every
script alone and mixed with ASCII digits, NUL, lone surrogates, very long strings, and JSON nested
far beyond the limit. `json_fragment()` turns the same into the raw JSON a body can carry,
non-string values (huge numbers, deep arrays and objects) included.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.models import ApiToken, ChannelBinding, PhoneNumber

# Every Unicode general category; hypothesis leaves out surrogates (Cs) unless asked.
CATEGORIES = [
    "Lu",
    "Ll",
    "Lt",
    "Lm",
    "Lo",
    "Mn",
    "Mc",
    "Me",
    "Nd",
    "Nl",
    "No",
    "Pc",
    "Pd",
    "Ps",
    "Pe",
    "Pi",
    "Pf",
    "Po",
    "Sm",
    "Sc",
    "Sk",
    "So",
    "Zs",
    "Zl",
    "Zp",
    "Cc",
    "Cf",
    "Cs",
    "Co",
    "Cn",
]
ANY_CHARACTER = st.characters(categories=CATEGORIES)
DIGIT_LIKE = st.characters(categories=["Nd", "Nl", "No"])  # every script's digits, ², ①, Ⅻ ...

# The property tests' budget: "default" runs in `make test`, 25 examples per door and field (138
# fields: under two minutes per database on this 2-core machine, measured in docs/reliability.md);
# HYPOTHESIS_PROFILE=long runs 500 each. Profiles of their own, so that schemathesis' fuzz test
# keeps its own settings.
_COMMON = {
    "deadline": None,
    "database": None,
    "derandomize": False,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("hostile-default", max_examples=25, **_COMMON)
settings.register_profile("hostile-long", max_examples=500, **_COMMON)
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
PROFILE = settings.get_profile("hostile-long" if LONG else "hostile-default")


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


def hostile_text() -> st.SearchStrategy[str]:
    """Text a stranger could type or send in any field."""
    return st.one_of(
        st.text(ANY_CHARACTER, max_size=40),
        st.text(DIGIT_LIKE, min_size=1, max_size=8),
        st.tuples(st.text("0123456789", max_size=4), st.text(DIGIT_LIKE, min_size=1, max_size=3)).map("".join),
        st.text(ANY_CHARACTER, max_size=10).map(lambda text: f"{text}\x00{text}"),
        st.sampled_from(["\ud800", "a\udfff", "\udc00\ud800", "5060\ud83d"]),
        st.integers(256, 6_000).map(lambda n: "9" * n),  # past int()'s 4,300-digit limit
        st.tuples(st.integers(256, 4_000), st.characters(categories=CATEGORIES)).map(lambda p: p[1] * p[0]),
        st.tuples(st.integers(33, 3_000), st.sampled_from(["list", "object"])).map(lambda p: _nested(*p)),
        st.sampled_from(["²", "①", "⁵⁰⁶⁰", "٥٠٦٠", "5060", "+1 (202) 555-0147", "", " ", "0", "-1", "1e9999"]),
    )


def json_fragment() -> st.SearchStrategy[str]:
    """Raw JSON for a body's field: hostile text as a JSON string, or a hostile non-string value."""
    return st.one_of(
        hostile_text().map(lambda text: json.dumps(text)),  # lone surrogates become "\ud800" escapes
        st.tuples(st.integers(33, 5_000), st.sampled_from(["list", "object"])).map(lambda p: _nested(*p)),
        st.sampled_from(["null", "true", "0", "-0", "1e999", "-1", "99999999999999999999999", "5060.0", "[]", "{}"]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.lists(hostile_text().map(json.dumps), max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        hostile_text().map(lambda text: "{" + json.dumps(text[:300]) + ": 1}"),
    )


# --- running examples and counting them ---------------------------------------------------------

TOTALS: Counter = Counter()


def rows() -> tuple[int, ...]:
    return (
        PhoneNumber.objects.count(),
        ChannelBinding.objects.count(),
        ChannelBinding.history.count(),
        PhoneNumber.history.count(),
        ApiToken.objects.count(),
    )


class LogWatch:
    """Records of every logger (django.request does not propagate: it is watched too)."""

    def __init__(self, caplog):
        caplog.set_level(logging.INFO)
        self.caplog = caplog
        self.request_log = logging.getLogger("django.request")
        self.request_log.addHandler(caplog.handler)

    def mark(self) -> int:
        return len(self.caplog.records)

    def tracebacks_since(self, mark: int) -> list[str]:
        new = self.caplog.records[mark:]
        return [r.getMessage()[:200] for r in new if r.exc_info or r.levelno >= logging.ERROR]

    def close(self) -> None:
        self.request_log.removeHandler(self.caplog.handler)


def report(door: str, field: str, counts: Counter, started: float) -> None:
    TOTALS["examples"] += counts["examples"]
    TOTALS["5xx"] += counts["5xx"]
    print(
        f"[hostile] {door} {field}: {counts['examples']} examples, refused {counts['refused']}, "
        f"accepted {counts['accepted']}, 5xx {counts['5xx']}, writes on refusal {counts['writes']}, "
        f"tracebacks {counts['tracebacks']} ({time.monotonic() - started:.1f} s)"
    )


def run_examples(strategy, door: str, field: str, check) -> None:
    """Run `check(value) -> (status, refused, wrote)` over the profile's examples and report."""
    counts: Counter = Counter()
    started = time.monotonic()

    @PROFILE
    @given(value=strategy)
    def example(value):
        status, refused, wrote, tracebacks = check(value)
        counts["examples"] += 1
        counts["refused" if refused else "accepted"] += 1
        counts["5xx"] += status >= 500
        counts["writes"] += bool(refused and wrote)
        counts["tracebacks"] += bool(tracebacks)
        assert status < 500, (door, field, repr(value)[:200], status)
        assert not (refused and wrote), (door, field, repr(value)[:200], "wrote on refusal")
        assert not tracebacks, (door, field, repr(value)[:200], tracebacks)

    example()
    report(door, field, counts, started)


def door_total(door: str, fields: int, examples: int, started: float) -> None:
    print(f"[hostile] door {door}: {fields} fields, {examples} examples, 5xx 0 ({time.monotonic() - started:.1f} s)")
