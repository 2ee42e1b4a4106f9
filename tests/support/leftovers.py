"""Finding a patient's words left in files: the test's eyes after a purge.

A word can sit in a file as plain bytes (a database page, CUPS's job
attributes), inside a gzip file, or in a PDF, where it is drawn with glyphs
in compressed streams and only reads back through pdftotext. `holds` looks
in all of these, so a search that finds nothing means nothing is there, not
that it could not be read (its own tests show it finding the words in each
form). Anything else is searched as bytes only.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

TIMEOUT = 60


def readable_text(data: bytes) -> str:
    """The text a PDF shows, or "" for other data."""
    if data[:2] == b"\x1f\x8b":
        try:
            return readable_text(gzip.decompress(data))
        except (OSError, EOFError):
            return ""
    if not data.startswith(b"%PDF"):
        return ""
    assert shutil.which("pdftotext"), "pdftotext is needed to read PDFs (poppler-utils)"
    with tempfile.TemporaryFile() as out:
        subprocess.run(
            ["pdftotext", "-q", "-", "-"],
            input=data,
            stdout=out,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT,
            check=False,
        )
        out.seek(0)
        return out.read().decode("utf-8", "replace")


def holds(data: bytes, words: str) -> bool:
    """Whether `data` holds `words`: as UTF-8 or UTF-16 bytes, gzipped, or as a document's text."""
    forms = (words.encode(), words.encode("utf-16-be"), words.encode("utf-16-le"))
    if any(form in data for form in forms):
        return True
    if data[:2] == b"\x1f\x8b":
        try:
            if holds(gzip.decompress(data), words):
                return True
        except (OSError, EOFError):
            pass
    return words in " ".join(readable_text(data).split())


def files_holding(roots: Iterable[Path], words: str) -> list[Path]:
    """Every file under `roots` (each a folder or a file) that holds `words`."""
    found = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # gone while we looked
                continue
            if holds(data, words):
                found.append(path)
    return found
