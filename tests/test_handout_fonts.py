"""The handout depends only on the fonts the project ships, whatever the machine has.

A clinic's mini-PC is a desktop: it has Noto Color Emoji, the Noto families,
Liberation and the CJK fonts (CI installs them too). None of them may reach a
handout. The same answers are rendered twice, each time in a fresh process:
once with the machine's own fontconfig, and once with a fontconfig that sees
no font at all. The fonts embedded, the page count and the text as laid out
(``pdftotext -layout``) must be the same, and the fonts only the bundled ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fonts

ROOT = Path(__file__).resolve().parent.parent
ZWJ, VS16 = "\u200d", "\ufe0f"
# Typed by the patient: emoji (a family, a skin tone, a heart) and Arabic script.
TYPED = f"Will it hurt? 👍🏽 ❤{VS16} 👨{ZWJ}👩{ZWJ}👧 هل سأحتاج إلى جراحة أخرى؟"
CASES = [(lang, paper) for lang in ("en", "es") for paper in ("letter", "a4")]

# The bundled files under their handout names.
ONLY_OURS = re.compile(
    r"^Bundled-(Atkinson-Hyperlegible|Noto-Sans|Noto-Sans-(SC|TC|KR)|Vazirmatn)(-Bold)?(-Italic)?$|^Bundled-Noto-Emoji$"
)

# Run in a fresh interpreter, so fontconfig starts from FONTCONFIG_FILE as given.
RENDER = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from kiosk import create_app
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import handout_pdf

out, typed = Path(sys.argv[1]), sys.argv[2]
app = create_app({"TESTING": True, "SECRET_KEY": "x", "CLINIC_NAME": "Test Spine Clinic",
                  "SQLALCHEMY_DATABASE_URI": f"sqlite:///{out / 'kiosk.sqlite3'}"})
top = ["own_question_1", *SAMPLE_ANSWERS["top_questions"][:2]]
answers = {**SAMPLE_ANSWERS, "own_question_1": typed, "top_questions": top}
pages = {}
with app.app_context():
    for lang in ("en", "es"):
        for paper in ("letter", "a4"):
            pdf, pages[f"{lang}-{paper}"] = handout_pdf(
                answers, language=lang, claim_code="K7P2", created_at=datetime(2026, 12, 1, 15, tzinfo=UTC), paper=paper)
            (out / f"{lang}-{paper}.pdf").write_bytes(pdf)
print(json.dumps(pages))
"""


def pdffonts(pdf: Path) -> list[str]:
    """The fonts pdffonts lists, without their subset tags."""
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    return sorted(line.split()[0].split("+")[-1] for line in listing.splitlines()[2:] if line.strip())


def layout_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def render_all(tmp_path: Path, name: str, fontconfig_file: Path | None) -> tuple[Path, dict[str, int]]:
    out = tmp_path / name
    (out / "instance").mkdir(parents=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(out),
        "LANG": "C.UTF-8",
        "KIOSK_INSTANCE_PATH": str(out / "instance"),
    }
    if fontconfig_file is not None:
        env["FONTCONFIG_FILE"] = str(fontconfig_file)
    done = subprocess.run(
        [sys.executable, "-c", RENDER, str(out), TYPED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """The four sample handouts, rendered with the machine's fonts and with none."""
    if missing := [tool for tool in ("pdffonts", "pdftotext") if shutil.which(tool) is None]:
        pytest.fail(f"{', '.join(missing)} not found: apt-get install poppler-utils", pytrace=False)
    tmp_path = tmp_path_factory.mktemp("fonts")
    no_fonts = tmp_path / "no-fonts.conf"
    no_fonts.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig/>\n')
    seen = subprocess.run(["fc-list"], env={"FONTCONFIG_FILE": str(no_fonts)}, capture_output=True, text=True)
    assert seen.stdout == "", "the empty fontconfig still sees fonts"
    return {
        "system": render_all(tmp_path, "system", None),
        "bare": render_all(tmp_path, "bare", no_fonts),
    }


def test_the_machine_has_the_fonts_of_a_clinic_desktop():
    """The comparisons here mean most where a desktop's fonts are installed, as
    CI installs them (.ci/run); elsewhere this says what is missing."""
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    if "Noto Color Emoji" not in listed:
        missing = "no Noto Color Emoji here: apt-get install fonts-noto-color-emoji fonts-noto-core"
        if os.environ.get("CI") == "true":
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)


@pytest.mark.parametrize(("lang", "paper"), CASES)
def test_only_the_bundled_fonts_are_embedded(renders, lang, paper):
    system, _ = renders["system"]
    fonts = pdffonts(system / f"{lang}-{paper}.pdf")
    assert [name for name in fonts if not ONLY_OURS.match(name)] == [], fonts
    assert {
        "Bundled-Atkinson-Hyperlegible",
        "Bundled-Atkinson-Hyperlegible-Bold",
        "Bundled-Noto-Emoji",
    } <= set(fonts)
    assert "Bundled-Vazirmatn" in fonts, "the Arabic the patient typed is not in the bundled font"


@pytest.mark.parametrize(("lang", "paper"), CASES)
def test_the_machines_fonts_change_nothing_on_the_handout(renders, lang, paper):
    (system, system_pages), (bare, bare_pages) = renders["system"], renders["bare"]
    name = f"{lang}-{paper}.pdf"
    assert pdffonts(system / name) == pdffonts(bare / name)
    assert system_pages[f"{lang}-{paper}"] == bare_pages[f"{lang}-{paper}"]
    assert layout_text(system / name) == layout_text(bare / name)


def test_the_footer_digits_are_set_as_text_not_as_emoji(renders):
    """Digits in an emoji font come out spaced apart: "2 0 2 6", "K 7 P 2"."""
    system, _ = renders["system"]
    footer = layout_text(system / "en-letter.pdf")
    assert "Code K7P2" in footer
    assert re.search(r"Page 1 of 2", footer)


def test_the_fonts_are_declared_once_for_the_kiosk_the_desk_and_the_handout():
    css = ROOT / "static" / "css"
    declared = {path.name for path in css.glob("*.css") if "@font-face" in path.read_text(encoding="utf-8")}
    # Besides, for the kiosk only: the language buttons' few characters, and
    # Chinese and Korean in slices (static/fonts/fetch.py writes them), and the
    # whole Chinese and Korean fonts for only those scripts (kiosk-fonts.css).
    assert declared == {
        "kiosk-fonts.css",
        "fonts.css",
        "fonts-names.css",
        "fonts-zh-Hans.css",
        "fonts-zh-Hant.css",
        "fonts-ko.css",
    }
    # The handout imports it; every page of the kiosk and the desk links it
    # (both faces' layouts extend base.html).
    assert "@import url(fonts.css);" in (css / "handout.css").read_text(encoding="utf-8")
    templates = ROOT / "templates"
    assert "filename='css/fonts.css'" in (templates / "base.html").read_text(encoding="utf-8")
    for layout in ("patient/page.html", "desk/layout.html"):
        assert (templates / layout).read_text(encoding="utf-8").startswith('{% extends "base.html" %}'), (
            layout
        )
