"""an index on the queue in the claim's order

Without it, every claim read all pending runs twice (hash anti-joins) before sorting them: with 400 runs queued
behind running ones (bench background: 100 threads x 5 runs) a claim cost 1-6 ms of database time, and the
claims ~40 % of the database's CPU. Walking this index, the claim stops at its limit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_runs_pending_order", "runs", ["created_at", "run_id"], unique=False,
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_runs_pending_order", table_name="runs", postgresql_where=sa.text("status = 'pending'"))
