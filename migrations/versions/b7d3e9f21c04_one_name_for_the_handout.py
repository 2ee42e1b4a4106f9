"""one name for the handout: the submission table is now handout

Revision ID: b7d3e9f21c04
Revises: ae502a60cb97
Create Date: 2026-11-29 01:40:00

"""

from alembic import op

revision = "b7d3e9f21c04"
down_revision = "ae502a60cb97"
branch_labels = None
depends_on = None

INDEXES = (("claim_code", True), ("created_at", False), ("state", False), ("lease_until", False))


def _rename(old: str, new: str) -> None:
    for column, _unique in INDEXES:
        op.drop_index(f"ix_{old}_{column}", table_name=old)
    op.rename_table(old, new)
    for column, unique in INDEXES:
        op.create_index(f"ix_{new}_{column}", new, [column], unique=unique)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_index(f"ix_print_job_{old}_id")
        batch_op.alter_column(f"{old}_id", new_column_name=f"{new}_id")
    op.create_index(f"ix_print_job_{new}_id", "print_job", [f"{new}_id"], unique=False)


def upgrade():
    _rename("submission", "handout")


def downgrade():
    _rename("handout", "submission")
