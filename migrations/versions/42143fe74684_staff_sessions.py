"""staff sessions kept on the server, so that signing out ends them

Signed-in desks are signed out by this upgrade (their cookies named a
password version, which is gone).

Revision ID: 42143fe74684
Revises: 5d2a7c1e9b40
Create Date: 2026-11-28 19:36:00.697850

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "42143fe74684"
down_revision = "5d2a7c1e9b40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_session_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("session_version")


def downgrade():
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.INTEGER(), nullable=False, server_default="1"))

    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_staff_id"))
        batch_op.drop_index(batch_op.f("ix_staff_session_ended_at"))

    op.drop_table("staff_session")
