"""A patient's finished visit, as the front desk finds it."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Handout

from ..conftest import Kiosk, run_worker


def finished_visit(app, *, ready: bool = True, **answers) -> Handout:
    """A patient's finished visit; `ready`: the worker has made its handout."""
    kiosk = Kiosk(app.test_client())
    kiosk.answer_all(answers or None)
    kiosk.finish()
    if ready:
        run_worker(app)
    with app.app_context():
        return db.session.scalars(select(Handout).order_by(Handout.id.desc())).first()
