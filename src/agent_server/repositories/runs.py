"""SQL for runs: enqueue, claim (SKIP LOCKED), leases, cancellation flags and finalisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.engine import DictRowPool
from agent_server.db.tables import ACTIVE_RUN_STATUSES
from agent_server.db.tables import runs_table as runs
from agent_server.db.tables import threads_table as threads
from agent_server.errors import ThreadNotFound
from agent_server.repositories.common import (
    Scope,
    fetch_one,
    fetch_one_committed,
    metadata_matches,
    metadata_scope,
    transaction_in_one_round_trip,
)
from agent_server.responses import dumps
from agent_server.streaming.listener import CANCEL_CHANNEL, RUNS_CHANNEL

COLUMNS = (
    runs.c.run_id, runs.c.thread_id, runs.c.assistant_id, runs.c.status, runs.c.metadata, runs.c.kwargs,
    runs.c.multitask_strategy, runs.c.created_at, runs.c.updated_at,
)
COLUMN_LIST = "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, created_at, updated_at"

WORKER_LOST = {"error": "WorkerLost", "message": "the worker running this run stopped responding"}


def as_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


# --- creating runs (in the request's transaction) ---------------------------------------------------------------------

# Enqueue, in one statement after the thread row is locked: insert the run, mark the thread busy (and record its
# assistant's graph in its metadata), and NOTIFY workers (delivered at commit) when the run is claimable now. Nothing
# happens when the assistant or the thread does not exist. With `worker_id` the creating process offers to run it
# itself: it is inserted already claimed ('running', attempt 1, leased) when it is due now and its thread has no
# active run - the same condition a claim checks, evaluated under the thread lock.
INSERT_RUN_SQL = """
WITH assistant AS (
    SELECT assistant_id, graph_id FROM assistants WHERE assistant_id = %(assistant_id)s
), thread AS (
    SELECT NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = %(thread_id)s AND status IN ('pending', 'running')) AS free
    FROM threads WHERE thread_id = %(thread_id)s
), new AS (
    SELECT thread.free AND CAST(%(after_seconds)s AS float8) = 0 AS claimable,
           thread.free AND CAST(%(after_seconds)s AS float8) = 0 AND CAST(%(worker_id)s AS text) IS NOT NULL AS taken
    FROM thread, assistant
), inserted AS (
    INSERT INTO runs (run_id, thread_id, assistant_id, metadata, kwargs, multitask_strategy, due_at,
                      status, worker_id, attempt, lease_expires_at)
    SELECT %(run_id)s, %(thread_id)s, %(assistant_id)s, CAST(%(metadata)s AS jsonb), CAST(%(kwargs)s AS jsonb),
           %(multitask_strategy)s,
           now() + make_interval(secs => CAST(%(after_seconds)s AS float8)),
           CASE WHEN taken THEN 'running' ELSE 'pending' END, CASE WHEN taken THEN CAST(%(worker_id)s AS text) END,
           CASE WHEN taken THEN 1 ELSE 0 END,
           CASE WHEN taken THEN now() + make_interval(secs => CAST(%(lease_seconds)s AS float8)) END
    FROM new
    RETURNING run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, created_at, updated_at
), busy AS (
    UPDATE threads SET status = 'busy', updated_at = now(),
                       metadata = threads.metadata || jsonb_build_object(
                           'graph_id', assistant.graph_id, 'assistant_id', CAST(assistant.assistant_id AS text))
    FROM assistant
    WHERE threads.thread_id = %(thread_id)s AND EXISTS (SELECT 1 FROM inserted)
), notified AS (
    SELECT pg_notify(%(channel)s, CAST(inserted.run_id AS text)) FROM inserted, new
    WHERE new.claimable AND inserted.status = 'pending'
)
SELECT inserted.*, (SELECT count(*) FROM notified) AS notified FROM inserted
"""


def insert_run_params(values: dict[str, Any], worker_id: str | None, lease_seconds: float) -> dict[str, Any]:
    return {
        "run_id": values["run_id"], "thread_id": values["thread_id"], "assistant_id": values["assistant_id"],
        "metadata": dumps(values["metadata"]).decode(), "kwargs": dumps(values["kwargs"]).decode(),
        "multitask_strategy": values["multitask_strategy"], "after_seconds": float(values.get("after_seconds") or 0),
        "worker_id": worker_id, "lease_seconds": lease_seconds, "channel": RUNS_CHANNEL,
    }


def created_run(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        del row["notified"]
    return row


async def insert_run(session: AsyncSession, values: dict[str, Any], worker_id: str | None = None,
                     lease_seconds: float = 0.0) -> dict[str, Any]:
    """Enqueue a run (see INSERT_RUN_SQL) on a thread locked before; 'running' when `worker_id` took it."""
    created = created_run(await fetch_one(session, INSERT_RUN_SQL, insert_run_params(values, worker_id, lease_seconds)))
    assert created is not None, "insert_run needs an existing assistant and thread"
    return created


# The run's assistant, and its thread locked for the transaction (runs are enqueued under that lock): one statement.
# The statement that enqueues comes after the lock is held, so it sees every run committed before.
ASSISTANT_AND_THREAD_SQL = """
SELECT assistant_id, graph_id, config, context, metadata,
       (SELECT metadata FROM threads WHERE thread_id = %(thread_id)s FOR UPDATE) AS thread_metadata
