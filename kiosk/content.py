"""A clinic's own content, without code: ``instance/clinic.toml``.

The file may set the clinic's name, address, phone, where records go (fax
and address), a few words for Welcome and a logo (a PNG or SVG file in
``instance/``); add questions to the question bank, under a built-in topic
or a topic of its own; hide built-in questions or topics; and map audio
mode's keys to the clinic's keypad (``[audio]``). The example
in ``instance/clinic.example.toml`` documents every setting.

It is read at start-up and again whenever it changes (every request and
every worker task looks at its time stamp, at most once every
``CHECK_EVERY`` seconds). A file with a mistake never takes the kiosk down:
the error names the file, the line and the problem, it is logged and shown
to admins on the desk, and the kiosk keeps the last content that was good,
kept on disk beside it (``clinic.last-good.toml``), so a restart keeps it
too; with none, the built-in content.

The ids of a clinic's questions are namespaced (``clinic.<id>``): a
built-in id has no dot, so the two can never collide.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import babel.support
import flask_babel
from flask import Flask, current_app
from markupsafe import escape

from . import languages as lang_
from . import questionnaire as qn
from .storage import write_atomically

log = logging.getLogger(__name__)

FILE_NAME = "clinic.toml"
LAST_GOOD_NAME = "clinic.last-good.toml"
CHECK_EVERY = 2.0
"""Seconds between looks at the file's time stamp."""

CLINIC_ID_PREFIX = "clinic."
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
LOGO_MAX_BYTES = 512 * 1024
LIMITS = {"name": 80, "address": 160, "phone": 40, "records_fax": 40, "records_address": 160, "welcome": 300}
QUESTION_MAX_LENGTH = 160
FILE_MAX_BYTES = 256 * 1024

DEFAULT_KEYS: Mapping[str, tuple[str, ...]] = {
    "previous": ("ArrowUp",),
    "next": ("ArrowDown",),
    "previous_question": ("ArrowLeft",),
    "next_question": ("ArrowRight",),
    "choose": ("Enter", "Space"),
    "help": ("F1", "?"),
    "back": ("Escape", "Backspace"),
    "slower": ("-",),
    "faster": ("+", "="),
    "softer": ("PageDown",),
    "louder": ("PageUp",),
}
"""Audio mode's keys: what each does, and the key names a keypad sends for it
(the browser's ``KeyboardEvent.key``; "Space" for the space bar). Tactile
keypads for kiosks type ordinary key codes: four arrows, a select key (Enter)
and a help key."""
KEY_NAME_MAX = 20


@dataclass(frozen=True)
class Clinic:
    """Who the clinic is, as the kiosk and the handout show it."""

    name: str
    phone: str = ""
    address: str = ""
    records_fax: str = ""
    records_address: str = ""
    # The clinic's own words for Welcome, by language.
    welcome: Mapping[str, str] = field(default_factory=dict)
    logo: Path | None = None
    # The logo as it was checked: what is served and printed, even if the
    # file is replaced afterwards without the content file changing.
    logo_data: bytes = field(default=b"", repr=False)

    @property
    def logo_type(self) -> str:
        return LOGO_TYPES[self.logo.suffix.lower()] if self.logo else ""

    def welcome_words(self, language: str) -> str:
        """The clinic's words in `language` (a tag), or none: a screen in a
        language the clinic wrote nothing in shows only the kiosk's own."""
        return self.welcome.get(language, "")


@dataclass(frozen=True)
class Audio:
    """Audio mode as this clinic sets it up: the key map, and whether the
    screen goes blank (for privacy) as soon as audio mode starts."""

    keys: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    blank_screen: bool = False


@dataclass(frozen=True)
class Content:
    definition: qn.Definition
    clinic: Clinic
    # A clinic's own text in other languages: language → English → text.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The clinic's own English text (questions, topics): not from our catalogs.
    own_texts: frozenset[str] = frozenset()
    source: str = "built-in"
    # The file's text as read and checked: what the last good copy keeps.
    text: str = field(default="", repr=False)
    audio: Audio = field(default_factory=Audio)
    # The languages offered, by tag, in the clinic's order, and which of
    # them are drafts (their catalog not yet reviewed).
    languages: tuple[str, ...] = lang_.DEFAULT
    drafts: tuple[str, ...] = ()


