"""A clinic's own content, without code: instance/clinic.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk import content, create_app, fhir
from kiosk.extensions import db
from kiosk.models import Handout

from .conftest import SAMPLE_ANSWERS, Kiosk, app_config, run_worker
from .support.content import write
from .support.handout import pdf_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "instance" / "clinic.example.toml"
EXAMPLE_LOGO = ROOT / "instance" / "clinic-logo.example.svg"

PARKING = """
[bank]
[[bank.questions]]
id = "parking"
topic = "costs"
text = "Where can I park, and does it cost?"
text_es = "¿Dónde puedo estacionar y cuánto cuesta?"
"""


def problem(app) -> str:
    error = app.extensions["kiosk.content"].error
    return str(error) if error else ""


def test_the_documented_example_is_valid(app):
    shutil.copy(EXAMPLE_LOGO, Path(app.instance_path) / EXAMPLE_LOGO.name)
    write(app, EXAMPLE.read_text(encoding="utf-8"))
    assert problem(app) == ""
    with app.app_context():
        clinic = content.clinic()
        bank = content.definition().step("questions").questions[0]
    assert clinic.name == "Riverside Spine Center" and clinic.logo is not None
    assert "clinic.parking" in bank.choice_ids() and "q_exp_problems" not in bank.choice_ids()


def test_a_question_added_in_the_file_is_on_the_kiosk_the_handout_and_in_fhir(app):
    with app.test_request_context():
        built_in_version = fhir.definition_version()
    write(app, PARKING)
    assert problem(app) == ""

    kiosk = Kiosk(app.test_client())
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        assert kiosk.answer(step).status_code == 303
    page = kiosk.get("/visit/questions").get_data(as_text=True)
    assert 'value="clinic.parking"' in page and "Where can I park, and does it cost?" in page
    picked = {"questions": ["clinic.parking", "q_options_all"], "top_questions": ["clinic.parking"]}
    assert kiosk.answer("questions", picked).status_code == 303
    assert "★ Where can I park, and does it cost?" in kiosk.get("/visit/review").get_data(as_text=True)
    kiosk.finish()
    run_worker(app)
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert "Most important: Where can I park, and does it cost?" in pdf_text(handout.pdf)

    with app.test_request_context():
        questionnaire = fhir.questionnaire()
    assert questionnaire["version"] != built_in_version
    items = {i["linkId"]: i for group in questionnaire["item"] for i in group["item"]}
    codes = {
        option["valueCoding"]["code"]: option["valueCoding"] for option in items["questions"]["answerOption"]
    }
    parking = codes["clinic.parking"]
    assert parking["display"] == "Where can I park, and does it cost?"
    spanish = {
        e["url"]: e.get("valueString") or e.get("valueCode")
        for e in parking["_display"]["extension"][0]["extension"]
    }
    assert spanish == {"lang": "es", "content": "¿Dónde puedo estacionar y cuánto cuesta?"}


def test_a_clinic_question_reads_in_spanish(app):
    write(app, PARKING)
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    kiosk.post("/preferences", {"lang": "es"})
    kiosk.post("/start")
    for step in ("safety", "situation", "reasons", "records"):
        assert kiosk.answer(step).status_code == 303
    page = kiosk.get("/visit/questions").get_data(as_text=True)
    assert "¿Dónde puedo estacionar y cuánto cuesta?" in page
    assert "Where can I park" not in page


def test_hidden_built_in_questions_are_not_offered_nor_accepted(app):
    write(app, '[bank]\nhide = ["q_costs_total", "experience"]\n')
    assert problem(app) == ""
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    page = kiosk.get("/visit/questions").get_data(as_text=True)
    assert 'value="q_costs_total"' not in page and 'value="q_exp_count"' not in page
    assert 'value="q_costs_insurance"' in page
    refused = kiosk.answer("questions", {"questions": ["q_costs_total"], "top_questions": []})
    assert refused.status_code == 422


def test_clinic_text_is_text_never_html(app):
    write(app, PARKING.replace("Where can I park, and does it cost?", "Is <b>parking</b> & valet free?"))
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    page = kiosk.get("/visit/questions").get_data(as_text=True)
    assert "Is &lt;b&gt;parking&lt;/b&gt; &amp; valet free?" in page and "<b>parking" not in page


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('[clinic]\nname = "Riverside\n', 2, "not valid TOML"),
        ('[clinic]\nname = "Riverside"\nnmae = "typo"\n', 3, "unknown setting 'nmae' in [clinic]"),
        ("[clinic]\nname = 12\n", 2, "name must be text in quotes"),
        ("[colors]\nmain = 1\n", 1, "unknown setting 'colors'"),
        (PARKING.replace('topic = "costs"', 'topic = "parkng"'), 5, "there is no topic 'parkng'"),
        (PARKING.replace('id = "parking"', 'id = "Parking Lot"'), 4, "id must be a short name"),
        (PARKING + PARKING.replace("[bank]\n", ""), 10, "there is already a question with the id 'parking'"),
        (PARKING.replace('text = "Where can I park, and does it cost?"\n', ""), 3, "text is missing"),
        ('[bank]\nhide = ["q_nothing"]\n', 2, "no built-in question or topic 'q_nothing'"),
        ('[clinic]\nlogo = "missing.png"\n', 2, "logo file 'missing.png' is not in the instance folder"),
        ('[clinic]\nlogo = "../secret_key"\n', 2, "with no folder"),
        ('[welcome]\nfr = "Bonjour"\n', 2, "unknown setting 'fr' in [welcome]"),
        ('[welcome]\nen = "' + "x" * 301 + '"\n', 2, "too long: 301 letters, and the limit is 300"),
    ],
)
def test_a_mistake_is_named_with_the_file_and_line(app, text, line, says):
    write(app, text)
    assert problem(app).startswith(f"clinic.toml, line {line}: "), problem(app)
    assert says in problem(app)


@pytest.mark.parametrize(
    ("svg", "says"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "may not contain <script>",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event handlers"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x.test/a.png"/></svg>',
            "may not link",
        ),
        (b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', "DOCTYPE"),
        (b"<html></html>", "not an SVG image"),
    ],
)
def test_a_logo_that_could_do_more_than_draw_is_refused(app, svg, says):
    (Path(app.instance_path) / "logo.svg").write_bytes(svg)
    write(app, '[clinic]\nlogo = "logo.svg"\n')
    assert "line 2" in problem(app) and says in problem(app)


def test_a_broken_file_keeps_the_last_good_content_and_admins_see_why(app, desk, admin_desk):
    path = write(app, PARKING)
    write(app, PARKING.replace('topic = "costs"', 'topic = "nowhere"'))
    assert "line 5" in problem(app)
    with app.app_context():
        assert "clinic.parking" in content.definition().question("questions").choice_ids()

    page = admin_desk.get("/desk/").get_data(as_text=True)
    assert "The clinic's content file has a mistake:" in page and "clinic.toml, line 5:" in page
    assert "last good copy" in page
    assert "content file has a mistake" not in desk.get("/desk/").get_data(as_text=True)

    # A restart with the file still broken keeps the last good copy too.
    restarted = create_app(app_config(Path(app.instance_path).parent))
    assert "line 5" in problem(restarted)
    with restarted.app_context():
        assert "clinic.parking" in content.definition().question("questions").choice_ids()

    # Fixed, it is read again; removed, the built-in content is back.
    write(app, PARKING)
    assert problem(app) == ""
    path.unlink()
    content.refresh(app, force=True)
    with app.app_context():
        assert "clinic.parking" not in content.definition().question("questions").choice_ids()


def test_a_broken_file_at_first_start_runs_the_built_in_content(app):
    write(app, "[bank\n")
    assert "line 1" in problem(app)
    kiosk = Kiosk(app.test_client())
    kiosk.answer_all()
    assert kiosk.finish().status_code == 303


def test_a_change_is_seen_without_a_restart(app, monkeypatch):
    monkeypatch.setattr(content, "CHECK_EVERY", 0)
    client = app.test_client()
    write(app, '[welcome]\nen = "Hello from Riverside."\n')
    assert "Hello from Riverside." in client.get("/").get_data(as_text=True)
    path = Path(app.instance_path) / content.FILE_NAME
    path.write_text('[welcome]\nen = "Hello again, longer this time."\n', encoding="utf-8")
    assert "Hello again, longer this time." in client.get("/").get_data(as_text=True)


def test_the_logo_and_words_are_on_welcome_and_the_logo_on_the_handout(app):
    shutil.copy(EXAMPLE_LOGO, Path(app.instance_path) / "logo.svg")
    write(
        app,
        '[clinic]\nname = "Riverside Spine Center"\naddress = "12 River Road"\nlogo = "logo.svg"\n'
        '[welcome]\nen = "Welcome to Riverside."\nes = "Bienvenido a Riverside."\n',
    )
    client = app.test_client()
    welcome = client.get("/").get_data(as_text=True)
    assert 'class="clinic-logo" src="/clinic/logo" alt="Riverside Spine Center"' in welcome
    assert "Welcome to Riverside." in welcome
    logo = client.get("/clinic/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    assert "sandbox" in logo.headers["Content-Security-Policy"]

    from kiosk.handout import _laid_out, handout_html

    from .support.handout import VISIT_DATE

    with app.app_context():
        html = handout_html(SAMPLE_ANSWERS, language="en", claim_code="K7P2", created_at=VISIT_DATE)
        document = _laid_out(html)
    assert "Riverside Spine Center · 12 River Road" in html
    images = [
        box
        for page in document.pages
        for box in _boxes(page._page_box)
        if type(box).__name__ == "InlineReplacedBox"
    ]
    assert images, "the logo is drawn on the handout"


def _boxes(box):
    yield box
    for child in getattr(box, "children", []):
        yield from _boxes(child)


def test_without_a_logo_there_is_no_logo_page(client):
    assert client.get("/clinic/logo").status_code == 404


def test_a_percent_sign_in_clinic_text_is_shown_as_typed(app):
    write(
        app,
        PARKING.replace("Where can I park, and does it cost?", "Will insurance pay 100% of it, or %(x)s?"),
    )
    assert problem(app) == ""
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    response = kiosk.get("/visit/questions")
    assert response.status_code == 200
    assert "Will insurance pay 100% of it, or %(x)s?" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[bank]\nquestions = [1]\n", "line 2: each question must be a [[bank.questions]] table"),
        ('[bank]\ntopics = ["x"]\n', "line 2: each topic must be a [[bank.topics]] table"),
        (
            PARKING.replace('text = "Where can I park, and does it cost?"', 'text = "Yes"').replace(
                "¿Dónde puedo estacionar y cuánto cuesta?", "Claro"
            ),
            "line 6: the kiosk already says 'Yes' and has its own translation",
        ),
        ('[bank]\nhide = ["costs"]\n' + PARKING.replace("[bank]\n", ""), "line 2: topic 'costs' is hidden"),
        (
            '[bank]\n[[bank.topics]]\nid = "empty"\nlabel = "Nothing here"\n',
            "line 3: topic 'empty' has no questions",
        ),
    ],
)
def test_more_mistakes_are_named_not_crashed_on(app, text, says):
    write(app, text)
    assert says in problem(app), problem(app)
    assert Kiosk(app.test_client()).start().status_code == 303


def test_a_file_too_big_or_unreadable_is_a_mistake_not_a_crash(app):
    write(app, "# " + "x" * (content.FILE_MAX_BYTES + 1) + "\n")
    assert "too big" in problem(app)
    path = Path(app.instance_path) / content.FILE_NAME
    path.unlink()
    path.mkdir()
    content.refresh(app, force=True)
    assert "could not be read" in problem(app)
    assert app.test_client().get("/").status_code == 200


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: URL(http://x.test/a)"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@IMPORT "http://x.test/a.css";</style></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>',
        b'<?xml-stylesheet href="http://x.test/a.css"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
)
def test_more_logos_that_reach_out_are_refused(app, svg):
    (Path(app.instance_path) / "logo.svg").write_bytes(svg)
    write(app, '[clinic]\nlogo = "logo.svg"\n')
    assert "line 2" in problem(app)


def test_a_logo_is_served_as_it_was_checked(app):
    fine = b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(\'#g\')" width="4" height="4"/></svg>'
    logo = Path(app.instance_path) / "logo.svg"
    logo.write_bytes(fine)
    write(app, '[clinic]\nlogo = "logo.svg"\n')
    assert problem(app) == ""
    logo.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert app.test_client().get("/clinic/logo").data == fine


def test_the_last_good_copy_is_the_text_that_was_checked(app):
    write(app, PARKING)
    last_good = Path(app.instance_path) / content.LAST_GOOD_NAME
    assert last_good.read_text(encoding="utf-8") == PARKING
    assert not list(Path(app.instance_path).glob(".clinic.last-good.toml.*"))


SVG_OPEN = b'<svg xmlns="http://www.w3.org/2000/svg">'


@pytest.mark.parametrize(
    ("svg", "says"),
    [
        # A stylesheet of any kind, however harmless it looks.
        (SVG_OPEN + b"<style>rect{fill:red}</style></svg>", "may not contain <style>"),
        (SVG_OPEN + b"<style>rect{fill:u\\72l(http://x.test/a)}</style></svg>", "may not contain <style>"),
        (SVG_OPEN + b'<style>\\40import "http://x.test/a.css";</style></svg>', "may not contain <style>"),
        (SVG_OPEN + b"<STYLE>rect{fill:red}</STYLE></svg>", "may not contain <style>"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:s="http://www.w3.org/2000/svg">'
            b"<s:style>rect{fill:red}</s:style></svg>",
            "may not contain <style>",
        ),
        # CSS escapes in a style attribute spell what the check looks for.
        (SVG_OPEN + b'<rect style="fill:u\\72l(http://x.test/a)"/></svg>', "CSS escapes"),
        (SVG_OPEN + b'<rect style="fill:u\\000072 l(http://x.test/a)"/></svg>', "CSS escapes"),
        (SVG_OPEN + b'<rect style="fill:\\75rl(http://x.test/a)"/></svg>', "CSS escapes"),
        (SVG_OPEN + b"<rect style=\"\\40import 'http://x.test/a.css'\"/></svg>", "CSS escapes"),
        (SVG_OPEN + b'<rect fill="u\\rl(http://x.test/a)"/></svg>', "CSS escapes"),
        # And without escapes: anything that loads or runs.
        (SVG_OPEN + b"<rect style=\"@import 'http://x.test/a.css'\"/></svg>", "may not load"),
        (SVG_OPEN + b'<rect style="width:expression(alert(1))"/></svg>', "may not load"),
        (SVG_OPEN + b"<rect style=\"fill:image-set('http://x.test/a.png' 1x)\"/></svg>", "may not load"),
        (SVG_OPEN + b'<rect style="fill:u/**/rl(http://x.test/a)"/></svg>', "may not link"),
    ],
)
def test_a_logo_cannot_hide_styles_or_links_behind_css_escapes(app, svg, says):
    (Path(app.instance_path) / "logo.svg").write_bytes(svg)
    write(app, '[clinic]\nlogo = "logo.svg"\n')
    assert "line 2" in problem(app), svg
    assert says in problem(app), problem(app)


@pytest.mark.parametrize(
    "svg",
    [
        SVG_OPEN + b'<rect style="fill:#0b4f6c;stroke:none" width="4" height="4"/></svg>',
        SVG_OPEN + b'<rect style="fill:url(#g);opacity:0.5" width="4" height="4"/></svg>',
        SVG_OPEN + b'<rect style="fill:URL( \'#g\' )" width="4" height="4"/></svg>',
    ],
)
def test_a_logo_drawn_with_plain_style_attributes_is_taken_and_the_same_escaped_is_not(app, svg):
    logo = Path(app.instance_path) / "logo.svg"
    logo.write_bytes(svg)
    write(app, '[clinic]\nlogo = "logo.svg"\n')
    assert problem(app) == ""
    logo.write_bytes(svg.replace(b"fill:", b"fi\\6c l:"))  # "fill", spelled with an escape
    write(app, '[clinic]\nlogo = "logo.svg"\n# saved again\n')
    assert "CSS escapes" in problem(app)
