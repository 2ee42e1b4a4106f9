"""visit draft: what was on screen when the patient switched language

Revision ID: ae502a60cb97
Revises: 8b1f0e6a2c57
Create Date: 2026-11-28 23:08:54

"""

import sqlalchemy as sa
from alembic import op

revision = "ae502a60cb97"
down_revision = "8b1f0e6a2c57"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("draft")
