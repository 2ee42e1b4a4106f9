"""The typical handout in each of the ten languages, made as a clinic makes a
sample (``flask --app wsgi kiosk sample-handout FILE --lang TAG``), from the
shipped catalogs: tagged for screen readers with its language as ``/Lang``,
still two pages, in the fonts the project ships and no other (``pdffonts``),
and no English sentence of the catalog left in it (``pdftotext``)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from kiosk import languages

from .support.catalogs import msgids

pytestmark = pytest.mark.fonts

ROOT = Path(__file__).resolve().parent.parent
TAGS = list(languages.NAMES)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]+>")
SENTENCE_WORDS = 3
# The handout names every font it embeds from static/fonts "Bundled <family>"
# (static/css/handout.css's @font-face): anything else came from the machine.
BUNDLED = re.compile(r"^Bundled-[A-Za-z0-9-]+$")


def english_sentences() -> list[str]:
    pieces = set()
    for msgid in msgids():
        for text in msgid if isinstance(msgid, tuple) else (msgid,):
            for piece in PLACEHOLDER.split(text):
                piece = " ".join(piece.split()).strip(" :.,;")
                if len(piece.split()) >= SENTENCE_WORDS:
                    pieces.add(piece)
    return sorted(pieces)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each language's sample handout, made by the command in processes side
    by side (as many as the machine has cores): tag -> (PDF, what it said)."""
    if missing := [tool for tool in ("pdffonts", "pdftotext") if shutil.which(tool) is None]:
        pytest.fail(f"{', '.join(missing)} not found: apt-get install poppler-utils", pytrace=False)
    folder = tmp_path_factory.mktemp("handouts")
    (folder / "instance").mkdir()
    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(folder / "instance"), "LANG": "C.UTF-8"}
    env.pop("DATABASE_URL", None)
    made: dict[str, tuple[Path, str]] = {}
    waiting = list(TAGS)
    running: dict[str, subprocess.Popen] = {}
    while waiting or running:
        while waiting and len(running) < (os.cpu_count() or 1):
            tag = waiting.pop(0)
            command = [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "sample-handout"]
            running[tag] = subprocess.Popen(
                [*command, str(folder / f"{tag}.pdf"), "--lang", tag],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        tag = next(iter(running))
        process = running.pop(tag)
        said, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{tag}: {said}"
        made[tag] = (folder / f"{tag}.pdf", said)
    return made


@pytest.mark.parametrize("tag", TAGS)
def test_the_handout_is_tagged_in_its_language_on_two_pages(samples, tag):
    pdf, said = samples[tag]
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == tag
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])
    assert all("/StructParents" in page for page in reader.pages)
    assert len(reader.pages) == 2 and "(2 pages," in said


@pytest.mark.parametrize("tag", TAGS)
def test_the_handout_embeds_only_the_fonts_the_project_ships(samples, tag):
    pdf, _ = samples[tag]
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    names = sorted({row[0].split("+")[-1] for row in rows})
    assert names, listing
    assert [name for name in names if not BUNDLED.match(name)] == [], listing
    # Every one embedded (the "emb" column, counted from the end: a type may be two words).
    assert all(row[-5] == "yes" for row in rows), listing


@pytest.mark.parametrize("tag", [tag for tag in TAGS if tag != languages.SOURCE])
def test_the_handout_has_no_english_sentence(samples, tag):
    pdf, _ = samples[tag]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    flat = " ".join(text.replace("\xa0", " ").split())
    shown = [s for s in english_sentences() if re.search(r"(?<!\w)" + re.escape(s) + r"(?!\w)", flat)]
    assert shown == []


def test_the_english_handout_would_show_its_sentences(samples):
    """The check can fail: it finds the English sentences in the English handout."""
    pdf, _ = samples[languages.SOURCE]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    flat = " ".join(text.replace("\xa0", " ").split())
    assert len([s for s in english_sentences() if s in flat]) > 20
