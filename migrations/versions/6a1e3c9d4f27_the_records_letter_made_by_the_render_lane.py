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


def upgrade():
    with op.batch_alter_table("handout", schema=None) as batch_op:
        batch_op.add_column(sa.Column("letter_pdf", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("handout", schema=None) as batch_op:
        batch_op.drop_column("letter_pdf")
