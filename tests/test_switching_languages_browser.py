"""A patient switching languages midway loses nothing, from any of the ten
to any other: one visit, at the touchscreen, that takes every ordered pair of
languages once (90 switches), each checked for the answers saved on earlier
steps and for what was tapped and typed on this one and not yet saved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk import languages
from kiosk.extensions import db
from kiosk.models import Visit

from .support.content import write

pytestmark = pytest.mark.browser

TAGS = list(languages.NAMES)
DRAFTS = [tag for tag in TAGS if tag not in languages.DEFAULT]
ALL_TEN = "languages = [{}]\ndraft_languages = [{}]\n".format(
    ", ".join(f'"{tag}"' for tag in TAGS), ", ".join(f'"{tag}"' for tag in DRAFTS)
)
TYPED = "Mi hermana: 山田, 42 años — مرحبا"


def every_ordered_pair(tags: list[str]) -> list[str]:
    """A route through the languages, starting and ending on the first, that
    goes from each to each other exactly once (an Eulerian circuit of the
    complete directed graph, by Hierholzer's algorithm)."""
    left = {tag: [other for other in reversed(tags) if other != tag] for tag in tags}
    stack, route = [tags[0]], []
    while stack:
        if left[stack[-1]]:
            stack.append(left[stack[-1]].pop())
        else:
            route.append(stack.pop())
    return route[::-1]


def test_the_route_takes_every_ordered_pair_once():
    route = every_ordered_pair(TAGS)
    pairs = list(zip(route, route[1:], strict=False))
    assert len(pairs) == len(TAGS) * (len(TAGS) - 1) == len(set(pairs))
    assert all(a != b for a, b in pairs) and route[0] == route[-1] == TAGS[0]


def saved(app) -> tuple[dict, str]:
    with app.app_context():
        visit = db.session.scalars(select(Visit)).one()
        return dict(visit.answers), visit.language


def test_switching_between_any_two_languages_midway_keeps_every_answer(open_kiosk):
    kiosk, patient = open_kiosk(walk_up=False)
    write(kiosk.app, ALL_TEN)
    assert kiosk.app.extensions["kiosk.content"].error is None
    patient.walks_up()
    page = patient.page
    patient.taps_start()
    patient.answers_safety()
    patient.taps_choice("spine_region", "neck")
    patient.taps_choice("first_recommendation", "injections")
    patient.taps_choice("confidence", "3")
    patient.taps_next()
    expect(page).to_have_url(re.compile(r"/visit/reasons$"))
    patient.taps_choice("reasons", "unsure_surgery")
    patient.taps_choice("reasons", "risks")
    patient.taps_next()
    expect(page).to_have_url(re.compile(r"/visit/records$"))
    page.locator("#screen .nav .back").tap()
    expect(page).to_have_url(re.compile(r"/visit/reasons$"))
    before, _ = saved(kiosk.app)
    assert before["reasons"] == ["unsure_surgery", "risks"] and before["spine_region"] == "neck"

    # Not saved: one saved answer untapped, another tapped, words typed.
    page.locator('label.choice:has(input[name="reasons"][value="risks"])').tap()
    patient.taps_choice("reasons", "other")
    page.locator("#reasons_other").fill(TYPED)

    route = every_ordered_pair(TAGS)
    for here, there in zip(route, route[1:], strict=False):
        page.locator(".language-menu > summary").tap()
        page.locator(f'.language-settings button[value="{there}"]').tap()
        expect(page.locator("html")).to_have_attribute("lang", there)
        where = f"from {here} to {there}"
        assert re.search(r"/visit/reasons$", page.url), where
        expect(page.locator('input[name="reasons"][value="unsure_surgery"]')).to_be_checked()
        expect(page.locator('input[name="reasons"][value="risks"]')).not_to_be_checked()
        expect(page.locator('input[name="reasons"][value="other"]')).to_be_checked()
        expect(page.locator("#reasons_other")).to_have_value(TYPED)
        answers, language = saved(kiosk.app)
        assert (answers, language) == (before, there), where

    # Saved now, in the last language: the earlier step's answers are there too.
    patient.taps_next()
    expect(page).to_have_url(re.compile(r"/visit/records$"))
    answers, _ = saved(kiosk.app)
    assert answers["reasons"] == ["unsure_surgery", "other"] and answers["reasons_other"] == TYPED
    assert {k: answers[k] for k in ("spine_region", "first_recommendation", "confidence")} == {
        "spine_region": "neck",
        "first_recommendation": ["injections"],
        "confidence": "3",
    }
    patient.expect_no_blocked_or_broken_scripts()
