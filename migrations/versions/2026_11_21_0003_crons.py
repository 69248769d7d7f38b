"""crons

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:35:29.133650
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crons",
        sa.Column("cron_id", sa.UUID(), nullable=False),
        sa.Column("assistant_id", sa.UUID(), nullable=False),
        sa.Column("thread_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("on_run_completed", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "on_run_completed IS NULL OR on_run_completed IN ('delete', 'keep')",
            name=op.f("ck_crons_on_run_completed_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["assistant_id"], ["assistants.assistant_id"], name=op.f("fk_crons_assistant_id_assistants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.thread_id"], name=op.f("fk_crons_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cron_id", name=op.f("pk_crons")),
    )
    op.create_index(op.f("ix_crons_assistant_id"), "crons", ["assistant_id"], unique=False)
    op.create_index(op.f("ix_crons_created_at"), "crons", ["created_at"], unique=False)
    op.create_index("ix_crons_due", "crons", ["next_run_date"], unique=False, postgresql_where=sa.text("enabled"))
    op.create_index(
        "ix_crons_metadata_gin",
        "crons",
        ["metadata"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"metadata": "jsonb_path_ops"},
    )
    op.create_index(op.f("ix_crons_thread_id"), "crons", ["thread_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crons_thread_id"), table_name="crons")
    op.drop_index("ix_crons_metadata_gin", table_name="crons", postgresql_using="gin",
                  postgresql_ops={"metadata": "jsonb_path_ops"})
    op.drop_index("ix_crons_due", table_name="crons", postgresql_where=sa.text("enabled"))
    op.drop_index(op.f("ix_crons_created_at"), table_name="crons")
    op.drop_index(op.f("ix_crons_assistant_id"), table_name="crons")
    op.drop_table("crons")
