"""The languages a clinic turns on in instance/clinic.toml: each checked
against its catalog at load, drafts marked, the clinic's own words in each."""

from __future__ import annotations

import io

import pytest
from babel import Locale
from pypdf import PdfReader

from kiosk import content, languages

from .conftest import Kiosk
from .support.content import write
from .support.languages import compile_catalog, make_catalog, marked, translations_folder

PARKING = """
[[bank.questions]]
id = "parking"
topic = "costs"
text = "Where can I park, and does it cost?"
text_es = "¿Dónde puedo estacionar y cuánto cuesta?"
"""


@pytest.fixture
def folder(tmp_path):
    """A translations folder: the shipped Spanish, drafts in Chinese, Vietnamese and Arabic."""
    return translations_folder(tmp_path / "translations", "zh-Hans", "vi", "ar")


@pytest.fixture
def app(make_app, folder):
    return make_app(BABEL_TRANSLATION_DIRECTORIES=str(folder))


def problem(app) -> str:
    error = app.extensions["kiosk.content"].error
    return str(error) if error else ""


def offered(app) -> tuple[str, ...]:
    return app.extensions["kiosk.content"].content.languages


def buttons(page: str) -> list[tuple[str, str]]:
    import re

    return re.findall(
        r'<button type="submit" name="lang" value="([^"]+)" lang="[^"]+"[^>]*>([^<]+)</button>', page
    )


def test_english_and_spanish_by_default(app):
    assert offered(app) == ("en", "es")
    assert buttons(app.test_client().get("/").get_data(as_text=True)) == [
        ("en", "English"),
        ("es", "Español"),
    ]


def test_the_clinics_languages_are_the_buttons_in_its_order_each_in_its_own_words(app):
    write(app, 'languages = ["en", "vi", "es", "ar", "zh-Hans"]\ndraft_languages = ["zh-Hans", "vi", "ar"]\n')
    assert problem(app) == ""
    page = app.test_client().get("/").get_data(as_text=True)
    assert buttons(page) == [
        ("en", "English"),
        ("vi", "Tiếng Việt"),
        ("es", "Español"),
        ("ar", "العربية"),
        ("zh-Hans", "中文（简体）"),
    ]
    # More than three: one button opens them, named for the page's language.
    assert '<details class="language-menu">' in page


def test_a_patient_can_choose_only_a_language_on_offer(app):
    write(app, 'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n')
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    kiosk.post("/preferences", {"lang": "zh-Hans", "next": "/"})
    assert '<html lang="en"' in kiosk.get("/").get_data(as_text=True)
    kiosk.post("/preferences", {"lang": "vi", "next": "/"})
    page = kiosk.get("/").get_data(as_text=True)
    assert '<html lang="vi"' in page and marked("vi", "Get ready to ask for a second opinion") in page
    # Turned off while chosen: the kiosk goes back to English.
    write(app, 'languages = ["en", "es"]\n')
    assert '<html lang="en"' in kiosk.get("/").get_data(as_text=True)


