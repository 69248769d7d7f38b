"""The task manager's tables: tasks (with subtasks), tags, dependency edges and the history of every change.

`task_history.assigned_agent` is plain text (a worker id or an agent's name), not a foreign key: the agents
table (`configured_agents`) comes in a later migration, and a worker that claims a task need not be one of them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from agent_server.db.tables import Base

TASK_STATUSES = ("pending", "in_progress", "review", "done", "cancelled")
LEVELS = ("low", "normal", "high", "critical")
COMPLEXITIES = ("simple", "moderate", "complex")
SOURCES = ("user", "host_agent", "gateway", "workflow", "system")
DEPENDENCY_KINDS = ("blocks", "related")
HISTORY_EVENTS = (
    "created", "status_change", "assignment", "queue_change", "priority_change", "urgency_change",
    "complexity_change", "field_change", "comment",
)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression: `column IN (...)`."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _timestamp() -> Mapped[datetime | None]:
    return mapped_column(DateTime(timezone=True))


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    acceptance_criteria: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(50), nullable=False, server_default=text("'pending'"))
    priority: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'normal'"))
    urgency: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'normal'"))
    complexity: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'simple'"))
    queue: Mapped[str] = mapped_column(String(100), nullable=False, server_default=text("'default'"))
    parent_task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(50), nullable=False, server_default=text("'user'"))
    external_ref: Mapped[str | None] = mapped_column(String(255))
    due_date: Mapped[datetime | None] = _timestamp()
    defer_until: Mapped[datetime | None] = _timestamp()
    completed_at: Mapped[datetime | None] = _timestamp()
    result_summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(one_of("status", TASK_STATUSES), name="status_valid"),
        CheckConstraint(one_of("priority", LEVELS), name="priority_valid"),
        CheckConstraint(one_of("urgency", LEVELS), name="urgency_valid"),
        CheckConstraint(one_of("complexity", COMPLEXITIES), name="complexity_valid"),
        CheckConstraint(one_of("source", SOURCES), name="source_valid"),
        CheckConstraint("parent_task_id <> id", name="not_own_parent"),
        Index(None, "status"),
        Index(None, "queue"),
        Index(None, "status", "queue"),
        Index(None, "priority"),
        Index(None, "urgency"),
        Index(None, "parent_task_id"),
        Index("ix_tasks_created_at_desc", text("created_at DESC")),
    )


class TaskTag(Base):
    __tablename__ = "task_tags"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    color: Mapped[str | None] = mapped_column(String(7))
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name="color_hex"),)


class TaskTagAssociation(Base):
    __tablename__ = "task_tag_associations"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_tags.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index(None, "tag_id"),)


class TaskDependency(Base):
    """An edge from a task to one it depends on: `blocks` (the other must be closed first) or `related`."""

    __tablename__ = "task_dependencies"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    depends_on_task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'blocks'"))
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(one_of("kind", DEPENDENCY_KINDS), name="kind_valid"),
        CheckConstraint("task_id <> depends_on_task_id", name="not_self"),
        Index(None, "depends_on_task_id"),
    )


class TaskHistory(Base):
    """One change to a task, written in the transaction that made it."""

    __tablename__ = "task_history"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    field: Mapped[str | None] = mapped_column(String(50))
    previous_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    assigned_agent: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(one_of("event_type", HISTORY_EVENTS), name="event_type_valid"),
        Index(None, "task_id", "created_at"),
        Index(None, "assigned_agent"),
        Index(None, "event_type"),
    )
