"""The test suite's own rules: a test module imports shared helpers from
tests/support/ (or tests/conftest.py), never from another test module, so
each can move, be renamed or run alone."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, as written (relative ones with their dots)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append(base)
            if not node.module:  # from . import x: x may be a module
                found += [f"{base}{alias.name}" for alias in node.names]
    return found


def test_no_test_module_imports_another():
    offending = [
        f"{path.relative_to(TESTS)} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in imported_modules(path)
        if any(part.startswith("test_") for part in module.split("."))
    ]
    assert offending == [], "move what is shared to tests/support/"


def test_shared_helpers_live_in_the_support_package():
    """The top of tests/ holds test modules and conftest.py only: a helper
    module beside them is one a newcomer looks for in tests/support/ first."""
    stray = [
        path.name
        for path in sorted(TESTS.glob("*.py"))
        if not path.name.startswith("test_") and path.name not in ("conftest.py", "__init__.py")
    ]
    assert stray == [], "move these to tests/support/"


def test_the_check_sees_an_import_from_a_test_module(tmp_path):
    for line in (
        "from .test_desk import finished_visit",
        "from tests.test_handout import html_for",
        "from . import test_serve",
        "import tests.test_browser",
    ):
        path = tmp_path / "test_example.py"
        path.write_text(line + "\n")
        assert any("test_" in module for module in imported_modules(path)), line
