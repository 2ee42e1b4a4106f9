"""The patient's languages: which the kiosk ships, what each is called, and
whether a catalog is ready for a clinic to turn on.

A language has two spellings. Its **tag** (BCP 47: ``zh-Hans``) is what a
clinic writes in ``clinic.toml`` and what the kiosk sends and shows: the
language buttons, the visit, ``<html lang>``, the handout's ``/Lang``,
``kiosk sample-handout --lang``. Its **Babel id** (``zh_Hans``) names its
catalog's folder, ``kiosk/translations/<id>/LC_MESSAGES/messages.po``. The two
meet only here (`babel_id`, `tag_of`).

A catalog says in its header whether the clinic's medical interpreter has
reviewed it: ``X-Reviewed-By`` (who) and ``X-Reviewed-On`` (YYYY-MM-DD), both
empty in a draft. English is the source and needs no catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

SOURCE = "en"

NAMES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "zh-Hans": "中文（简体）",
    "zh-Hant": "中文（繁體）",
    "vi": "Tiếng Việt",
    "ko": "한국어",
    "tl": "Tagalog",
    "ru": "Русский",
    "ar": "العربية",
    "ht": "Kreyòl ayisyen",
}
"""Every language the kiosk ships, by tag, each named as its speakers would
look for it on a button. Babel's own names, capitalised as a button starts
(Babel writes "español", "русский" as mid-sentence), with the full-width
brackets Chinese text uses; Babel calls Tagalog "Filipino", a name a Tagalog
speaker may not look for."""

DEFAULT = ("en", "es")
"""What a clinic offers until it says otherwise."""

REVIEW_HEADERS = ("X-Reviewed-By", "X-Reviewed-On")


def babel_id(tag: str) -> str:
    """The catalog's folder and Babel's locale id for a tag: "zh_Hans" for "zh-Hans"."""
    return tag.replace("-", "_")


class _Tagalog(Locale):
    """Tagalog: Babel knows it only as Filipino ("fil", whose names, dates
    and plurals it shares), so Babel's "tl" would come back as "fil_PH" and
    miss the catalog in ``tl/``. This is Filipino's locale data that calls
    itself "tl"."""

    def __init__(self) -> None:
        self._named = False
        super().__init__("fil")
        self._data  # noqa: B018  (Babel loads the data by the locale's name: load it as Filipino)
        self._named = True

    def __str__(self) -> str:
        return "tl" if self._named else super().__str__()


def babel_locale(tag: str) -> Locale:
    """The Babel locale a page or handout in `tag` is drawn with."""
    return _Tagalog() if tag == "tl" else Locale.parse(babel_id(tag))


# Haitian Creole's dates: Babel's data for "ht" has no month names (its
# long date reads "2026 M12 6"), so the handout writes the Kreyòl ones.
KREYOL_MONTHS = (
    "janvye", "fevriye", "mas", "avril", "me", "jen",
    "jiyè", "out", "septanm", "oktòb", "novanm", "desanm",
)  # fmt: skip


def long_date(day: date, tag: str) -> str | None:
    """A date as the handout writes it, where Babel cannot (None: use Babel's)."""
    if tag == "ht":
        return f"{day.day} {KREYOL_MONTHS[day.month - 1]} {day.year}"
    return None


def tag_of(locale: object) -> str:
    """The tag for a Babel locale or id: "zh-Hans" for zh_Hans."""
    return str(locale).replace("_", "-")


def name(tag: str) -> str:
    return NAMES.get(tag, tag)


def catalog_path(translations: Path, tag: str) -> Path:
    return translations / babel_id(tag) / "LC_MESSAGES" / "messages.po"


@dataclass(frozen=True)
class Catalog:
    """A language's catalog as a clinic would turn it on: what is wrong with
    it (empty if nothing), and who reviewed it and when (empty in a draft)."""

    tag: str
    problem: str = ""
    reviewed_by: str = ""
    reviewed_on: str = ""

    @property
    def reviewed(self) -> bool:
        return bool(self.reviewed_by and self.reviewed_on)


_read: dict[tuple[Path, int, int], Catalog] = {}


def catalog(translations: Path, tag: str) -> Catalog:
    """The state of one language's catalog in `translations` (read again only
    when its files change)."""
    if tag == SOURCE:
        return Catalog(tag, reviewed_by="the source text", reviewed_on="-")
    po = catalog_path(translations, tag)
    mo = po.with_suffix(".mo")
    try:
        stamp = (po, po.stat().st_mtime_ns, mo.stat().st_mtime_ns if mo.exists() else 0)
    except OSError:
        return Catalog(tag, f"there is no catalog for it ({babel_id(tag)}/LC_MESSAGES/messages.po)")
    if stamp not in _read:
        _read[stamp] = _check(tag, po, stamp[2] >= stamp[1])
    return _read[stamp]


def _check(tag: str, po: Path, compiled: bool) -> Catalog:
    text = po.read_text(encoding="utf-8", errors="replace")
    with po.open("rb") as file:
        read = read_po(file)
    messages = [m for m in read if m.id]
    empty = sum(1 for m in messages if not all(m.string if isinstance(m.string, tuple) else (m.string,)))
    fuzzy = sum(1 for m in messages if m.fuzzy)
    by, on = (_header(text, header) for header in REVIEW_HEADERS)
    problem = ""
    if empty or fuzzy:
        counts = " and ".join(f"{n} {what}" for n, what in ((empty, "untranslated"), (fuzzy, "fuzzy")) if n)
        strings = "string" if empty + fuzzy == 1 else "strings"
        problem = f"its catalog has {counts} {strings}: translate and check them, then compile"
    elif read.fuzzy:
        problem = (
            'its catalog is still marked fuzzy at the top (the "#, fuzzy" line above msgid ""), '
            "so it is not compiled: remove that line once it is complete, then compile"
        )
    elif not compiled:
        problem = "its catalog is not compiled: run flask --app wsgi kiosk translate compile"
    elif on and not _is_date(on):
        problem = f"its catalog's X-Reviewed-On is {on!r}: write the day of the review as YYYY-MM-DD"
    return Catalog(tag, problem, by, on)


def _header(text: str, header: str) -> str:
    match = re.search(r'^"' + re.escape(header) + r':[ \t]*(.*?)\s*(?:\\n)?"$', text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def review_headers(text: str) -> dict[str, str]:
    """The review fields a catalog's text holds (for keeping them when the
    catalog is updated, as pybabel drops headers it does not know)."""
    return {header: _header(text, header) for header in REVIEW_HEADERS}


def with_review_headers(text: str, fields: dict[str, str]) -> str:
    """The catalog's text with these review fields in its header, written or replaced."""
    for header, value in fields.items():
        line = f'"{header}: {value}\\n"'
        pattern = re.compile(r'^"' + re.escape(header) + r':.*"$', flags=re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(lambda _, line=line: line, text, count=1)
        else:
            # After the header's last line, the one before the first blank line.
            head, blank, rest = text.partition("\n\n")
            text = f"{head}\n{line}{blank}{rest}"
    return text
