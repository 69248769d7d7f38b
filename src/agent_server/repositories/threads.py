"""SQL for threads, plus the one statement set that copies a thread's checkpoints inside our transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from sqlalchemy import ColumnElement, bindparam, cast, delete, exists, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.engine import DictRowPool
from agent_server.db.tables import ACTIVE_RUN_STATUSES, Run, Thread, threads_table
from agent_server.repositories.common import (
    Scope,
    fetch_one,
    fetch_one_committed,
    jsonb_contains,
    metadata_scope,
    order,
    paginate,
)
from agent_server.responses import dumps

COLUMNS = (
    Thread.thread_id, Thread.created_at, Thread.updated_at, Thread.metadata_, Thread.status, Thread.config,
    Thread.values, Thread.interrupts,
)
# The hot read (a thread read by every run, stream and state call) as plain Core, built once: the ORM path and
# building it per call cost 0.5-0.7 ms of CPU.
_CORE_COLUMNS = tuple(threads_table.c[name] for name in (
    "thread_id", "created_at", "updated_at", "metadata", "status", "config", "values", "interrupts",
))
_GET = select(*_CORE_COLUMNS).where(threads_table.c.thread_id == bindparam("thread_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
# A new thread with only its metadata: run on the psycopg pool for POST /threads (one autocommit statement, 0.4
# instead of 1.2-1.4 ms of CPU through an ORM session), on a session's connection inside run creation.
_INSERT_NEW_SQL = """INSERT INTO threads (thread_id, metadata) VALUES (%(thread_id)s, %(metadata)s)
ON CONFLICT (thread_id) DO NOTHING
RETURNING thread_id, created_at, updated_at, metadata, status, config, values, interrupts"""
SORT_COLUMNS = {
    "thread_id": Thread.thread_id, "status": Thread.status, "created_at": Thread.created_at,
    "updated_at": Thread.updated_at, "state_updated_at": Thread.updated_at,
}

# The checkpointer's tables (langgraph-checkpoint-postgres); a copy differs only in `thread_id`.
_CHECKPOINT_COPIES = (
    """INSERT INTO checkpoints
           (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
       SELECT :target, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata
       FROM checkpoints WHERE thread_id = :source""",
    """INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
       SELECT :target, checkpoint_ns, channel, version, type, blob
       FROM checkpoint_blobs WHERE thread_id = :source""",
    """INSERT INTO checkpoint_writes
           (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
       SELECT :target, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob
       FROM checkpoint_writes WHERE thread_id = :source""",
)


def _as_dict(row: Any) -> dict[str, Any]:
    return {("metadata" if key == "metadata_" else key): value for key, value in row._mapping.items()}


def _filters(
    metadata: dict[str, Any] | None, values: dict[str, Any] | None, status: str | None,
    ids: Sequence[UUID] | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if metadata:
        conditions.append(jsonb_contains(Thread.metadata_, metadata))
    if values:
        conditions.append(jsonb_contains(Thread.values, values))
    if status:
        conditions.append(Thread.status == status)
    if ids:
        conditions.append(Thread.thread_id.in_(list(ids)))
    return conditions


async def get(session: AsyncSession, thread_id: UUID, *, scope: Scope,
              for_update: bool = False) -> dict[str, Any] | None:
    """The thread, if it exists and `scope` (an auth handler's filters on its metadata) lets the caller see it."""
    stmt = _GET_FOR_UPDATE if for_update else _GET
    if scope:
        stmt = stmt.where(*metadata_scope(threads_table.c.metadata, scope))
    row = (await session.execute(stmt, {"thread_id": thread_id})).first()
    return dict(row._mapping) if row else None


async def insert_new(
    session: AsyncSession, thread_id: UUID, metadata: dict[str, Any], **fields: Any
) -> dict[str, Any] | None:
    """Insert a thread; None when that id exists already. `fields`: status, values, interrupts, config."""
    if not fields:
        return await fetch_one(session, _INSERT_NEW_SQL, _insert_new_params(thread_id, metadata))
    stmt = (
        pg_insert(Thread)
        .values(thread_id=thread_id, metadata_=metadata, **fields)
        .on_conflict_do_nothing(index_elements=[Thread.thread_id])
        .returning(*COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def create(pool: DictRowPool, thread_id: UUID, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a thread in one autocommit statement; None when that id exists already."""
    return await fetch_one_committed(pool, _INSERT_NEW_SQL, _insert_new_params(thread_id, metadata))


def _insert_new_params(thread_id: UUID, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"thread_id": thread_id, "metadata": Jsonb(metadata, dumps)}


async def merge_metadata(session: AsyncSession, thread_id: UUID, metadata: dict[str, Any], *,
                         scope: Scope) -> dict[str, Any] | None:
    """Shallow-merge `metadata` into the thread's (jsonb `||`) and bump `updated_at`."""
    stmt = (
        update(Thread)
        .where(Thread.thread_id == thread_id, *metadata_scope(Thread.metadata_, scope))
        .values(metadata_=Thread.metadata_.op("||")(cast(literal(metadata, JSONB), JSONB)), updated_at=func.now())
        .returning(*COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def set_fields(session: AsyncSession, thread_id: UUID, fields: dict[str, Any]) -> dict[str, Any] | None:
    """Set any of status, values, interrupts, config; bumps `updated_at`. None if the thread is gone."""
    columns = {("metadata_" if key == "metadata" else key): value for key, value in fields.items()}
    stmt = (
        update(Thread).where(Thread.thread_id == thread_id)
        .values(**columns, updated_at=func.now()).returning(*COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def delete_one(session: AsyncSession, thread_id: UUID, *, scope: Scope) -> bool:
    stmt = (delete(Thread).where(Thread.thread_id == thread_id, *metadata_scope(Thread.metadata_, scope))
            .returning(Thread.thread_id))
    return (await session.execute(stmt)).first() is not None


async def delete_many(session: AsyncSession, thread_ids: Sequence[UUID], *, scope: Scope) -> list[UUID]:
    stmt = (delete(Thread).where(Thread.thread_id.in_(list(thread_ids)), *metadata_scope(Thread.metadata_, scope))
            .returning(Thread.thread_id))
    return [r[0] for r in (await session.execute(stmt)).all()]


async def existing_ids(session: AsyncSession, thread_ids: Sequence[UUID], *, scope: Scope) -> list[UUID]:
    stmt = select(Thread.thread_id).where(Thread.thread_id.in_(list(thread_ids)),
                                          *metadata_scope(Thread.metadata_, scope))
    return [r[0] for r in (await session.execute(stmt)).all()]


async def has_active_runs(session: AsyncSession, thread_id: UUID) -> bool:
    stmt = select(exists().where(Run.thread_id == thread_id, Run.status.in_(ACTIVE_RUN_STATUSES)))
    return bool((await session.execute(stmt)).scalar_one())


async def search(
    session: AsyncSession, *, metadata: dict[str, Any] | None, values: dict[str, Any] | None,
    status: str | None, ids: Sequence[UUID] | None, limit: int, offset: int, sort_by: str | None,
    sort_order: str | None, scope: Scope,
) -> list[dict[str, Any]]:
    """One page, newest first by default."""
    stmt = select(*COLUMNS).where(*_filters(metadata, values, status, ids), *metadata_scope(Thread.metadata_, scope))
    column = SORT_COLUMNS[sort_by or "created_at"]
    stmt = order(stmt, column, sort_order or "desc", tiebreak=Thread.thread_id)
    return [_as_dict(r) for r in (await session.execute(paginate(stmt, limit, offset))).all()]


async def count(
    session: AsyncSession, *, metadata: dict[str, Any] | None, values: dict[str, Any] | None, status: str | None,
    scope: Scope,
) -> int:
    stmt = (select(func.count()).select_from(Thread)
            .where(*_filters(metadata, values, status), *metadata_scope(Thread.metadata_, scope)))
    return int((await session.execute(stmt)).scalar_one())


async def copy_checkpoints(session: AsyncSession, source: UUID, target: UUID) -> None:
    """Copy every checkpoint, blob and pending write of `source` to `target`, in this transaction.

    AsyncPostgresSaver has no `acopy_thread`; rows are copied verbatim (thread ids never appear
    inside checkpoint payloads or metadata), so the copy's history is identical and independent.
    """
    for statement in _CHECKPOINT_COPIES:
        await session.execute(text(statement), {"source": str(source), "target": str(target)})


async def delete_idle_since(session: AsyncSession, minutes: float) -> list[UUID]:
    """Delete threads untouched for `minutes` that no run is using (checkpointer.ttl)."""
    cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, minutes * 60)
    stmt = delete(Thread).where(Thread.updated_at < cutoff, Thread.status != "busy").returning(Thread.thread_id)
    return [r[0] for r in (await session.execute(stmt)).all()]
