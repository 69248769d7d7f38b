"""SQL for runs: enqueue, claim (SKIP LOCKED), leases, cancellation flags and finalisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import and_, cast, delete, exists, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agent_server.db.tables import ACTIVE_RUN_STATUSES, Run, Thread
from agent_server.streaming.listener import CANCEL_CHANNEL, RUNS_CHANNEL

COLUMNS = (
    Run.run_id, Run.thread_id, Run.assistant_id, Run.status, Run.metadata_, Run.kwargs,
    Run.multitask_strategy, Run.created_at, Run.updated_at,
)


WORKER_LOST = {"error": "WorkerLost", "message": "the worker running this run stopped responding"}


def jsonb(value: Any) -> Any:
    return cast(literal(value, JSONB), JSONB)


def as_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["metadata"] = data.pop("metadata_", data.get("metadata"))
    return data


async def insert_run(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a pending run; the NOTIFY is delivered to workers when the transaction commits."""
    stmt = insert(Run).values(
        run_id=values["run_id"], thread_id=values["thread_id"], assistant_id=values["assistant_id"],
        metadata_=values["metadata"], kwargs=values["kwargs"], multitask_strategy=values["multitask_strategy"],
        due_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, values.get("after_seconds") or 0),
    ).returning(*COLUMNS)
    created = as_dict((await session.execute(stmt)).one())
    await notify_workers(session, values["run_id"])
    return created


async def notify_workers(session: AsyncSession, run_id: UUID) -> None:
    """Wake every worker process when the transaction commits: a run is ready to claim."""
    notify = text("SELECT pg_notify(:channel, :payload)")
    await session.execute(notify, {"channel": RUNS_CHANNEL, "payload": str(run_id)})


async def get(session: AsyncSession, thread_id: UUID, run_id: UUID) -> dict[str, Any] | None:
    stmt = select(*COLUMNS).where(Run.run_id == run_id, Run.thread_id == thread_id)
    row = (await session.execute(stmt)).first()
    return as_dict(row) if row else None


async def get_by_id(session: AsyncSession, run_id: UUID) -> dict[str, Any] | None:
    row = (await session.execute(select(*COLUMNS, Run.attempt).where(Run.run_id == run_id))).first()
    return as_dict(row) if row else None


async def list_for_thread(session: AsyncSession, thread_id: UUID, status: str | None, limit: int,
                          offset: int) -> list[dict[str, Any]]:
    stmt = select(*COLUMNS).where(Run.thread_id == thread_id)
    if status:
        stmt = stmt.where(Run.status == status)
    stmt = stmt.order_by(Run.created_at.desc(), Run.run_id.desc()).limit(limit).offset(offset)
    return [as_dict(r) for r in (await session.execute(stmt)).all()]


async def active_for_thread(session: AsyncSession, thread_id: UUID) -> list[dict[str, Any]]:
    active = Run.thread_id == thread_id, Run.status.in_(ACTIVE_RUN_STATUSES)
    stmt = select(*COLUMNS).where(*active).order_by(Run.created_at)
    return [as_dict(r) for r in (await session.execute(stmt)).all()]


async def delete_run(session: AsyncSession, run_id: UUID) -> bool:
    return (await session.execute(delete(Run).where(Run.run_id == run_id).returning(Run.run_id))).first() is not None


async def claim_next(session: AsyncSession, worker_id: str, lease_seconds: float) -> dict[str, Any] | None:
    """Take the oldest due pending run whose thread has nothing running and no older pending run."""
    running = aliased(Run)
    older = aliased(Run)
    candidate = (
        select(Run.run_id)
        .where(
            Run.status == "pending",
            Run.due_at <= func.now(),
            ~exists().where(and_(running.thread_id == Run.thread_id, running.status == "running")),
            ~exists().where(and_(older.thread_id == Run.thread_id, older.status == "pending",
                                 older.created_at < Run.created_at)),
        )
        .order_by(Run.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        update(Run)
        .where(Run.run_id == candidate)
        .values(status="running", worker_id=worker_id, attempt=Run.attempt + 1, updated_at=func.now(),
                lease_expires_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds))
        .returning(*COLUMNS, Run.attempt)
    )
    row = (await session.execute(stmt)).first()
    return as_dict(row) if row else None


