"""What a handout costs to render: each page is laid out once.

The footer's "Page N of M" (``counter(pages)``) may make WeasyPrint lay the
pages out again once it knows how many there are; the handout is made so
that it never needs to. Counted, not timed: call counts hold on a busy
machine. (A profiler's count of ``layout_document`` is no guide: it counts
each page the generator yields as a call.)
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import weasyprint.layout as layout
import weasyprint.layout.page as page

from kiosk.handout import handout_pdf

from .support.handout import long_visit


@pytest.fixture
def laid_out(monkeypatch) -> Counter:
    calls: Counter = Counter()

    def counted(module, name):
        original = getattr(module, name)

        def count(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, count)

    counted(layout, "make_all_pages")  # one pass over the document
    counted(page, "make_page")  # one page laid out
    return calls


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("visit", ["typical", "long"])
def test_each_page_of_a_handout_is_laid_out_once(app, sample_answers, laid_out, language, paper, visit):
    answers = long_visit(sample_answers) if visit == "long" else sample_answers
    with app.app_context():
        _, pages = handout_pdf(
            answers,
            language=language,
            claim_code="K7P2",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
            paper=paper,
        )
    assert pages >= 2
    assert laid_out == {"make_all_pages": 1, "make_page": pages}
