"""print the records letter alone: what a print job prints

Revision ID: 1488141f67a9
Revises: f2afe81cb201
Create Date: 2026-11-29 01:42:19

"""

import sqlalchemy as sa
from alembic import op

revision = "1488141f67a9"
down_revision = "f2afe81cb201"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("part", sa.String(length=16), server_default="handout", nullable=False))


def downgrade():
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_column("part")
