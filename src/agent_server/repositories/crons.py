"""SQL for crons: CRUD, search, and claiming a due cron (FOR UPDATE SKIP LOCKED) for the scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.tables import Cron
from agent_server.repositories.common import Scope, jsonb_contains, metadata_scope

COLUMNS = (
    Cron.cron_id, Cron.assistant_id, Cron.thread_id, Cron.user_id, Cron.end_time, Cron.schedule, Cron.timezone,
    Cron.payload, Cron.next_run_date, Cron.metadata_, Cron.on_run_completed, Cron.enabled, Cron.created_at,
    Cron.updated_at,
)
SORT_COLUMNS = {
    "cron_id": Cron.cron_id, "assistant_id": Cron.assistant_id, "thread_id": Cron.thread_id,
    "next_run_date": Cron.next_run_date, "end_time": Cron.end_time, "created_at": Cron.created_at,
    "updated_at": Cron.updated_at,
}


def _as_dict(row: Any) -> dict[str, Any]:
    return {("metadata" if key == "metadata_" else key): value for key, value in row._mapping.items()}


def _filters(assistant_id: UUID | None, thread_id: UUID | None, metadata: dict[str, Any] | None,
             enabled: bool | None, scope: Scope) -> list[ColumnElement[bool]]:
    conditions = metadata_scope(Cron.metadata_, scope)
    if assistant_id is not None:
        conditions.append(Cron.assistant_id == assistant_id)
    if thread_id is not None:
        conditions.append(Cron.thread_id == thread_id)
    if metadata:
        conditions.append(jsonb_contains(Cron.metadata_, metadata))
    if enabled is not None:
        conditions.append(Cron.enabled.is_(enabled))
    return conditions


def _ordered(stmt: Select[Any], sort_by: str, sort_order: str) -> Select[Any]:
    """Missing dates sort as the earliest, as the reference server sorts them."""
    column = SORT_COLUMNS[sort_by]
    if sort_order == "asc":
        return stmt.order_by(column.asc().nulls_first(), Cron.cron_id.asc())
    return stmt.order_by(column.desc().nulls_last(), Cron.cron_id.desc())


async def database_now(session: AsyncSession) -> datetime:
    """The transaction's clock: every schedule is computed from the database's time, never a host's."""
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


async def insert_cron(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    columns = {("metadata_" if key == "metadata" else key): value for key, value in values.items()}
    row = (await session.execute(insert(Cron).values(**columns).returning(*COLUMNS))).one()
    return _as_dict(row)


async def get(session: AsyncSession, cron_id: UUID, *, scope: Scope, for_update: bool = False) -> dict[str, Any] | None:
    """The cron, if it exists and `scope` (an auth handler's filters on its metadata) lets the caller see it."""
    stmt = select(*COLUMNS).where(Cron.cron_id == cron_id, *metadata_scope(Cron.metadata_, scope))
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def set_fields(session: AsyncSession, cron_id: UUID, fields: dict[str, Any], *,
                     scope: Scope) -> dict[str, Any] | None:
    """Set the given columns and bump `updated_at`; None if the cron is gone (or outside `scope`)."""
    columns = {("metadata_" if key == "metadata" else key): value for key, value in fields.items()}
    stmt = update(Cron).where(Cron.cron_id == cron_id, *metadata_scope(Cron.metadata_, scope))
    stmt = stmt.values(**columns, updated_at=func.now()).returning(*COLUMNS)
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def set_next_run_date(session: AsyncSession, cron_id: UUID, next_run_date: datetime | None) -> None:
    """Schedule the next tick (None: never again); a tick is not an update, so `updated_at` stays."""
    await session.execute(update(Cron).where(Cron.cron_id == cron_id).values(next_run_date=next_run_date))


async def delete_one(session: AsyncSession, cron_id: UUID, *, scope: Scope) -> bool:
    stmt = delete(Cron).where(Cron.cron_id == cron_id, *metadata_scope(Cron.metadata_, scope)).returning(Cron.cron_id)
    return (await session.execute(stmt)).first() is not None


async def lock_thread_crons(session: AsyncSession, thread_id: UUID) -> None:
    """Lock a thread's crons before the thread itself: the order a firing tick takes, so the two cannot deadlock."""
    await session.execute(select(Cron.cron_id).where(Cron.thread_id == thread_id).with_for_update())


async def search(
    session: AsyncSession, *, assistant_id: UUID | None, thread_id: UUID | None, metadata: dict[str, Any] | None,
    enabled: bool | None, limit: int, offset: int, sort_by: str | None, sort_order: str | None, scope: Scope,
) -> list[dict[str, Any]]:
    """One page, newest first by default."""
    stmt = select(*COLUMNS).where(*_filters(assistant_id, thread_id, metadata, enabled, scope))
    stmt = _ordered(stmt, sort_by or "created_at", sort_order or "desc").limit(limit).offset(offset)
    return [_as_dict(r) for r in (await session.execute(stmt)).all()]


async def count(session: AsyncSession, *, assistant_id: UUID | None, thread_id: UUID | None,
                metadata: dict[str, Any] | None, scope: Scope) -> int:
    stmt = select(func.count()).select_from(Cron).where(*_filters(assistant_id, thread_id, metadata, None, scope))
    return int((await session.execute(stmt)).scalar_one())


async def claim_due(session: AsyncSession) -> dict[str, Any] | None:
    """Lock the most overdue enabled cron, skipping crons another scheduler holds; adds the database's `now`.

    The lock lasts until the caller's transaction ends, so the caller moves `next_run_date` past `now`
    before committing: a tick is then claimed by exactly one scheduler.
    """
    stmt = (
        select(*COLUMNS, func.now().label("now"))
        .where(
            Cron.enabled,
            Cron.next_run_date <= func.now(),
            or_(Cron.end_time.is_(None), Cron.end_time >= func.now()),
        )
        .order_by(Cron.next_run_date)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None
