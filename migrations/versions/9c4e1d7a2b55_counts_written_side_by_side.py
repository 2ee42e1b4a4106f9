"""counts written side by side: a count may be in several rows until the purge folds them

Revision ID: 9c4e1d7a2b55
Revises: 9c4e7a1d2b36
Create Date: 2026-12-06 16:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c4e1d7a2b55"
down_revision = "9c4e7a1d2b36"
branch_labels = None
depends_on = None

KEY = ["day", "kiosk", "metric", "step", "bucket"]
# SQLite's copy of the table has the constraint unnamed: name it to drop it.
NAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade():
    unique = next(
        u for u in sa.inspect(op.get_bind()).get_unique_constraints("daily_count") if u["column_names"] == KEY
    )
    with op.batch_alter_table("daily_count", naming_convention=NAMED) as batch_op:
        batch_op.drop_constraint(unique["name"] or "uq_daily_count_day", type_="unique")
        batch_op.create_index("ix_daily_count_key", KEY, unique=False)


def downgrade():
    bind = op.get_bind()
    counts = sa.table(
        "daily_count",
        *(sa.column(name) for name in KEY),
        sa.column("count"),
    )
    key = [counts.c[name] for name in KEY]
    folded = bind.execute(sa.select(*key, sa.func.sum(counts.c.count)).group_by(*key)).all()
    bind.execute(sa.delete(counts))
    if folded:
        bind.execute(
            sa.insert(counts), [{**dict(zip(KEY, row[:-1], strict=True)), "count": row[-1]} for row in folded]
        )
    with op.batch_alter_table("daily_count", naming_convention=NAMED) as batch_op:
        batch_op.drop_index("ix_daily_count_key")
        batch_op.create_unique_constraint("uq_daily_count_day", KEY)
