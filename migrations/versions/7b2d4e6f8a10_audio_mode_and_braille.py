"""a visit in audio mode, and the handout in braille

Revision ID: 7b2d4e6f8a10
Revises: 6a1e3c9d4f27
Create Date: 2026-12-06 19:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7b2d4e6f8a10"
down_revision = "6a1e3c9d4f27"
branch_labels = None
depends_on = None

# Plain ALTER TABLE (see 6a1e3c9d4f27): batch mode on SQLite would copy the
# handout table and cascade-delete its print jobs.
USED_AUDIO = ("visit", "handout", "alert")


def upgrade():
    for table in USED_AUDIO:
        op.add_column(table, sa.Column("used_audio", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("handout", sa.Column("braille", sa.LargeBinary(), nullable=True))


def downgrade():
    op.drop_column("handout", "braille")
    for table in reversed(USED_AUDIO):
        op.drop_column(table, "used_audio")
