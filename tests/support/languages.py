"""Catalogs made for a test, in a translations folder of its own: a language
the kiosk ships whose real catalog may not be written yet, complete or not,
reviewed or a draft."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from kiosk.languages import babel_id, with_review_headers

from .catalogs import SPANISH, TEMPLATE, read_catalog


def marked(tag: str, text: str) -> str:
    """What a test catalog says for `text`: the English, marked with the language."""
    return f"«{tag}» {text}"


def make_catalog(
    folder: Path,
    tag: str,
    *,
    reviewed: tuple[str, str] = ("", ""),
    untranslated: int = 0,
    fuzzy: int = 0,
    compiled: bool = True,
) -> Path:
    """A catalog for `tag` in `folder`: every text marked (the first
    `untranslated` left empty, the next `fuzzy` marked fuzzy), its review
    fields as given, compiled unless told not to be."""
    catalog = read_catalog(TEMPLATE)
    catalog.locale = babel_id(tag)
    catalog.fuzzy = False
    for n, message in enumerate(m for m in catalog if m.id):
        if isinstance(message.id, tuple):
            message.string = tuple(marked(tag, message.id[min(i, 1)]) for i in range(catalog.num_plurals))
        else:
            message.string = "" if n < untranslated else marked(tag, message.id)
        if untranslated <= n < untranslated + fuzzy:
            message.flags.add("fuzzy")
    po = folder / babel_id(tag) / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as file:
        write_po(file, catalog)
    by, on = reviewed
    po.write_text(
        with_review_headers(po.read_text(encoding="utf-8"), {"X-Reviewed-By": by, "X-Reviewed-On": on}),
        encoding="utf-8",
    )
    if compiled:
        compile_catalog(po)
    return po


def compile_catalog(po: Path) -> None:
    with po.open("rb") as file:
        catalog = read_po(file)
    with po.with_suffix(".mo").open("wb") as file:
        write_mo(file, catalog)


def translations_folder(folder: Path, *drafts: str) -> Path:
    """A translations folder with the shipped Spanish and a draft catalog for each of `drafts`."""
    shutil.copytree(SPANISH.parent.parent, folder / "es")
    for tag in drafts:
        make_catalog(folder, tag)
    return folder
