"""Plain words where no readability formula serves: every draft catalog's
strings keep about the length of their English source, so each screen and the
handout keep their layout (and the typical handout its two pages, checked in
tests/test_handout_languages.py).

English is measured by its grade and Spanish by Fernández-Huerta
(tests/test_spanish.py); no such formula is trusted for Chinese, Vietnamese,
Korean, Tagalog, Russian, Arabic or Haitian Creole, so these are held to a
length instead.
"""

from __future__ import annotations

import re

import pytest

from kiosk import languages

from .support.catalogs import TRANSLATIONS, read_catalog

LETTERS_RATIO = 1.6
DENSE_RATIO = 1.0
DENSE = {"zh-Hans", "zh-Hant", "ko"}
SLACK = 4
"""Characters every translation may add above its ratio.

The ratio alone would judge a short word unfairly: "No" is "Không" in
Vietnamese and "Hindi" in Tagalog, 2.5 times as long yet one word on a button.
Four characters is about one short word, enough for those; it stops counting
once a source has ten characters or so, where the ratio governs. An additive
allowance rather than a floor (max(len, 8)) keeps the rule strict for the
middle-sized strings, the headings and the buttons, whose layout it protects."""

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
FOR_LENGTH = [tag for tag in languages.NAMES if tag not in (languages.SOURCE, "es")]


def ratio(tag: str) -> float:
    """How much longer than its English a translation may be, in characters.

    Chinese (in either script) and Korean are written far more densely than
    English: a character of Chinese is usually a whole word or syllable and a
    Korean block a whole syllable, so the same sentence takes about half the
    characters of the English (and each character about twice an English
    letter's width on screen). A translation there longer in characters than
    its English is wordy or padded, and would take twice the room: 1.0 holds
    them to the width the English screens were laid out for. The languages
    in letters, Latin, Cyrillic or Arabic, take 1.6: their words run longer
    than English ones (Russian cases, Vietnamese and Tagalog particles, Arabic
    articles joined to the word) but not much wider a letter."""
    return DENSE_RATIO if tag in DENSE else LETTERS_RATIO


def pairs(tag: str):
    """(English, translation) for every string of a language's catalog, plurals each form."""
    for message in read_catalog(languages.catalog_path(TRANSLATIONS, tag)):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for n, string in enumerate(strings):
            yield ids[min(n, len(ids) - 1)], string


def fits(tag: str, source: str, string: str) -> bool:
    return len(string) <= ratio(tag) * len(source) + SLACK


def too_long(tag: str) -> list[str]:
    return [
        f"{len(string)} > {ratio(tag):.1f}×{len(source)}+{SLACK}: {source!r} -> {string!r}"
        for source, string in pairs(tag)
        if not fits(tag, source, string)
    ]


@pytest.mark.parametrize("tag", FOR_LENGTH)
def test_no_translation_is_much_longer_than_its_english(tag):
    assert too_long(tag) == []


@pytest.mark.parametrize("tag", FOR_LENGTH)
def test_every_translation_keeps_its_placeholders(tag):
    wrong = [
        (source, string)
        for source, string in pairs(tag)
        if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(string))
    ]
    assert wrong == []


def test_the_rule_judges_short_words_fairly_and_catches_padding():
    """The check can fail: a padded string is caught in letters and in
    characters, while "No" as "Không" passes."""
    assert fits("vi", "No", "Không")
    assert fits("ko", "No", "아니요")
    assert not fits("vi", "Check your answers", "Vui lòng kiểm tra lại tất cả các câu trả lời")
    assert not fits("zh-Hans", "Check your answers", "请您在这里仔细地检查一下您刚才填写的所有回答内容")
