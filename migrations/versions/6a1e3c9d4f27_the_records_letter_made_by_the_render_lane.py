"""the records letter printed alone is made by the render lane and stored

Revision ID: 6a1e3c9d4f27
Revises: 9c4e1d7a2b55
Create Date: 2026-12-06 17:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "6a1e3c9d4f27"
down_revision = "9c4e1d7a2b55"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite batch mode copies the handout
# table and drops the old one, which would delete every print job with it
# (ON DELETE CASCADE). SQLite adds and drops a column in place since 3.35.


def upgrade():
    op.add_column("handout", sa.Column("letter_pdf", sa.LargeBinary(), nullable=True))


def downgrade():
    op.drop_column("handout", "letter_pdf")
