"""The product uses Django's and DRF's public, documented APIs only, and no process-wide tuning.

Private framework members change without notice between releases; a performance target never
justifies them (docs/decisions.md). `_meta` is public API. Read from the source files themselves
(the abstract syntax tree), so a comment or a docstring naming a member is not a use of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("channels_app", "trunkadmin")
FORBIDDEN_MODULES = ("django.db.models.sql", "django.db.models.query")
FORBIDDEN_NAMES = {
    "_iterable_class",
    "_prefetch_related_lookups",
    "_known_related_objects",
    "_prefetched_objects_cache",
    "_prefetch_done",
    "_result_cache",
    "_prepare_related_fields_for_save",
    "_post_clean",
    "_get_obj_does_not_exist_redirect",
    "_chain",
    "_clone",
    "get_related_populators",
    "klass_info",
}
FORBIDDEN_CALLS = {("gc", "freeze"), ("gc", "unfreeze"), ("gc", "set_threshold"), ("gc", "disable")}
MAX_MODULE_LINES = 450


def product_files() -> list[Path]:
    return sorted(
        path for package in PRODUCT for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts
    )


def violations(source: str) -> list[str]:
    """What in `source` reaches into framework internals or tunes the process."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any(node.module == m or node.module.startswith(m + ".") for m in FORBIDDEN_MODULES):
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if any(alias.name == m or alias.name.startswith(m + ".") for m in FORBIDDEN_MODULES)
            ]
        elif isinstance(node, ast.Attribute):
            if node.attr in FORBIDDEN_NAMES:
                found.append(f"line {node.lineno}: .{node.attr}")
            if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.FunctionDef) and node.name in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: def {node.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: {node.value!r} (getattr by name)")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "from django.db.models.sql import InsertQuery",
        "from django.db.models.query import ModelIterable",
        "import django.db.models.sql.compiler",
        "qs._iterable_class = None",
        "getattr(qs, '_prefetch_related_lookups')",
        "class F:\n    def _post_clean(self): pass",
        "instance._prefetched_objects_cache = {}",
        "import gc\ngc.freeze()",
        "self._get_obj_does_not_exist_redirect(request, opts, pk)",
    ],
)
def test_the_guard_catches_each_kind_of_use(snippet):
    assert violations(snippet)


def test_the_guard_allows_public_api():
    assert violations("model._meta.get_field('x')\nfrom django.db.models import Prefetch, QuerySet") == []


def test_the_product_uses_no_private_framework_member_and_no_process_wide_tuning():
    found = {str(path.relative_to(ROOT)): violations(path.read_text()) for path in product_files()}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_no_page_or_template_takes_a_selection_as_ids_in_the_address():
    # Admin intermediate pages are actions (as Django's delete_selected), not `?ids=1,2,3` URLs.
    files = [*product_files(), *sorted((ROOT / "templates").rglob("*.html"))]
    assert [str(path.relative_to(ROOT)) for path in files if "?ids=" in path.read_text()] == []


def test_every_module_of_the_product_can_be_read_at_once():
    long = {
        str(path.relative_to(ROOT)): length
        for path in product_files()
        if (length := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
