"""visit closed_at: when its kiosk moved on from a finished visit

Revision ID: 9c4e2d7b1a38
Revises: 1488141f67a9
Create Date: 2026-12-06 16:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c4e2d7b1a38"
down_revision = "1488141f67a9"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite batch mode copies the visit
# table and drops the old one, which would delete every handout with it
# (ON DELETE CASCADE). SQLite adds and drops a column in place since 3.35.


def upgrade():
    op.add_column("visit", sa.Column("closed_at", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("visit", "closed_at")
