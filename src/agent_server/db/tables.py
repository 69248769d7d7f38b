"""Every table the server owns (Alembic migrates these; the checkpointer and store own theirs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

THREAD_STATUSES = ("idle", "busy", "interrupted", "error")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Assistant(Base):
    __tablename__ = "assistants"

    assistant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    graph_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    context: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", nullable=False, server_default=text("'{}'::jsonb")
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        Index(None, "graph_id"),
        Index(None, "created_at"),
        Index("ix_assistants_metadata_gin", "metadata", postgresql_using="gin",
              postgresql_ops={"metadata": "jsonb_path_ops"}),
    )


class AssistantVersion(Base):
    __tablename__ = "assistant_versions"

    assistant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistants.assistant_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    graph_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    context: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", nullable=False, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = _created_at()


class Thread(Base):
    __tablename__ = "threads"

    thread_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", nullable=False, server_default=text("'{}'::jsonb")
    )
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'idle'"))
    values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    interrupts: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    config: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(
            "status IN ('idle', 'busy', 'interrupted', 'error')", name="status_valid"
        ),
        Index(None, "status"),
        Index(None, "created_at"),
        Index("ix_threads_metadata_gin", "metadata", postgresql_using="gin",
              postgresql_ops={"metadata": "jsonb_path_ops"}),
    )


RUN_STATUSES = ("pending", "running", "success", "error", "timeout", "interrupted")
ACTIVE_RUN_STATUSES = ("pending", "running")


class Run(Base):
    """A run is a durable job: inserting the row enqueues it; workers claim it with SKIP LOCKED."""

    __tablename__ = "runs"

    run_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("threads.thread_id", ondelete="CASCADE"), nullable=False
    )
    assistant_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", nullable=False, server_default=text("'{}'::jsonb")
    )
    kwargs: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    multitask_strategy: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'enqueue'"))
    due_at: Mapped[datetime] = _created_at()
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    worker_id: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_action: Mapped[str | None] = mapped_column(Text)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'success', 'error', 'timeout', 'interrupted')", name="status_valid"
        ),
        CheckConstraint("cancel_action IS NULL OR cancel_action IN ('interrupt', 'rollback')",
                        name="cancel_action_valid"),
        Index("uq_runs_one_running_per_thread", "thread_id", unique=True,
              postgresql_where=text("status = 'running'")),
        Index("ix_runs_pending_due", "due_at", "created_at", postgresql_where=text("status = 'pending'")),
        # The claim's order: it walks the queue oldest first and stops at its limit instead of reading it all.
        Index("ix_runs_pending_order", "created_at", "run_id", postgresql_where=text("status = 'pending'")),
        Index(None, "thread_id", "created_at"),
        Index("ix_runs_running_lease", "lease_expires_at", postgresql_where=text("status = 'running'")),
    )


class RunEvent(Base):
    """The bounded cross-process event log of streamed runs (only with the Postgres broker)."""

    __tablename__ = "run_events"

    run_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (Index(None, "created_at"),)


class Cron(Base):
    """A schedule that creates a run each tick: on its thread, or on a new thread when `thread_id` is null."""

    __tablename__ = "crons"

    cron_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    assistant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistants.assistant_id", ondelete="CASCADE"), nullable=False
    )
    thread_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("threads.thread_id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(Text, nullable=False)
    timezone: Mapped[str | None] = mapped_column(Text)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_run_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", nullable=False, server_default=text("'{}'::jsonb")
    )
    on_run_completed: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("on_run_completed IS NULL OR on_run_completed IN ('delete', 'keep')",
                        name="on_run_completed_valid"),
        Index("ix_crons_due", "next_run_date", postgresql_where=text("enabled")),
        Index(None, "assistant_id"),
        Index(None, "thread_id"),
        Index(None, "created_at"),
        Index("ix_crons_metadata_gin", "metadata", postgresql_using="gin",
              postgresql_ops={"metadata": "jsonb_path_ops"}),
    )


# The tables themselves, for Core statements that skip the ORM's bulk-DML and ORM-enabled select paths (they cost
# more than the statements). Declarative types `__table__` as any FromClause; these classes are mapped to Tables.
runs_table = cast(Table, Run.__table__)
threads_table = cast(Table, Thread.__table__)
