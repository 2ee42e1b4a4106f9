"""which printers are braille embossers

Revision ID: d5e8a2c4f601
Revises: 7b2d4e6f8a10
Create Date: 2026-12-06 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d5e8a2c4f601"
down_revision = "7b2d4e6f8a10"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("printer", sa.Column("embosser", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column("printer", "embosser")
