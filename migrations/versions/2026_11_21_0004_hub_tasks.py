"""the hub's task manager: tasks, tags, history, dependencies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _task_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["tasks.id"], name=op.f(f"fk_{table}_{column}_tasks"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("acceptance_criteria", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=50), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("priority", sa.String(length=20), server_default=sa.text("'normal'"), nullable=False),
        sa.Column("urgency", sa.String(length=20), server_default=sa.text("'normal'"), nullable=False),
        sa.Column("complexity", sa.String(length=20), server_default=sa.text("'simple'"), nullable=False),
        sa.Column("queue", sa.String(length=100), server_default=sa.text("'default'"), nullable=False),
        sa.Column("parent_task_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.String(length=50), server_default=sa.text("'user'"), nullable=False),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column("due_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("defer_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_summary", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("complexity IN ('simple', 'moderate', 'complex')", name=op.f("ck_tasks_complexity_valid")),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'critical')", name=op.f("ck_tasks_priority_valid")),
        sa.CheckConstraint(
            "source IN ('user', 'host_agent', 'gateway', 'workflow', 'system')", name=op.f("ck_tasks_source_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'review', 'done', 'cancelled')", name=op.f("ck_tasks_status_valid")
        ),
        sa.CheckConstraint("urgency IN ('low', 'normal', 'high', 'critical')", name=op.f("ck_tasks_urgency_valid")),
        sa.CheckConstraint("parent_task_id <> id", name=op.f("ck_tasks_not_own_parent")),
        _task_fk("parent_task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_created_at_desc", "tasks", [sa.literal_column("created_at DESC")], unique=False)
    op.create_index(op.f("ix_tasks_parent_task_id"), "tasks", ["parent_task_id"], unique=False)
    op.create_index(op.f("ix_tasks_priority"), "tasks", ["priority"], unique=False)
    op.create_index(op.f("ix_tasks_queue"), "tasks", ["queue"], unique=False)
    op.create_index(op.f("ix_tasks_status"), "tasks", ["status"], unique=False)
    op.create_index(op.f("ix_tasks_status_queue"), "tasks", ["status", "queue"], unique=False)
    op.create_index(op.f("ix_tasks_urgency"), "tasks", ["urgency"], unique=False)

    op.create_table(
        "task_tags",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("color", sa.String(length=7), nullable=True),
        _created_at(),
        sa.CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name=op.f("ck_task_tags_color_hex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_task_tags_name")),
    )
    op.create_table(
        "task_tag_associations",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("tag_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["task_tags.id"], name=op.f("fk_task_tag_associations_tag_id_task_tags"), ondelete="CASCADE"
        ),
        _task_fk("task_id", "task_tag_associations"),
        sa.PrimaryKeyConstraint("task_id", "tag_id", name=op.f("pk_task_tag_associations")),
    )
    op.create_index(op.f("ix_task_tag_associations_tag_id"), "task_tag_associations", ["tag_id"], unique=False)

    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("depends_on_task_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default=sa.text("'blocks'"), nullable=False),
        _created_at(),
        sa.CheckConstraint("kind IN ('blocks', 'related')", name=op.f("ck_task_dependencies_kind_valid")),
        sa.CheckConstraint("task_id <> depends_on_task_id", name=op.f("ck_task_dependencies_not_self")),
        _task_fk("depends_on_task_id", "task_dependencies"),
        _task_fk("task_id", "task_dependencies"),
        sa.PrimaryKeyConstraint("task_id", "depends_on_task_id", name=op.f("pk_task_dependencies")),
    )
    op.create_index(
        op.f("ix_task_dependencies_depends_on_task_id"), "task_dependencies", ["depends_on_task_id"], unique=False
    )

    op.create_table(
        "task_history",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("previous_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("assigned_agent", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "event_type IN ('created', 'status_change', 'assignment', 'queue_change', 'priority_change', "
            "'urgency_change', 'complexity_change', 'field_change', 'comment')",
            name=op.f("ck_task_history_event_type_valid"),
        ),
        _task_fk("task_id", "task_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_history")),
    )
    op.create_index(op.f("ix_task_history_assigned_agent"), "task_history", ["assigned_agent"], unique=False)
    op.create_index(op.f("ix_task_history_event_type"), "task_history", ["event_type"], unique=False)
    op.create_index(
        op.f("ix_task_history_task_id_created_at"), "task_history", ["task_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("task_history")
    op.drop_table("task_dependencies")
    op.drop_table("task_tag_associations")
    op.drop_table("task_tags")
    op.drop_table("tasks")