class ContentError(Exception):
    """A mistake in the content file, where it is, in words for the admin."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file, self.line, self.problem = file, line, problem
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}")


# --- reading the file ---------------------------------------------------------------


class _Lines:
    """Finds the line a setting is on, to name it in an error (tomllib says
    where only for syntax errors)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def of(self, table: str, index: int | None = None, key: str | None = None) -> int | None:
        header = re.compile(
            r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]"
            if index is not None
            else r"^\s*\[\s*" + re.escape(table) + r"\s*\]"
        )
        starts = [n for n, line in enumerate(self.lines) if header.match(line)]
        if index is not None:
            if index >= len(starts):
                return None
            starts = [starts[index]]
        if not starts:
            return None
        start = starts[0]
        if key is None:
            return start + 1
        setting = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for n in range(start + 1, len(self.lines)):
            if re.match(r"^\s*\[", self.lines[n]):
                break
            if setting.match(self.lines[n]):
                return n + 1
        return start + 1


class _ClinicFileParser:
    """Parses and checks the clinic's TOML file against the built-in definition."""

    def __init__(self, path: Path, text: str, base: Clinic, translations: Path) -> None:
        self.path, self.name = path, path.name
        self.lines = _Lines(text)
        self.base = base
        self.text = text
        self.translations = translations
        # Until the file says otherwise; its words may be in any language the kiosk ships.
        self.languages: list[str] = list(lang_.DEFAULT)
        self.drafts: list[str] = []
        self.others = [tag for tag in lang_.NAMES if tag != lang_.SOURCE]
        self.catalog_texts: frozenset[str] = frozenset()
        # A text of the clinic's without its words in a language on offer:
        # said after the bank's other mistakes, which may be why.
        self.missing: list[ContentError] = []

    def fail(
        self, problem: str, table: str, index: int | None = None, key: str | None = None
    ) -> ContentError:
        return ContentError(self.name, self.lines.of(table, index, key), problem)

    def parse(self) -> Content:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as error:
            # "Expected ']' at the end of a table declaration (at line 1, column 6)"
            where = re.search(r"\s*\(at line (\d+), column \d+\)", str(error))
            message = str(error).replace(where.group(0), "") if where else str(error)
            line = int(where.group(1)) if where else None
            raise ContentError(self.name, line, f"this is not valid TOML ({message})") from None
        self._only(data, {"languages", "draft_languages", "clinic", "welcome", "bank", "audio"}, "", None)
        self._languages(data.get("languages", list(lang_.DEFAULT)), data.get("draft_languages", []))
        self.catalog_texts = _catalog_texts(self.translations, self.languages)
        clinic = self._clinic(data.get("clinic", {}), data.get("welcome", {}))
        definition, translations, own = self._bank(data.get("bank", {}))
        audio = self._audio(data.get("audio", {}))
        return Content(
            definition,
            clinic,
            translations,
            own,
            source=self.name,
            text=self.text,
            audio=audio,
            languages=tuple(self.languages),
            drafts=tuple(self.drafts),
        )

    def _languages(self, offered: Any, drafts: Any) -> None:
        """The languages to offer, each a tag the kiosk ships with a complete
        catalog, reviewed unless the clinic marks it a draft."""
        for key, value in (("languages", offered), ("draft_languages", drafts)):
            if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
                raise ContentError(
                    self.name,
                    self._top_line(key),
                    f'{key} must be a list of language tags in quotes, like ["en", "es", "vi"]',
                )
            known = {tag.lower(): tag for tag in lang_.NAMES}
            seen: list[str] = []
            for tag in value:
                line = self._item_line(key, tag, seen.count(tag))
                if tag not in lang_.NAMES:
                    if tag.strip().lower() in known:
                        problem = f"{tag!r} is written {known[tag.strip().lower()]!r}"
                    else:
                        problem = f"there is no language {tag!r} (the kiosk has: {', '.join(lang_.NAMES)})"
                    raise ContentError(self.name, line, f"{key}: {problem}")
                if tag in seen:
                    raise ContentError(self.name, line, f"{key}: {tag!r} is listed twice")
                seen.append(tag)
        if not offered:
            raise ContentError(self.name, self._top_line("languages"), "languages: list at least English")
        if lang_.SOURCE not in offered:
            raise ContentError(
                self.name,
                self._top_line("languages"),
                'languages: English ("en") must be on: every visit starts in it, and staff read it',
            )
        for tag in drafts:
            if tag not in offered:
                raise ContentError(
                    self.name,
                    self._item_line("draft_languages", tag),
                    f"draft_languages: {tag!r} is not in languages: turn it on there too, or take it out here",
                )
        for tag in offered:
            found = lang_.catalog(self.translations, tag)
            described = f"{lang_.name(tag)} ({tag})"
            if found.problem:
                raise ContentError(
                    self.name, self._item_line("languages", tag), f"languages: {described}: {found.problem}"
                )
            if not found.reviewed and tag not in drafts:
                raise ContentError(
                    self.name,
                    self._item_line("languages", tag),
                    f"languages: {described} has not been reviewed by your interpreter (its catalog's "
                    f"X-Reviewed-By and X-Reviewed-On are empty): have it reviewed, or add {tag!r} to "
                    "draft_languages to offer it as a draft",
                )
        self.languages, self.drafts = list(offered), [tag for tag in offered if tag in drafts]

    def _item_line(self, key: str, item: str, before: int = 0) -> int | None:
        """The line of one item of a list at the top of the file, after
        `before` others like it (the list's own line if not found)."""
        start = self._top_line(key)
        if start is None:
            return None
        quoted = re.compile(r"[\"']" + re.escape(item) + r"[\"']")
        for n in range(start - 1, len(self.lines.lines)):
            line = self.lines.lines[n].split("#", 1)[0]
            found = len(quoted.findall(line))
            if found > before:
                return n + 1
            before -= found
            if "]" in line:
                break
        return start

    def _only(self, table: Mapping[str, Any], known: set[str], name: str, index: int | None) -> None:
        for key in table:
            if key not in known:
                where = f"in [{name}]" if name else "at the top of the file"
                expected = ", ".join(sorted(known))
                line = self.lines.of(name, index, key) if name else self._top_line(key)
                raise ContentError(
                    self.name, line, f"unknown setting {key!r} {where} (expected one of: {expected})"
                )

    def _top_line(self, key: str) -> int | None:
        for n, line in enumerate(self.lines.lines):
            if re.match(r"^\s*\[*\s*" + re.escape(key) + r"(?![\w-])", line):
                return n + 1
        return None

    def _string(self, value: Any, limit: int, table: str, key: str, index: int | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{key} must be text in quotes", table, index, key)
        text = qn.clean_text(value)
        if len(text) > limit:
            raise self.fail(
                f"{key} is too long: {len(text)} letters, and the limit is {limit}", table, index, key
            )
        return text

    def _clinic(self, settings: Any, welcome: Any) -> Clinic:
        if not isinstance(settings, dict):
            raise self.fail("[clinic] must be a table of settings", "clinic")
        self._only(settings, {*LIMITS.keys() - {"welcome"}, "logo"}, "clinic", None)
        values = {
            key: self._string(v, LIMITS[key], "clinic", key) for key, v in settings.items() if key != "logo"
        }
        if "name" in values and not values["name"]:
            raise self.fail("name may not be empty", "clinic", None, "name")
        logo, logo_data = self._logo(settings["logo"]) if "logo" in settings else (None, b"")
        if not isinstance(welcome, dict):
            raise self.fail("[welcome] must be a table: one line per language", "welcome")
        self._only(welcome, set(lang_.NAMES), "welcome", None)
        words = {
            lang: self._string(text, LIMITS["welcome"], "welcome", lang) for lang, text in welcome.items()
        }
        base = self.base
        return Clinic(
            name=values.get("name", base.name),
            phone=values.get("phone", base.phone),
            address=values.get("address", ""),
            records_fax=values.get("records_fax", ""),
            records_address=values.get("records_address", ""),
            welcome=words,
            logo=logo,
            logo_data=logo_data,
        )

    def _audio(self, settings: Any) -> Audio:
        """The key map: each action the clinic sets gets its own keys, the
        others keep theirs; no key may do two things."""
        if not isinstance(settings, dict):
            raise ContentError(self.name, self._top_line("audio"), "[audio] must be a table of keys")
        self._only(settings, {*DEFAULT_KEYS, "blank_screen"}, "audio", None)
        blank = settings.get("blank_screen", False)
        if not isinstance(blank, bool):
            raise self.fail("blank_screen must be true or false", "audio", None, "blank_screen")
        keys = dict(DEFAULT_KEYS)
        checked: list[str] = []
        for action, value in settings.items():
            if action == "blank_screen":
                continue
            if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
                raise self.fail(
                    f'{action} must be a list of key names, like ["F1", "?"]', "audio", None, action
                )
            if not value or not all(key.strip() for key in value):
                raise self.fail(f"{action} needs at least one key", "audio", None, action)
            if any(len(key) > KEY_NAME_MAX for key in value):
                raise self.fail(
                    f"{action}: a key name is at most {KEY_NAME_MAX} letters", "audio", None, action
                )
            # Against the actions written above this one, and the defaults of those not written.
            others = [a for a in checked] + [a for a in DEFAULT_KEYS if a not in settings]
            for key in value:
                taken = next((other for other in others if key in keys[other]), None)
                if taken is not None:
                    raise self.fail(f"the key {key!r} is already used for {taken}", "audio", None, action)
            keys[action] = tuple(value)
            checked.append(action)
        return Audio(keys=keys, blank_screen=blank)

    def _logo(self, value: Any) -> tuple[Path, bytes]:
        name = self._string(value, 120, "clinic", "logo")
        where = ("clinic", None, "logo")
        if "/" in name or "\\" in name or name.startswith("."):
            raise self.fail("logo must be the name of a file in the instance folder, with no folder", *where)
        path = self.path.parent / name
        if path.suffix.lower() not in LOGO_TYPES:
            raise self.fail("logo must be a PNG or an SVG file (.png or .svg)", *where)
        if not path.is_file():
            raise self.fail(f"logo file {name!r} is not in the instance folder", *where)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise self.fail(f"logo file {name!r} could not be read ({error.strerror})", *where) from None
        if len(data) > LOGO_MAX_BYTES:
            raise self.fail(
                f"logo file is too big: {len(data)} bytes, and the limit is {LOGO_MAX_BYTES}", *where
            )
        problem = _png_problem(data) if path.suffix.lower() == ".png" else _svg_problem(data)
        if problem:
            raise self.fail(f"logo file {name!r}: {problem}", *where)
        return path, data

    def _translated(
        self, item: Mapping[str, Any], key: str, limit: int, table: str, index: int
    ) -> dict[str, str]:
        """``key`` in English, and ``key_<tag>`` for the kiosk's other languages.

        Each language the clinic offers needs the clinic's own words: a
        patient never meets English among the questions in their language.
        (Words the kiosk already says are translated by its catalogs.)"""
        texts = {}
        for lang in self.others:
            if f"{key}_{lang}" in item:
                texts[lang] = self._string(item[f"{key}_{lang}"], limit, table, f"{key}_{lang}", index)
        english = item.get(key)
        for lang in self.languages:
            if lang != lang_.SOURCE and lang not in texts and english not in self.catalog_texts:
                self.missing.append(
                    self.fail(
                        f"{key}_{lang} is missing: the kiosk offers {lang_.name(lang)}, and this {key} "
                        f"needs your words in it too (or take {lang!r} out of languages)",
                        table,
                        index,
                        key,
                    )
                )
        if texts and english in self.catalog_texts:
            # Translations are found by their English: this one would change
            # the kiosk's own wherever it says the same.
            raise self.fail(
                f"the kiosk already says {item[key]!r} and has its own translation: word yours differently",
                table,
                index,
                key,
            )
        return texts

    def _bank(self, bank: Any) -> tuple[qn.Definition, dict[str, dict[str, str]], frozenset[str]]:
        if not isinstance(bank, dict):
            raise self.fail("[bank] must be a table", "bank")
        self._only(bank, {"hide", "topics", "questions"}, "bank", None)
        built_in = qn.BANK
        translations: dict[str, dict[str, str]] = {lang: {} for lang in self.others}
        own: set[str] = set()
        topics = list(built_in.topics)
        topic_ids = {t.id for t in topics}

        new_topics = bank.get("topics", [])
        if not isinstance(new_topics, list):
            raise self.fail("topics must be written as [[bank.topics]] tables", "bank", None, "topics")
        for index, item in enumerate(new_topics):
            table = "bank.topics"
            if not isinstance(item, dict):
                raise self.fail("each topic must be a [[bank.topics]] table", "bank", None, "topics")
            self._only(item, {"id", "label", *(f"label_{lang}" for lang in self.others)}, table, index)
            topic_id = self._id(item, table, index)
            if topic_id in topic_ids or CLINIC_ID_PREFIX + topic_id in topic_ids:
                raise self.fail(f"there is already a topic with the id {topic_id!r}", table, index, "id")
            label = self._required(item, "label", 80, table, index)
            own.add(label)
            for lang, text in self._translated(item, "label", 80, table, index).items():
                translations[lang][label] = text
            topics.append(qn.Topic(CLINIC_ID_PREFIX + topic_id, label, ()))
            topic_ids.add(CLINIC_ID_PREFIX + topic_id)

        added = bank.get("questions", [])
        if not isinstance(added, list):
            raise self.fail(
                "questions must be written as [[bank.questions]] tables", "bank", None, "questions"
            )
        seen: set[str] = set()
        for index, item in enumerate(added):
            table = "bank.questions"
            if not isinstance(item, dict):
                raise self.fail("each question must be a [[bank.questions]] table", "bank", None, "questions")
            self._only(item, {"id", "topic", "text", *(f"text_{lang}" for lang in self.others)}, table, index)
            question_id = CLINIC_ID_PREFIX + self._id(item, table, index)
            if question_id in seen:
                raise self.fail(
                    f"there is already a question with the id {question_id[7:]!r}", table, index, "id"
                )
            seen.add(question_id)
            topic_id = self._required(item, "topic", 40, table, index)
            position = next(
                (n for n, t in enumerate(topics) if t.id in (topic_id, CLINIC_ID_PREFIX + topic_id)), None
            )
            if position is None:
                known = ", ".join(t.id.removeprefix(CLINIC_ID_PREFIX) for t in topics)
                raise self.fail(f"there is no topic {topic_id!r} (topics: {known})", table, index, "topic")
            text = self._required(item, "text", QUESTION_MAX_LENGTH, table, index)
            own.add(text)
            for lang, translated in self._translated(item, "text", QUESTION_MAX_LENGTH, table, index).items():
                translations[lang][text] = translated
            topic = topics[position]
            topics[position] = replace(topic, questions=(*topic.questions, qn.Choice(question_id, text)))

        hide = bank.get("hide", [])
        if not isinstance(hide, list) or not all(isinstance(h, str) for h in hide):
            raise self.fail(
                'hide must be a list of ids in quotes, like ["q_costs_total"]', "bank", None, "hide"
            )
        built_in_questions = {c.id for c in built_in.all_choices()}
        built_in_topics = {t.id for t in built_in.topics}
        for hidden in hide:
            if hidden not in built_in_questions | built_in_topics:
                raise self.fail(
                    f"there is no built-in question or topic {hidden!r} to hide", "bank", None, "hide"
                )
            topic = next((t for t in topics if t.id == hidden), None)
            if topic is not None and any(q.id.startswith(CLINIC_ID_PREFIX) for q in topic.questions):
                raise self.fail(
                    f"topic {hidden!r} is hidden, but a question of yours is under it: move it, or show the topic",
                    "bank",
                    None,
                    "hide",
                )
        for index, topic in enumerate(t for t in topics if t.id.startswith(CLINIC_ID_PREFIX)):
            if not topic.questions:
                name = topic.id.removeprefix(CLINIC_ID_PREFIX)
                raise self.fail(
                    f"topic {name!r} has no questions: add one under it, or remove it",
                    "bank.topics",
                    index,
                    "id",
                )
        if self.missing:
            raise self.missing[0]
        topics = [
            replace(t, questions=tuple(q for q in t.questions if q.id not in hide))
            for t in topics
            if t.id not in hide
        ]
        topics = [t for t in topics if t.questions]
        if not topics:
            raise self.fail("every question of the bank is hidden: leave at least one", "bank", None, "hide")
        bank_question = replace(built_in, topics=tuple(topics))
        try:
            definition = qn.BUILT_IN.replacing(bank_question)
        except ValueError as error:  # the definition's own checks
            raise self.fail(str(error), "bank") from None
        return definition, {lang: texts for lang, texts in translations.items() if texts}, frozenset(own)

    def _id(self, item: Mapping[str, Any], table: str, index: int) -> str:
        value = item.get("id")
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise self.fail(
                'id must be a short name of small letters, digits and _ that starts with a letter, like "parking"',
                table,
                index,
                "id" if "id" in item else None,
            )
        return value

    def _required(self, item: Mapping[str, Any], key: str, limit: int, table: str, index: int) -> str:
        if key not in item:
            raise self.fail(f"{key} is missing", table, index)
        text = self._string(item[key], limit, table, key, index)
        if not text:
            raise self.fail(f"{key} may not be empty", table, index, key)
        return text


def _png_problem(data: bytes) -> str:
    return "" if data.startswith(b"\x89PNG\r\n\x1a\n") else "it is not a PNG image"


_SVG_NS = "{http://www.w3.org/2000/svg}"


def _svg_problem(data: bytes) -> str:
    """An SVG logo is drawn, never run: no scripts, no event handlers, no
    links to anything outside the file."""
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        return "it may not declare a DOCTYPE or entities"
    if re.search(rb"<\?(?!xml\s)", lowered):
        return "it may not hold processing instructions such as a stylesheet"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        return f"it is not a readable SVG image ({error})"
    if root.tag != f"{_SVG_NS}svg":
        return "it is not an SVG image"
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        # A stylesheet is refused whole rather than read: CSS has too many
        # ways to spell a fetch (escapes, comments, @import, image-set).
        if tag in ("script", "style", "foreignobject", "iframe", "embed", "object", "set") or tag.startswith(
            "animate"
        ):
            return f"it may not contain <{tag}>"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"it may not contain event handlers ({local})"
            if local == "href" and not value.strip().startswith("#"):
                return "it may not link to other files or addresses"
            if problem := _css_problem(value):
                return problem
    return ""


# CSS that fetches or runs something without url(): @import, old IE's
# expression(), image-set("a.png" 1x) and the like.
_CSS_LOADS = re.compile(r"@import|expression\s*\(|image-set\s*\(|\bimage\s*\(|\bsrc\s*\(|element\s*\(")


def _css_problem(value: str) -> str:
    """What is wrong with an attribute's value read as CSS (a style attribute,
    or a presentation attribute such as fill): empty if nothing.

    A backslash is refused outright: CSS escapes (``u\\72l(``, ``\\40import``)
    spell anything, and a logo has no need of them. Comments are read both
    kept and removed, as either reading may be the one a renderer makes."""
    if "\\" in value:
        return "its styles may not use CSS escapes (a backslash)"
    for text in (value, re.sub(r"/\*.*?(\*/|$)", "", value, flags=re.DOTALL)):
        if _CSS_LOADS.search(text.lower()):
            return "its styles may not load or run anything (@import, expression(), image-set())"
        if _links_out(text):
            return "it may not link to other files or addresses"
    return ""


def _links_out(text: str) -> bool:
    """A CSS ``url(...)`` to anything but a part of the same file."""
    return any(
        not target.strip().startswith("#")
        for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", text, flags=re.IGNORECASE)
    )


# --- the content in force -------------------------------------------------------------


@dataclass
class State:
    """What this process runs with, and what went wrong reading the file."""

    content: Content
    error: ContentError | None = None
    error_at: datetime | None = None
    stamp: tuple[float, int] | None = None
    checked: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def built_in(app: Flask) -> Content:
    config = app.config
    return Content(qn.BUILT_IN, Clinic(name=config["CLINIC_NAME"], phone=config["CLINIC_PHONE"]))


def content_path(app: Flask) -> Path:
    return Path(app.instance_path) / FILE_NAME


def read_file(path: Path, app: Flask) -> Content:
    """The content of one file, or ContentError saying what is wrong and where."""
    try:
        if path.stat().st_size > FILE_MAX_BYTES:
            raise ContentError(
                path.name, None, f"the file is too big: the limit is {FILE_MAX_BYTES // 1024} KB"
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(path.name, None, "the file must be saved as UTF-8 text") from None
    except OSError as error:
        raise ContentError(path.name, None, f"the file could not be read ({error.strerror})") from None
    return _ClinicFileParser(path, text, built_in(app).clinic, translations_folder(app)).parse()


def translations_folder(app: Flask) -> Path:
    """Where the catalogs are (Flask-Babel's first translation directory)."""
    return Path(app.root_path) / app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0]


def _catalog_texts(directory: Path, languages: list[str]) -> frozenset[str]:
    """Every English text the kiosk's own catalogs translate."""
    texts: set[str] = set()
    for language in languages:
        catalog = babel.support.Translations.load(str(directory), [lang_.babel_id(language)])
        texts.update(key for key in getattr(catalog, "_catalog", {}) if isinstance(key, str) and key)
    return frozenset(texts)


def init_app(app: Flask) -> None:
    app.extensions["kiosk.content"] = State(content=built_in(app))
    refresh(app, force=True)
    app.jinja_env.install_gettext_callables(_template_gettext, flask_babel.ngettext, newstyle=True)
    app.jinja_env.globals["clinic_content"] = current


def refresh(app: Flask, *, force: bool = False) -> State:
    """Read the file again if it changed since last time (looked at no more
    than every CHECK_EVERY seconds unless forced)."""
    state: State = app.extensions["kiosk.content"]
    now = time.monotonic()
    if not force and now - state.checked < CHECK_EVERY:
        return state
    with state.lock:
        state.checked = now
        path = content_path(app)
        try:
            stat = path.stat()
            stamp: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == state.stamp and not force:
            return state
        state.stamp = stamp
        last_good = path.with_name(LAST_GOOD_NAME)
        if stamp is None:
            state.content, state.error, state.error_at = built_in(app), None, None
            return state
        try:
            try:
                state.content = read_file(path, app)
            except ContentError:
                raise
            except Exception as unexpected:  # the content file never takes the kiosk down
                log.exception("reading %s failed", path.name)
                problem = f"the file could not be read ({type(unexpected).__name__})"
                raise ContentError(path.name, None, problem) from None
        except ContentError as error:
            state.error, state.error_at = error, datetime.now(UTC)
            log.error("clinic content not loaded, %s; keeping the last good content", error)
            if state.content.source == "built-in" and last_good.is_file():
                with contextlib.suppress(ContentError):
                    state.content = replace(read_file(last_good, app), source=LAST_GOOD_NAME)
            return state
        state.error, state.error_at = None, None
        try:
            # Written whole, then put in place: a process starting meanwhile
            # never reads half a copy.
            write_atomically(last_good, state.content.text.encode("utf-8"))
        except OSError:
            log.warning("could not keep a copy of the clinic content beside it")
        log.info("clinic content loaded from %s", path.name)
        return state


def current() -> State:
    """The content this process runs with, read again first if the file changed."""
    return refresh(current_app)


def definition() -> qn.Definition:
    """The questionnaire in force: built-in, with the clinic's own questions."""
    return current().content.definition


def clinic() -> Clinic:
    return current().content.clinic


def languages() -> dict[str, str]:
    """The languages the kiosk offers, by tag, each with its own name, in the clinic's order."""
    return {tag: lang_.name(tag) for tag in current().content.languages}


def gettext(text: str, **variables: Any) -> str:
    """Translate: a clinic's own text from its file, the rest from the catalogs."""
    return _translate(current().content, text, variables)


def _translate(content: Content, text: str, variables: Mapping[str, Any]) -> str:
    if content.translations:
        locale = flask_babel.get_locale()
        own = content.translations.get(lang_.tag_of(locale) if locale else lang_.SOURCE, {}).get(text)
        if own is not None:
            return own % variables if variables else own
    return flask_babel.gettext(text, **variables)


def _template_gettext(text: str, **variables: Any) -> str:
    """``_()`` in templates. Jinja marks what it returns as safe HTML, which
    our catalogs are; a clinic's own text is escaped first."""
    content = current().content
    translated = _translate(content, text, variables)
    if text in content.own_texts:
        # Escaped as text, and with "%" doubled: Jinja formats what this returns.
        return str(escape(translated)).replace("%", "%%")
    return translated
