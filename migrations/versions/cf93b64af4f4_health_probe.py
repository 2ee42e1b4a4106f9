"""health probe: /healthz proves the database accepts a write

Revision ID: cf93b64af4f4
Revises: 42143fe74684
Create Date: 2026-11-28 19:41:47.495639

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "cf93b64af4f4"
down_revision = "42143fe74684"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "health_probe",
        sa.Column("host", sa.String(length=120), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )


def downgrade():
    op.drop_table("health_probe")
