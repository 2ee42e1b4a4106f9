"""known browsers and normalised passwords

Revision ID: 9c4e7a1d2b36
Revises: 9c41d7e2b8a3
Create Date: 2026-12-06 16:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c4e7a1d2b36"
down_revision = "9c41d7e2b8a3"
branch_labels = None
depends_on = None


def upgrade():
    # Existing hashes were made from the password as typed: false until re-hashed.
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_normalised", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=32), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.drop_column("device")
    # In place, not batch mode: on SQLite batch mode copies the staff table and
    # drops the old one, which would end every desk session with it (ON DELETE
    # CASCADE). SQLite drops a column in place since 3.35.
    op.drop_column("staff", "password_normalised")
