"""one list of warning signs; the support step joins the records step

The safety check was nine yes/no answers, one per sign; it is now one answer,
the list of signs reported (or "none"). Visits stored the old way are moved
over, so a visit in progress or a handout still to render reads the same. The
support step is no longer a step of its own; a visit that answered records
but not yet who comes along is asked on the records step.

Revision ID: 8b1f0e6a2c57
Revises: 3d45c5ea4f03
Create Date: 2026-11-28 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "8b1f0e6a2c57"
down_revision = "3d45c5ea4f03"
branch_labels = None
depends_on = None

SIGNS = (
    "bladder",
    "bowel",
    "saddle_numbness",
    "leg_weakness",
    "hands_or_shock",
    "injury",
    "fever",
    "cancer",
    "weight_loss",
)
QUESTION = "warning_signs"

visit = sa.table(
    "visit",
    sa.column("id", sa.String),
    sa.column("answers", sa.JSON),
    sa.column("completed_steps", sa.JSON),
)


def upgrade():
    connection = op.get_bind()
    for row in connection.execute(sa.select(visit.c.id, visit.c.answers, visit.c.completed_steps)).all():
        answers = dict(row.answers or {})
        steps = list(row.completed_steps or [])
        if not any(sign in answers for sign in SIGNS) and "support" not in steps:
            continue
        if any(sign in answers for sign in SIGNS):
            reported = [sign for sign in SIGNS if answers.pop(sign, None) == "yes"]
            answers[QUESTION] = reported or ["none"]
        steps = [step for step in steps if step != "support"]
        connection.execute(
            visit.update().where(visit.c.id == row.id).values(answers=answers, completed_steps=steps)
        )


def downgrade():
    connection = op.get_bind()
    for row in connection.execute(sa.select(visit.c.id, visit.c.answers, visit.c.completed_steps)).all():
        answers = dict(row.answers or {})
        if QUESTION not in answers:
            continue
        reported = answers.pop(QUESTION) or []
        for sign in SIGNS:
            # "some" (not said which) has no per-sign form: every sign stays unanswered.
            if "some" not in reported:
                answers[sign] = "yes" if sign in reported else "no"
        steps = list(row.completed_steps or [])
        if "records" in steps and "support" not in steps:
            steps.append("support")
        connection.execute(
            visit.update().where(visit.c.id == row.id).values(answers=answers, completed_steps=steps)
        )
