"""At run time the questionnaire is reached one way: ``content.definition()``,
the built-in definition merged with the clinic's own. No module but the
definition's own reads the constants it is made of (which would be the
built-in questionnaire alone, whatever the clinic's content says), and no
template either."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kiosk import questionnaire as qn

ROOT = Path(__file__).resolve().parent.parent
# What the built-in definition is made of, and the helpers that read only it.
NOT_CONTENT = {"TEXT_MAX_LENGTH", "BIDI_CONTROLS", "FIELDS_TEMPLATE", "MAX_OCCURS_EXTENSION"}
CONSTANTS = {
    name
    for name in vars(qn)
    if name.isupper() and name != "N_" and not name.startswith("MSG_") and name not in NOT_CONTENT
} | {"BUILT_IN"}
GONE = {
    "step",
    "question",
    "all_questions",
    "validate_step",
    "red_flag",
    "first_open_step",
    "REPORTABLE_SIGNS",
}
WATCHED = CONSTANTS | GONE
# kiosk/content.py makes the definition in force from the built-in one.
ALLOWED = {"kiosk/content.py": {"BUILT_IN", "BANK"}}


def constants_read(source: str) -> set[str]:
    """The questionnaire constants (and gone helpers) a module reads."""
    tree = ast.parse(source)
    aliases, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[-1] == "questionnaire":
                read |= {a.name for a in node.names if a.name in WATCHED}
            for alias in node.names:
                if alias.name == "questionnaire":
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name.endswith(".questionnaire")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node.value) in aliases and node.attr in WATCHED:
            read.add(node.attr)
        if isinstance(node, ast.Name) and node.id in {
            "SIGNS_QUESTION_ID",
            "REPORTABLE_SIGNS",
            "FLOW",
            "STEPS",
        }:
            read.add(node.id)
    return read


def reads_by_module(root: Path) -> dict[str, set[str]]:
    found = {}
    for path in sorted((root / "kiosk").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name == "kiosk/questionnaire.py":  # the definition itself
            continue
        read = constants_read(path.read_text()) - ALLOWED.get(name, set())
        if read:
            found[name] = read
    for path in sorted((root / "templates").rglob("*.html")):
        if read := set(re.findall(r"\bqn\.(\w+)", path.read_text())):
            found[path.relative_to(root).as_posix()] = read
    return found


def test_no_module_outside_the_definition_reads_the_questionnaires_constants():
    assert reads_by_module(ROOT) == {}


def test_the_check_sees_each_way_of_reading_them():
    assert constants_read("from . import questionnaire as qn\nqn.STEPS[0]") == {"STEPS"}
    assert constants_read("from ..questionnaire import REPORTABLE_SIGNS") == {"REPORTABLE_SIGNS"}
    assert constants_read("from kiosk import questionnaire\nquestionnaire.step('x')") == {"step"}
    assert constants_read("import kiosk.questionnaire as q\nq.SAFETY.id") == {"SAFETY"}
    assert constants_read("SIGNS_QUESTION_ID = 'warning_signs'") == {"SIGNS_QUESTION_ID"}
    assert constants_read("from .content import definition\ndefinition().steps") == set()
