"""Claiming work from the database, so that any number of workers on any
number of hosts never do one job twice.

A job is a row (a handout to render, a print job to send or follow) with the
columns of ``models.Leased``. A worker claims one by writing its name and a
lease expiry into it with a conditional ``UPDATE``: of two workers racing for
the same row, the database lets exactly one change it. On PostgreSQL the
candidate is also picked with ``SELECT ... FOR UPDATE SKIP LOCKED``, so that
racing workers take different rows instead of queueing behind one another.

A worker that dies mid-job (killed while rendering, or while `lp` runs)
leaves its lease behind; once it expires the row can be claimed again, and
the job's own code decides how to pick up safely (see ``print_jobs.send``).
Results are written only ``while_held``: a worker whose lease has run out
and been taken over writes nothing.

Every lane takes its work the same way, ``claim_and_act``: claim one row,
then act on it holding the lease.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select, update

from .extensions import db
from .models import utcnow

Row = TypeVar("Row")


def is_free(model: Any, now: datetime) -> ColumnElement[bool]:
    """Not claimed, or claimed by a worker whose lease has run out."""
    return or_(model.lease_until.is_(None), model.lease_until < now)


def claim(
    model: type[Row],
    *conditions: ColumnElement[bool],
    owner: str,
    seconds: float,
    order_by: Any,
    count_attempt: bool = True,
) -> Row | None:
    """Claim the first row of `model` that meets `conditions` and is free.

    Returns the row, loaded afresh, or None when there is nothing to do."""
    for _ in range(5):  # another worker may take the row between our two statements
        now = utcnow()
        candidate = select(model.id).where(*conditions, is_free(model, now)).order_by(order_by).limit(1)
        if db.engine.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        row_id = db.session.scalar(candidate)
        if row_id is None:
            db.session.rollback()
            return None
        values: dict[str, Any] = {"lease_owner": owner, "lease_until": now + timedelta(seconds=seconds)}
        if count_attempt:
            values["attempts"] = model.attempts + 1
        claimed = db.session.execute(
            update(model)
            .where(model.id == row_id, *conditions, is_free(model, now))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            row = db.session.get(model, row_id, populate_existing=True)
            if row is not None:
                return row
    return None


def claim_and_act(
    model: type[Row],
    *conditions: ColumnElement[bool],
    act: Callable[[Row, str], bool | None],
    owner: str,
    seconds: float,
    order_by: Any,
    count_attempt: bool = True,
) -> bool | None:
    """Claim the first free row of `model` that meets `conditions` (see
    ``claim``) and `act` on it as `owner`; the act writes its results
    ``while_held``. None when there was nothing to do; else whether the lane
    may carry on: False from the act (the print server did not answer, say)
    stops the round."""
    row = claim(
        model, *conditions, owner=owner, seconds=seconds, order_by=order_by, count_attempt=count_attempt
    )
    if row is None:
        return None
    return act(row, owner) is not False


def while_held(model: Any, row_id: Any, owner: str, *, release: bool = True, **values: Any) -> bool:
    """Write `values` into a claimed row, and release it unless told not to,
    only if `owner` still holds it. Not committed: the caller commits, with
    whatever else belongs to the same outcome. Returns whether it was written."""
    if release:
        values.update(lease_owner=None, lease_until=None)
    written = db.session.execute(
        update(model)
        .where(model.id == row_id, model.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return written == 1
