"""The hub's status, for `jr status` and dashboards."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub_extensions.repositories import status as repository


async def hub_status(session: AsyncSession) -> dict[str, Any]:
    return {"tasks": await repository.task_counts_by_queue(session), "runs": await repository.run_counts(session)}