def test_a_language_tag_with_a_script_is_the_pages_language_and_the_visits(app):
    from kiosk.extensions import db
    from kiosk.models import Visit

    write(app, 'languages = ["en", "zh-Hans"]\ndraft_languages = ["zh-Hans"]\n')
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    kiosk.post("/preferences", {"lang": "zh-Hans", "next": "/"})
    assert '<html lang="zh-Hans"' in kiosk.get("/").get_data(as_text=True)
    kiosk.start()
    with app.app_context():
        assert db.session.query(Visit).one().language == "zh-Hans"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (
            'languages = ["en", "fr"]\n',
            1,
            "languages: there is no language 'fr' (the kiosk has: en, es, zh-Hans",
        ),
        ('languages = ["en", "zh-hans"]\n', 1, "languages: 'zh-hans' is written 'zh-Hans'"),
        ('languages = [\n  "en",\n  "es",\n  "es",\n]\n', 4, "languages: 'es' is listed twice"),
        (
            'languages = "en, es"\n',
            1,
            'languages must be a list of language tags in quotes, like ["en", "es", "vi"]',
        ),
        ('languages = ["es"]\n', 1, 'English ("en") must be on'),
        ("languages = []\n", 1, "list at least English"),
        (
            '# Our languages\nlanguages = [\n  "en",\n  "ko",\n]\n',
            4,
            "languages: 한국어 (ko): there is no catalog for it (ko/LC_MESSAGES/messages.po)",
        ),
        (
            'languages = ["en", "vi"]\n',
            1,
            "languages: Tiếng Việt (vi) has not been reviewed by your interpreter (its catalog's X-Reviewed-By "
            "and X-Reviewed-On are empty): have it reviewed, or add 'vi' to draft_languages",
        ),
        (
            'languages = ["en", "es"]\ndraft_languages = ["vi"]\n',
            2,
            "draft_languages: 'vi' is not in languages: turn it on there too",
        ),
        (
            'languages = ["en", "es"]\ndraft_languages = ["xx"]\n',
            2,
            "draft_languages: there is no language 'xx'",
        ),
        (
            'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n\n[bank]' + PARKING,
            8,
            "text_vi is missing: the kiosk offers Tiếng Việt, and this text needs your words in it too",
        ),
        (
            'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n\n[bank]\n[[bank.topics]]\nid = "day"\n'
            'label = "The day of the visit"\nlabel_es = "El día"\nlabel_vi = "Ngày khám"\n'
            + PARKING.replace("costs", "day"),
            14,
            "text_vi is missing",
        ),
        (
            'languages = ["en", "es"]\n[bank]\n[[bank.questions]]\nid = "parking"\ntopic = "costs"\n'
            'text = "Where can I park?"\n',
            6,
            "text_es is missing: the kiosk offers Español",
        ),
        ('languages = ["en", "es"]\n[welcome]\nfr = "Bonjour"\n', 3, "unknown setting 'fr' in [welcome]"),
    ],
)
def test_a_mistake_in_the_languages_is_named_with_its_line(app, text, line, says):
    write(app, text)
    assert problem(app).startswith(f"clinic.toml, line {line}: "), problem(app)
    assert says in problem(app), problem(app)


@pytest.mark.parametrize(
    ("catalog", "says"),
    [
        (
            {"untranslated": 3},
            "Русский (ru): its catalog has 3 untranslated strings: translate and check them",
        ),
        ({"fuzzy": 1}, "Русский (ru): its catalog has 1 fuzzy string"),
        ({"untranslated": 1, "fuzzy": 2}, "its catalog has 1 untranslated and 2 fuzzy strings"),
        ({"compiled": False}, "its catalog is not compiled: run flask --app wsgi kiosk translate compile"),
        (
            {"reviewed": ("Ana Ruiz, CHI", "last week")},
            "its catalog's X-Reviewed-On is 'last week': write the day of the review as YYYY-MM-DD",
        ),
    ],
)
def test_a_catalog_not_ready_is_refused_with_the_reason(app, folder, catalog, says):
    make_catalog(folder, "ru", **catalog)
    write(app, 'languages = ["en", "es", "ru"]\ndraft_languages = ["ru"]\n')
    assert problem(app).startswith("clinic.toml, line 1: languages: "), problem(app)
    assert says in problem(app), problem(app)