async def renew_leases(session: AsyncSession, worker_id: str, run_ids: list[UUID],
                       lease_seconds: float) -> list[tuple[UUID, str | None]]:
    """Extend our leases; returns (run_id, cancel_action) for the runs we still own."""
    if not run_ids:
        return []
    stmt = (
        update(Run)
        .where(Run.run_id.in_(run_ids), Run.worker_id == worker_id, Run.status == "running")
        .values(lease_expires_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds))
        .returning(Run.run_id, Run.cancel_action)
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def finish(session: AsyncSession, run_id: UUID, worker_id: str, status: str,
                 error: dict[str, Any] | None = None) -> bool:
    """Set the final status only if this worker still owns the run."""
    stmt = (
        update(Run)
        .where(Run.run_id == run_id, Run.worker_id == worker_id, Run.status == "running")
        .values(status=status, error=error, updated_at=func.now(), lease_expires_at=None)
        .returning(Run.run_id)
    )
    return (await session.execute(stmt)).first() is not None


async def release(session: AsyncSession, run_id: UUID, worker_id: str) -> None:
    """Hand a run back to the queue (graceful shutdown): it resumes from its last checkpoint."""
    await session.execute(
        update(Run)
        .where(Run.run_id == run_id, Run.worker_id == worker_id, Run.status == "running")
        .values(status="pending", worker_id=None, lease_expires_at=None, updated_at=func.now())
    )
    await notify_workers(session, run_id)


async def requeue_lapsed(session: AsyncSession, max_attempts: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs whose lease lapsed: re-queue those with attempts left, fail the others."""
    lapsed = Run.status == "running", Run.lease_expires_at < func.now()
    requeued = await session.execute(
        update(Run).where(*lapsed, Run.attempt < max_attempts)
        .values(status="pending", worker_id=None, lease_expires_at=None, updated_at=func.now())
        .returning(Run.run_id, Run.thread_id)
    )
    failed = await session.execute(
        update(Run).where(*lapsed, Run.attempt >= max_attempts)
        .values(status="error", lease_expires_at=None, updated_at=func.now(),
                error=WORKER_LOST)
        .returning(Run.run_id, Run.thread_id)
    )
    requeued_runs = [as_dict(r) for r in requeued.all()]
    for run in requeued_runs:
        await notify_workers(session, run["run_id"])
    return requeued_runs, [as_dict(r) for r in failed.all()]


async def request_cancel(session: AsyncSession, run_id: UUID, action: str) -> None:
    await session.execute(update(Run).where(Run.run_id == run_id, Run.status == "running")
                          .values(cancel_action=action, updated_at=func.now()))
    await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                          {"channel": CANCEL_CHANNEL, "payload": f"{run_id}:{action}"})


async def cancel_pending(session: AsyncSession, run_id: UUID) -> bool:
    stmt = (update(Run).where(Run.run_id == run_id, Run.status == "pending")
            .values(status="interrupted", updated_at=func.now()).returning(Run.run_id))
    return (await session.execute(stmt)).first() is not None



async def runs_to_cancel(session: AsyncSession, thread_id: UUID | None, run_ids: list[UUID] | None,
                         status: str | None) -> list[dict[str, Any]]:
    stmt = select(*COLUMNS)
    if thread_id is not None:
        stmt = stmt.where(Run.thread_id == thread_id)
    if run_ids:
        stmt = stmt.where(Run.run_id.in_(run_ids))
    statuses = ACTIVE_RUN_STATUSES if status in (None, "all") else (status,)
    stmt = stmt.where(Run.status.in_(statuses))
    return [as_dict(r) for r in (await session.execute(stmt)).all()]


async def mark_thread_busy(session: AsyncSession, thread_id: UUID, metadata: dict[str, Any]) -> None:
    await session.execute(
        update(Thread).where(Thread.thread_id == thread_id)
        .values(status="busy", updated_at=func.now(), metadata_=Thread.metadata_.op("||")(jsonb(metadata)))
    )



async def settle_thread(session: AsyncSession, thread_id: UUID, status: str, values: Any | None,
                        interrupts: dict[str, Any] | None, metadata: dict[str, Any] | None = None) -> None:
    """Record a finished run's outcome on its thread; it stays busy while other runs are queued."""
    still_active = exists().where(Run.thread_id == thread_id, Run.status.in_(ACTIVE_RUN_STATUSES))
    changes: dict[str, Any] = {
        "status": func.coalesce(select(text("'busy'")).where(still_active).scalar_subquery(), status),
        "updated_at": func.now(),
    }
    if values is not None:
        changes["values"] = values
    if interrupts is not None:
        changes["interrupts"] = interrupts
    if metadata:
        changes["metadata_"] = Thread.metadata_.op("||")(jsonb(metadata))
    await session.execute(update(Thread).where(Thread.thread_id == thread_id).values(**changes))





async def error_of(session: AsyncSession, run_id: UUID) -> dict[str, Any] | None:
    return (await session.execute(select(Run.error).where(Run.run_id == run_id))).scalar()
