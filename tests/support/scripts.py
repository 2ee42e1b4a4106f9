"""The patient's languages by script, for the tests of the bundled fonts.

Each language's tag (as in clinic.toml, ``<html lang>`` and the handout's
``/Lang``), its catalog folder, its name in its own words (as on its
language button), a sentence in it as a patient might type it, and the
fonts that draw it: the PostScript-style names WeasyPrint embeds and the
family names inside the files, as Chromium reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSLATIONS = ROOT / "kiosk" / "translations"
FONTS = ROOT / "static" / "fonts"


@dataclass(frozen=True)
class Language:
    tag: str
    catalog: str
    own_name: str
    typed: str
    handout_font: str  # the family as WeasyPrint names it in the PDF
    screen_font: str  # the family inside the font file, as Chromium reports it
    files: tuple[Path, ...]  # regular and bold

    def has_catalog(self) -> bool:
        return self.tag == "en" or (TRANSLATIONS / self.catalog / "LC_MESSAGES" / "messages.po").is_file()


ATKINSON = tuple(
    FONTS / "atkinson-hyperlegible" / f"AtkinsonHyperlegible-{s}.ttf" for s in ("Regular", "Bold")
)
NOTO_SANS = tuple(FONTS / "noto-sans" / f"NotoSans-{s}.ttf" for s in ("Regular", "Bold"))


def _noto(folder: str, stem: str) -> tuple[Path, ...]:
    return tuple(FONTS / folder / f"{stem}-{s}.ttf" for s in ("Regular", "Bold"))


LANGUAGES = (
    Language(
        "en",
        "en",
        "English",
        "Will I need more surgery?",
        "Bundled-Atkinson-Hyperlegible",
        "Atkinson Hyperlegible",
        ATKINSON,
    ),
    Language(
        "es",
        "es",
        "Español",
        "¿Necesitaré otra cirugía? Año, niño.",
        "Bundled-Atkinson-Hyperlegible",
        "Atkinson Hyperlegible",
        ATKINSON,
    ),
    Language(
        "tl",
        "tl",
        "Tagalog",
        "Kailangan ko ba ng isa pang operasyon?",
        "Bundled-Atkinson-Hyperlegible",
        "Atkinson Hyperlegible",
        ATKINSON,
    ),
    Language(
        "ht",
        "ht",
        "Kreyòl ayisyen",
        "Èske m ap bezwen yon lòt operasyon?",
        "Bundled-Atkinson-Hyperlegible",
        "Atkinson Hyperlegible",
        ATKINSON,
    ),
    Language(
        "vi",
        "vi",
        "Tiếng Việt",
        "Tôi có cần phẫu thuật nữa không? Đau lưng ở đâu?",
        "Bundled-Noto-Sans",
        "Noto Sans",
        NOTO_SANS,
    ),
    Language(
        "ru",
        "ru",
        "Русский",
        "Мне понадобится ещё одна операция? Ёж, щука, Ъ.",
        "Bundled-Noto-Sans",
        "Noto Sans",
        NOTO_SANS,
    ),
    Language(
        "zh-Hans",
        "zh_Hans",
        "中文（简体）",
        "手术后我多久能回去工作？腰椎间盘突出。",
        "Bundled-Noto-Sans-SC",
        "Noto Sans SC",
        _noto("noto-sans-sc", "NotoSansSC"),
    ),
    Language(
        "zh-Hant",
        "zh_Hant",
        "中文（繁體）",
        "手術後我多久能回去工作？腰椎間盤突出。",
        "Bundled-Noto-Sans-TC",
        "Noto Sans TC",
        _noto("noto-sans-tc", "NotoSansTC"),
    ),
    Language(
        "ko",
        "ko",
        "한국어",
        "수술 후 언제 다시 일할 수 있나요? 허리 디스크.",
        "Bundled-Noto-Sans-KR",
        "Noto Sans KR",
        _noto("noto-sans-kr", "NotoSansKR"),
    ),
    Language(
        "ar",
        "ar",
        "العربية",
        "هل سأحتاج إلى جراحة أخرى؟ ألم في أسفل الظهر.",
        "Bundled-Vazirmatn",
        "Vazirmatn",
        _noto("vazirmatn", "Vazirmatn"),
    ),
)
BY_TAG = {language.tag: language for language in LANGUAGES}
