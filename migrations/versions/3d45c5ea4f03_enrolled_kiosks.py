"""enrolled kiosks: registered by an admin, enrolled by a one-time link

Revision ID: 3d45c5ea4f03
Revises: cf93b64af4f4
Create Date: 2026-11-28 19:46:46.036649

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3d45c5ea4f03"
down_revision = "cf93b64af4f4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kiosk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=False),
        sa.Column("auto_print_printer", sa.String(length=127), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_hash"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade():
    op.drop_table("kiosk")
