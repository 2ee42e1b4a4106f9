"""daily counts for the statistics page

Revision ID: f2afe81cb201
Revises: b7d3e9f21c04
Create Date: 2026-11-29 01:25:09.466193

"""

import sqlalchemy as sa
from alembic import op

revision = "f2afe81cb201"
down_revision = "b7d3e9f21c04"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "daily_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kiosk", sa.String(length=80), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "kiosk", "metric", "step", "bucket"),
    )


def downgrade():
    op.drop_table("daily_count")
