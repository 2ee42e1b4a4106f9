"""background work: handout and print job states, leases, printers, worker beats

Handouts get a state (existing ones are ready: their PDF was made when the
patient finished). Print jobs that waited for the print server were stored
as failed with a sentence saying so; they get a state of their own.

Revision ID: 5d2a7c1e9b40
Revises: c3bee638243a
Create Date: 2026-11-28 19:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5d2a7c1e9b40"
down_revision = "c3bee638243a"
branch_labels = None
depends_on = None

# The sentence a waiting job carried before it had a state of its own.
OLD_WAITING_REASON = (
    "The print server is not running or cannot be reached. "
    "This handout will be sent again by itself when it is back, or tap Retry."
)


def _lease_columns(batch_op) -> None:
    batch_op.add_column(sa.Column("lease_owner", sa.String(length=120), nullable=True))
    batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
    batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    batch_op.create_index(
        batch_op.f(f"ix_{batch_op.impl.table_name}_lease_until"), ["lease_until"], unique=False
    )


def upgrade():
    op.create_table(
        "printer",
        sa.Column("name", sa.String(length=127), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "worker_beat",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("worker_beat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_beat_seen_at"), ["seen_at"], unique=False)

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.Enum("preparing", "ready", "failed", name="handoutstate", native_enum=False, length=16),
                nullable=False,
                server_default="ready",
            )
        )
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(), nullable=True))
        _lease_columns(batch_op)
        batch_op.create_index(batch_op.f("ix_submission_state"), ["state"], unique=False)

    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_title", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("check_after", sa.DateTime(), nullable=True))
        _lease_columns(batch_op)
        batch_op.create_index(batch_op.f("ix_print_job_check_after"), ["check_after"], unique=False)

    submission = sa.table(
        "submission", sa.column("ready_at", sa.DateTime), sa.column("created_at", sa.DateTime)
    )
    op.execute(submission.update().values(ready_at=submission.c.created_at))
    job = sa.table(
        "print_job",
        sa.column("state", sa.String),
        sa.column("reason", sa.Text),
        sa.column("requested_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
        sa.column("check_after", sa.DateTime),
    )
    op.execute(job.update().values(requested_at=job.c.updated_at))
    op.execute(
        job.update()
        .where(job.c.state == "failed", job.c.reason == OLD_WAITING_REASON)
        .values(state="waiting", check_after=job.c.updated_at)
    )
    # Jobs at the printer are looked at by the worker from now on.
    op.execute(
        job.update().where(job.c.state.in_(("sent", "printing", "held"))).values(check_after=job.c.updated_at)
    )

    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.alter_column("requested_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("attempts", server_default=None)
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)
        batch_op.alter_column("error", server_default=None)
        batch_op.alter_column("attempts", server_default=None)


def downgrade():
    job = sa.table("print_job", sa.column("state", sa.String), sa.column("reason", sa.Text))
    op.execute(job.update().where(job.c.state == "waiting").values(state="failed", reason=OLD_WAITING_REASON))
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_job_lease_until"))
        batch_op.drop_index(batch_op.f("ix_print_job_check_after"))
        for column in ("attempts", "lease_until", "lease_owner", "check_after", "requested_at", "sent_title"):
            batch_op.drop_column(column)
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_state"))
        batch_op.drop_index(batch_op.f("ix_submission_lease_until"))
        for column in ("attempts", "lease_until", "lease_owner", "ready_at", "error", "state"):
            batch_op.drop_column(column)
    with op.batch_alter_table("worker_beat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_beat_seen_at"))
    op.drop_table("worker_beat")
    op.drop_table("printer")