def test_a_catalog_changed_since_it_was_compiled_is_refused_until_compiled_again(app, folder):
    po = make_catalog(folder, "ru")
    write(app, 'languages = ["en", "ru"]\ndraft_languages = ["ru"]\n')
    assert problem(app) == ""
    po.write_text(po.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    write(app, 'languages = ["en", "ru"]\ndraft_languages = ["ru"]\n\n')
    assert "its catalog is not compiled" in problem(app)
    compile_catalog(po)
    write(app, 'languages = ["en", "ru"]\ndraft_languages = ["ru"]\n')
    assert problem(app) == ""


def test_a_catalog_still_marked_fuzzy_at_the_top_is_refused(app, folder):
    po = make_catalog(folder, "ru")
    po.write_text(
        '#, fuzzy\nmsgid ""' + po.read_text(encoding="utf-8").split('msgid ""', 1)[1], encoding="utf-8"
    )
    compile_catalog(po)
    write(app, 'languages = ["en", "ru"]\ndraft_languages = ["ru"]\n')
    assert 'still marked fuzzy at the top (the "#, fuzzy" line' in problem(app)


def test_a_reviewed_catalog_needs_no_draft_mark(app, folder):
    make_catalog(folder, "ru", reviewed=("Ana Ruiz, CHI", "2026-12-01"))
    write(app, 'languages = ["en", "ru"]\n')
    assert problem(app) == "" and offered(app) == ("en", "ru")
    assert app.extensions["kiosk.content"].content.drafts == ()


def test_a_refused_language_leaves_the_kiosk_on_its_last_good_content(app):
    write(app, 'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n')
    write(app, 'languages = ["en", "es", "vi", "ko"]\ndraft_languages = ["vi"]\n')
    assert "line 1: languages: 한국어 (ko): there is no catalog" in problem(app)
    assert offered(app) == ("en", "es", "vi")
    assert buttons(app.test_client().get("/").get_data(as_text=True))[-1] == ("vi", "Tiếng Việt")
    assert Kiosk(app.test_client()).start().status_code == 303


def test_the_clinics_words_in_each_language_and_the_kiosks_own_where_it_wrote_none(app):
    write(
        app,
        'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n'
        '[welcome]\nen = "Welcome to Riverside."\nes = "Bienvenido a Riverside."\n'
        "[bank]" + PARKING + 'text_vi = "Tôi có thể đậu xe ở đâu?"\n',
    )
    assert problem(app) == ""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    kiosk.post("/preferences", {"lang": "vi", "next": "/"})
    welcome = kiosk.get("/").get_data(as_text=True)
    # No English among the Vietnamese: the kiosk's own welcome, without the clinic's words.
    assert marked("vi", "Get ready to ask for a second opinion") in welcome
    assert "Welcome to Riverside." not in welcome and "clinic-words" not in welcome
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    questions = kiosk.get("/visit/questions").get_data(as_text=True)
    assert "Tôi có thể đậu xe ở đâu?" in questions and "Where can I park" not in questions
    kiosk.post("/preferences", {"lang": "es", "next": "/"})
    assert "Bienvenido a Riverside." in kiosk.get("/").get_data(as_text=True)


def test_the_clinics_words_in_a_language_not_yet_on_are_kept_for_later(app):
    write(app, '[welcome]\nen = "Welcome."\nvi = "Chào mừng."\n[bank]' + PARKING + 'text_vi = "Đậu xe?"\n')
    assert problem(app) == ""


def test_the_desk_admin_sees_the_draft_languages_on_offer(app, desk, admin_desk):
    assert "Draft translations on offer" not in admin_desk.get("/desk/").get_data(as_text=True)
    write(app, 'languages = ["en", "es", "vi", "ar"]\ndraft_languages = ["vi", "ar"]\n')
    page = admin_desk.get("/desk/").get_data(as_text=True)
    assert (
        "<strong>Draft translations on offer:</strong>\n    Tiếng Việt (vi), العربية (ar):\n"
        "    not yet reviewed by your interpreter." in page
    )
    assert "Draft translations on offer" not in desk.get("/desk/").get_data(as_text=True)


def test_each_language_is_named_as_babel_names_it_in_itself_but_tagalog():
    """Capitalised as a button starts, with Chinese brackets; Babel says
    "Filipino" where a Tagalog speaker looks for "Tagalog"."""
    for tag, name in languages.NAMES.items():
        if tag == "tl":
            continue
        locale = Locale.parse(languages.babel_id(tag))
        own = locale.get_display_name(locale).replace(" (", "（").replace(")", "）")
        assert name.lower() == own.lower(), tag


def test_the_tags_are_babels_ids_in_one_place():
    assert (
        languages.babel_id("zh-Hans") == "zh_Hans" and languages.tag_of(Locale.parse("zh_Hant")) == "zh-Hant"
    )
    assert list(languages.NAMES) == ["en", "es", "zh-Hans", "zh-Hant", "vi", "ko", "tl", "ru", "ar", "ht"]


def test_spanish_ships_reviewed_and_the_others_as_drafts():
    shipped = content.Path(languages.__file__).parent / "translations"
    assert languages.catalog(shipped, "es").reviewed
    for tag in languages.NAMES:
        if tag not in ("en", "es") and languages.catalog_path(shipped, tag).exists():
            assert not languages.catalog(shipped, tag).reviewed, tag


def test_an_update_of_the_catalogs_keeps_their_review(tmp_path):
    po = make_catalog(tmp_path, "ru", reviewed=("Ana Ruiz, CHI", "2026-12-01"))
    text = po.read_text(encoding="utf-8")
    dropped = text.replace('"X-Reviewed-By: Ana Ruiz, CHI\\n"\n', "").replace(
        '"X-Reviewed-On: 2026-12-01\\n"\n', ""
    )
    kept = languages.with_review_headers(dropped, languages.review_headers(text))
    assert kept == text


def test_a_sample_handout_in_any_language_tag(app, folder, tmp_path):
    from .support.handout import pdf_text

    runner = app.test_cli_runner()
    out = tmp_path / "sample.pdf"
    result = runner.invoke(args=["kiosk", "sample-handout", str(out), "--lang", "zh-Hans"])
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "zh-Hans"
    assert "«zh-Hans»" in pdf_text(pdf)
    result = runner.invoke(args=["kiosk", "sample-handout", str(out), "--lang", "fr"])
    assert result.exit_code == 2 and "'fr': the languages are en, es, zh-Hans" in result.output


def test_tagalog_is_found_in_its_catalog_though_babel_calls_it_filipino(app, folder):
    from kiosk.handout import handout_html

    from .conftest import SAMPLE_ANSWERS
    from .support.handout import VISIT_DATE

    make_catalog(folder, "tl")
    write(app, 'languages = ["en", "tl"]\ndraft_languages = ["tl"]\n')
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    kiosk.post("/preferences", {"lang": "tl", "next": "/"})
    page = kiosk.get("/").get_data(as_text=True)
    assert '<html lang="tl"' in page and marked("tl", "Get ready to ask for a second opinion") in page
    assert ("tl", "Tagalog") in buttons(page)
    with app.app_context():
        html = handout_html(SAMPLE_ANSWERS, language="tl", claim_code="K7P2", created_at=VISIT_DATE)
    assert '<html lang="tl"' in html and "«tl»" in html


def test_each_app_speaks_from_its_own_catalogs(app, make_app):
    """Two apps in one process, one with the shipped Vietnamese and one with a
    test's: each page comes from its own app's catalog, whichever drew first."""
    shipped = make_app()
    pages = {}
    for name, each in (("shipped", shipped), ("test", app)):
        write(each, 'languages = ["en", "vi"]\ndraft_languages = ["vi"]\n')
        kiosk = Kiosk(each.test_client())
        kiosk.get("/")
        kiosk.post("/preferences", {"lang": "vi", "next": "/"})
        pages[name] = kiosk.get("/").get_data(as_text=True)
    assert marked("vi", "Get ready to ask for a second opinion") in pages["test"]
    assert "«vi»" not in pages["shipped"]


def test_a_haitian_creole_handout_dates_itself_in_kreyol(app):
    """Babel's data for "ht" has no month names ("2026 M11 28"): the handout
    writes the date in Kreyòl, and other languages keep Babel's."""
    from kiosk.handout import handout_html

    from .conftest import SAMPLE_ANSWERS
    from .support.handout import VISIT_DATE

    with app.app_context():
        kreyol, english = (
            handout_html(SAMPLE_ANSWERS, language=tag, claim_code="K7P2", created_at=VISIT_DATE).replace(
                "\xa0", " "
            )
            for tag in ("ht", "en")
        )
    assert "28 novanm 2026" in kreyol and "M11" not in kreyol
    assert "November 28, 2026" in english