FROM assistants WHERE assistant_id = %(assistant_id)s
"""


def visible_assistant_and_thread(
    row: dict[str, Any] | None, thread_id: UUID | None, *, assistant_scope: Scope, thread_scope: Scope,
) -> tuple[dict[str, Any] | None, bool]:
    """(the assistant, or None when missing or outside `assistant_scope`; whether the thread exists).

    A thread outside `thread_scope` raises ThreadNotFound.
    """
    if row is None:
        return None, False
    thread_metadata = row.pop("thread_metadata")
    if not metadata_matches(assistant_scope, row.pop("metadata")):
        return None, False
    if thread_metadata is not None and not metadata_matches(thread_scope, thread_metadata):
        raise ThreadNotFound(thread_id)
    return row, thread_metadata is not None


async def assistant_and_locked_thread(
    session: AsyncSession, assistant_id: UUID, thread_id: UUID | None, *, assistant_scope: Scope, thread_scope: Scope,
) -> tuple[dict[str, Any] | None, bool]:
    """(the assistant's id, graph_id, config and context, or None; whether the thread exists, now locked).

    An assistant outside `assistant_scope` is None; a thread outside `thread_scope` raises ThreadNotFound.
    """
    row = await fetch_one(session, ASSISTANT_AND_THREAD_SQL, {"assistant_id": assistant_id, "thread_id": thread_id})
    return visible_assistant_and_thread(row, thread_id, assistant_scope=assistant_scope, thread_scope=thread_scope)


async def enqueue_committed(
    pool: DictRowPool, values: dict[str, Any], worker_id: str | None, lease_seconds: float,
) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
    """assistant_and_locked_thread then insert_run in a transaction of their own, committed: BEGIN, both statements
    and COMMIT go as one pipeline, one round trip instead of four (on an error the pool connection's exit rolls back).

    (assistant or None, whether the thread exists, the run or None). For callers that see every assistant and
    thread (no auth filters) and enqueue behind the thread's active runs: the run is inserted exactly when both
    exist, which is all such a caller checks before inserting.
    """
    lock_params = {"assistant_id": values["assistant_id"], "thread_id": values["thread_id"]}
    async with transaction_in_one_round_trip(pool) as conn:
        lock = await conn.cursor(row_factory=dict_row).execute(ASSISTANT_AND_THREAD_SQL, lock_params)
        enqueue = await conn.cursor(row_factory=dict_row).execute(
            INSERT_RUN_SQL, insert_run_params(values, worker_id, lease_seconds))
    row, run = await lock.fetchone(), created_run(await enqueue.fetchone())
    assistant, thread_exists = visible_assistant_and_thread(row, values["thread_id"], assistant_scope=None,
                                                            thread_scope=None)
    return assistant, thread_exists, run


async def notify_workers(session: AsyncSession, run_id: UUID) -> None:
    """Wake every worker process when the transaction commits: a run is ready to claim."""
    notify = text("SELECT pg_notify(:channel, :payload)")
    await session.execute(notify, {"channel": RUNS_CHANNEL, "payload": str(run_id)})


# --- reading and deleting runs ----------------------------------------------------------------------------------------

GET_SQL = text(f"SELECT {COLUMN_LIST} FROM runs WHERE run_id = :run_id AND thread_id = :thread_id")
GET_BY_ID_SQL = text(f"SELECT {COLUMN_LIST}, attempt FROM runs WHERE run_id = :run_id")
ERROR_SQL = text("SELECT error FROM runs WHERE run_id = :run_id")
ACTIVE_SQL = text(f"SELECT {COLUMN_LIST} FROM runs WHERE thread_id = :thread_id "
                  "AND status IN ('pending', 'running') ORDER BY created_at")


def on_visible_threads(thread_scope: Scope) -> list[Any]:
    """Conditions keeping runs to threads an auth handler's filters let the caller see (none when unscoped)."""
    if not thread_scope:
        return []
    return [runs.c.thread_id.in_(select(threads.c.thread_id).where(*metadata_scope(threads.c.metadata, thread_scope)))]


_GET_ON_POOL_SQL = f"SELECT {COLUMN_LIST} FROM runs WHERE run_id = %(run_id)s AND thread_id = %(thread_id)s"


async def get_committed(pool: DictRowPool, thread_id: UUID, run_id: UUID) -> dict[str, Any] | None:
    """The run as committed, read in one autocommit statement on the pool (no session, no transaction)."""
    return await fetch_one_committed(pool, _GET_ON_POOL_SQL, {"run_id": run_id, "thread_id": thread_id})


async def get(session: AsyncSession, thread_id: UUID, run_id: UUID, *, thread_scope: Scope) -> dict[str, Any] | None:
    if thread_scope:
        stmt = select(*COLUMNS).where(runs.c.run_id == run_id, runs.c.thread_id == thread_id,
                                      *on_visible_threads(thread_scope))
        row = (await session.execute(stmt)).first()
    else:
        row = (await session.execute(GET_SQL, {"run_id": run_id, "thread_id": thread_id})).first()
    return as_dict(row) if row else None


async def get_by_id(session: AsyncSession, run_id: UUID) -> dict[str, Any] | None:
    row = (await session.execute(GET_BY_ID_SQL, {"run_id": run_id})).first()
    return as_dict(row) if row else None


async def list_for_thread(session: AsyncSession, thread_id: UUID, status: str | None, limit: int,
                          offset: int, *, thread_scope: Scope) -> list[dict[str, Any]]:
    stmt = select(*COLUMNS).where(runs.c.thread_id == thread_id, *on_visible_threads(thread_scope))
    if status:
        stmt = stmt.where(runs.c.status == status)
    stmt = stmt.order_by(runs.c.created_at.desc(), runs.c.run_id.desc()).limit(limit).offset(offset)
    return [as_dict(r) for r in (await session.execute(stmt)).all()]


async def active_for_thread(session: AsyncSession, thread_id: UUID) -> list[dict[str, Any]]:
    return [as_dict(r) for r in (await session.execute(ACTIVE_SQL, {"thread_id": thread_id})).all()]


async def error_of(session: AsyncSession, run_id: UUID) -> dict[str, Any] | None:
    return (await session.execute(ERROR_SQL, {"run_id": run_id})).scalar()


async def delete_run(session: AsyncSession, run_id: UUID) -> bool:
    stmt = delete(runs).where(runs.c.run_id == run_id).returning(runs.c.run_id)
    return (await session.execute(stmt)).first() is not None


# --- workers: claim, leases, finish, hand back, recover ------------------------------------------------------------

# Up to `limit` due pending runs, oldest first, at most one per thread: a run is claimable only when its thread has
# nothing running and no older pending run (ties on created_at, i.e. runs created in one transaction, are broken by
# run_id). SKIP LOCKED lets workers claim side by side; the partial unique index "one running run per thread" is the
# backstop. The run's assistant comes back with it, so executing the run needs no further read.
CLAIM_SQL = """
WITH candidates AS (
    SELECT r.run_id, r.assistant_id FROM runs r
    WHERE r.status = 'pending' AND r.due_at <= now()
      AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.thread_id = r.thread_id AND x.status = 'running')
      AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id AND o.status = 'pending'
                      AND (o.created_at, o.run_id) < (r.created_at, r.run_id))
    ORDER BY r.created_at, r.run_id
    LIMIT %(limit)s
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE runs SET status = 'running', worker_id = %(worker_id)s, attempt = runs.attempt + 1, updated_at = now(),
       lease_expires_at = now() + make_interval(secs => %(lease)s)
FROM candidates LEFT JOIN assistants a ON a.assistant_id = candidates.assistant_id
WHERE runs.run_id = candidates.run_id
RETURNING runs.run_id, runs.thread_id, runs.assistant_id, runs.status, runs.metadata, runs.kwargs,
          runs.multitask_strategy, runs.created_at, runs.updated_at, runs.attempt,
          a.graph_id AS assistant_graph_id, a.config AS assistant_config, a.context AS assistant_context
"""


def split_assistant(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A claimed row -> (run, its assistant's graph_id/config/context, or None when the assistant is gone)."""
    graph_id, config, context = (row.pop(f"assistant_{k}") for k in ("graph_id", "config", "context"))
    if graph_id is None:
        return row, None
    return row, {"assistant_id": row["assistant_id"], "graph_id": graph_id, "config": config, "context": context}


async def claim(pool: DictRowPool, worker_id: str, lease_seconds: float,
                limit: int) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Claim up to `limit` runs in one autocommit statement; each with its assistant (see CLAIM_SQL)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(CLAIM_SQL, {"limit": limit, "worker_id": worker_id, "lease": lease_seconds})
        rows = await cursor.fetchall()
    return [split_assistant(dict(row)) for row in rows]


async def renew_leases(session: AsyncSession, worker_id: str, run_ids: list[UUID],
                       lease_seconds: float) -> list[tuple[UUID, str | None]]:
    """Extend our leases; returns (run_id, cancel_action) for the runs we still own."""
    if not run_ids:
        return []
    stmt = (
        update(runs)
        .where(runs.c.run_id.in_(run_ids), runs.c.worker_id == worker_id, runs.c.status == "running")
        .values(lease_expires_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds))
        .returning(runs.c.run_id, runs.c.cancel_action)
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


# Finishing a run: the thread row is locked first (the order create_run takes: thread, then runs), so that the
# statement that records the outcome sees every run enqueued until then and keeps the thread busy for them.
# Everything happens only if this worker still owns the run; `outcome` is the run's status update, or its deletion
# (a rolled-back run), and the thread gets the outcome, or is deleted with the run (a stateless run's thread).
LOCK_THREAD_FOR_FINISH = "SELECT 1 FROM threads WHERE thread_id = %(thread_id)s FOR UPDATE"
_OWNED = "run_id = %(run_id)s AND worker_id = %(worker_id)s AND status = 'running'"
_FINISHED = f"""UPDATE runs SET status = %(status)s, error = %(error)s, updated_at = now(), lease_expires_at = NULL
    WHERE {_OWNED} RETURNING run_id"""
_DELETED = f"DELETE FROM runs WHERE {_OWNED} RETURNING run_id"
_SETTLE = """
WITH finished AS ({outcome}),
queued AS (
    SELECT EXISTS (SELECT 1 FROM runs WHERE thread_id = %(thread_id)s AND status IN ('pending', 'running')
                   AND run_id <> %(run_id)s) AS more
), settled AS (
    UPDATE threads SET status = CASE WHEN queued.more THEN 'busy' ELSE %(thread_status)s END,
        values = COALESCE(%(values)s, threads.values), interrupts = COALESCE(%(interrupts)s, threads.interrupts),
        updated_at = now()
    FROM queued WHERE threads.thread_id = %(thread_id)s AND EXISTS (SELECT 1 FROM finished)
)
SELECT EXISTS (SELECT 1 FROM finished) AS owned, queued.more FROM queued
"""
FINISH_SQL = _SETTLE.format(outcome=_FINISHED)
FINISH_ROLLED_BACK_SQL = _SETTLE.format(outcome=_DELETED)
FINISH_WITH_THREAD_SQL = f"""
WITH finished AS ({_FINISHED}),
deleted AS (DELETE FROM threads WHERE thread_id = %(thread_id)s AND EXISTS (SELECT 1 FROM finished) RETURNING 1)
SELECT EXISTS (SELECT 1 FROM finished) AS owned, false AS more, (SELECT count(*) FROM deleted) AS deleted
"""


async def finish(pool: DictRowPool, run: dict[str, Any], worker_id: str, status: str,
                 error: dict[str, Any] | None, *, thread_status: str, values: Any | None,
                 interrupts: dict[str, Any] | None, rolled_back: bool = False,
                 delete_thread: bool = False) -> tuple[bool, bool]:
    """Record a run's outcome if `worker_id` still owns it -> (owned, the thread has more runs queued).

    One transaction of two statements: lock the thread, then finish the run (or delete it, when `rolled_back`) and
    settle its thread (or delete it, when `delete_thread`). `values`/`interrupts` None keep the thread's. Sent as
    one pipeline (BEGIN, both statements, COMMIT): one round trip instead of four.
    """
    sql = FINISH_WITH_THREAD_SQL if delete_thread else FINISH_ROLLED_BACK_SQL if rolled_back else FINISH_SQL
    params = {
        "run_id": run["run_id"], "thread_id": run["thread_id"], "worker_id": worker_id, "status": status,
        "error": _jsonb(error), "thread_status": thread_status, "values": _jsonb(values),
        "interrupts": _jsonb(interrupts),
    }
    async with transaction_in_one_round_trip(pool) as conn:
        await conn.execute(LOCK_THREAD_FOR_FINISH, params)
        cursor = await conn.cursor(row_factory=dict_row).execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None
    return bool(row["owned"]), bool(row["more"])


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value, dumps)


async def release(session: AsyncSession, run_id: UUID, worker_id: str) -> None:
    """Hand a run back to the queue (graceful shutdown): it resumes from its last checkpoint."""
    await session.execute(
        update(runs)
        .where(runs.c.run_id == run_id, runs.c.worker_id == worker_id, runs.c.status == "running")
        .values(status="pending", worker_id=None, lease_expires_at=None, updated_at=func.now())
    )
    await notify_workers(session, run_id)


async def requeue_lapsed(session: AsyncSession, max_attempts: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs whose lease lapsed: re-queue those with attempts left, fail the others."""
    lapsed = runs.c.status == "running", runs.c.lease_expires_at < func.now()
    requeued = await session.execute(
        update(runs).where(*lapsed, runs.c.attempt < max_attempts)
        .values(status="pending", worker_id=None, lease_expires_at=None, updated_at=func.now())
        .returning(runs.c.run_id, runs.c.thread_id)
    )
    failed = await session.execute(
        update(runs).where(*lapsed, runs.c.attempt >= max_attempts)
        .values(status="error", lease_expires_at=None, updated_at=func.now(),
                error=WORKER_LOST)
        .returning(runs.c.run_id, runs.c.thread_id)
    )
    requeued_runs = [as_dict(r) for r in requeued.all()]
    for run in requeued_runs:
        await notify_workers(session, run["run_id"])
    return requeued_runs, [as_dict(r) for r in failed.all()]


async def fail_thread(session: AsyncSession, thread_id: UUID) -> None:
    """A run of the thread failed for good (its worker was lost): error, unless more runs are queued on it."""
    still_active = exists().where(runs.c.thread_id == thread_id, runs.c.status.in_(ACTIVE_RUN_STATUSES))
    status = func.coalesce(select(text("'busy'")).where(still_active).scalar_subquery(), "error")
    await session.execute(update(threads).where(threads.c.thread_id == thread_id)
                          .values(status=status, updated_at=func.now()))


# --- cancellation -----------------------------------------------------------------------------------------------------

async def request_cancel(session: AsyncSession, run_id: UUID, action: str) -> None:
    await session.execute(update(runs).where(runs.c.run_id == run_id, runs.c.status == "running")
                          .values(cancel_action=action, updated_at=func.now()))
    await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                          {"channel": CANCEL_CHANNEL, "payload": f"{run_id}:{action}"})


async def cancel_pending(session: AsyncSession, run_id: UUID) -> bool:
    stmt = (update(runs).where(runs.c.run_id == run_id, runs.c.status == "pending")
            .values(status="interrupted", updated_at=func.now()).returning(runs.c.run_id))
    return (await session.execute(stmt)).first() is not None


async def runs_to_cancel(session: AsyncSession, thread_id: UUID | None, run_ids: list[UUID] | None,
                         status: str | None, *, thread_scope: Scope) -> list[dict[str, Any]]:
    """Active runs matching the criteria, on threads `thread_scope` lets the caller see."""
    stmt = select(*COLUMNS).where(*on_visible_threads(thread_scope))
    if thread_id is not None:
        stmt = stmt.where(runs.c.thread_id == thread_id)
    if run_ids:
        stmt = stmt.where(runs.c.run_id.in_(run_ids))
    statuses = ACTIVE_RUN_STATUSES if status in (None, "all") else (status,)
    stmt = stmt.where(runs.c.status.in_(statuses))
    return [as_dict(r) for r in (await session.execute(stmt)).all()]
