"""SQL for the hub's status: task counts per queue and run counts, each one aggregate query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.tables import Run
from hub_extensions.services.tasks_queries import _ready as ready_conditions
from hub_extensions.tables.tasks import Task

OPEN_STATUSES = ("pending", "in_progress", "review")


def _count_where(*conditions: Any) -> Any:
    return func.count().filter(and_(*conditions))


async def task_counts_by_queue(session: AsyncSession) -> dict[str, dict[str, int]]:
    stmt = (
        select(
            Task.queue,
            _count_where(Task.status == "pending").label("pending"),
            _count_where(*ready_conditions()).label("ready"),
            _count_where(Task.status == "in_progress").label("in_progress"),
            _count_where(Task.status == "review").label("review"),
        )
        .where(Task.status.in_(OPEN_STATUSES))
        .group_by(Task.queue)
        .order_by(Task.queue)
    )
    rows = (await session.execute(stmt)).all()
    return {row.queue: {"pending": row.pending, "ready": row.ready, "in_progress": row.in_progress,
                        "review": row.review} for row in rows}


async def run_counts(session: AsyncSession) -> dict[str, int]:
    stmt = select(
        _count_where(Run.status == "pending").label("pending"),
        _count_where(Run.status == "running").label("running"),
    ).where(Run.status.in_(("pending", "running")))
    row = (await session.execute(stmt)).one()
    return {"pending": row.pending, "running": row.running}
