"""The staff admin is built on Django's public admin API only, and its modules can be read at once.

Intermediate pages are actions returning a TemplateResponse (as Django's delete_selected), forms
use public hooks (`clean()`), a missing object is a message and a redirect: no private hook of
Django's admin or forms is overridden or called, and no page takes a selection as `?ids=`.
Read from the sources (the syntax tree for Python, so a docstring naming a hook is not a use).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PACKAGE = ROOT / "channels_app" / "admin"
ADMIN_TEMPLATES = ROOT / "templates" / "admin"
PRIVATE_HOOKS = {"_post_clean", "_get_obj_does_not_exist_redirect"}
MAX_MODULE_LINES = 400


def private_hooks(source: str) -> list[str]:
    """Every definition, attribute or name in `source` that is one of Django's private hooks."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = node.name
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value  # getattr(self, "_post_clean")
        if name in PRIVATE_HOOKS:
            found.append(f"line {node.lineno}: {name}")
    return found


def admin_sources() -> list[Path]:
    return sorted(ADMIN_PACKAGE.rglob("*.py"))


def test_the_guard_sees_an_override_a_call_and_a_lookup_by_name():
    assert private_hooks("class F:\n    def _post_clean(self):\n        pass")
    assert private_hooks("self._get_obj_does_not_exist_redirect(request, opts, pk)")
    assert private_hooks("getattr(form, '_post_clean')()")
    assert private_hooks('"""Replaces _post_clean."""') == []  # a docstring is text
    assert private_hooks("form.clean()\nself.message_user(request, text)") == []


def test_the_admin_overrides_and_calls_no_private_hook_of_django():
    found = {str(path.relative_to(ROOT)): private_hooks(path.read_text()) for path in admin_sources()}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_no_admin_page_or_template_takes_a_selection_as_ids_in_the_address():
    files = [*admin_sources(), *sorted(ADMIN_TEMPLATES.rglob("*.html"))]
    assert files
    assert [str(path.relative_to(ROOT)) for path in files if "?ids=" in path.read_text()] == []


def test_every_admin_module_can_be_read_at_once():
    long = {
        str(path.relative_to(ROOT)): length
        for path in admin_sources()
        if (length := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
