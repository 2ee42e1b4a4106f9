"""alert reports: each red-flag report stored once, by the key the kiosk page made

Revision ID: 9c41d7e2b8a3
Revises: 9c4e2d7b1a38
Create Date: 2026-12-06 16:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c41d7e2b8a3"
down_revision = "9c4e2d7b1a38"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_report",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("alert_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_report_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_report_created_at"), ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("alert_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_report_created_at"))
        batch_op.drop_index(batch_op.f("ix_alert_report_alert_id"))
    op.drop_table("alert_report")
