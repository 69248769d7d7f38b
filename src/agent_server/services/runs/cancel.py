"""Cancelling runs from any API process: pending runs directly, running ones through their worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.tables import ACTIVE_RUN_STATUSES
from agent_server.db.unit_of_work import on_commit
from agent_server.errors import Conflict, NotFound
from agent_server.models.runs import RunsCancel
from agent_server.repositories import runs as repo
from agent_server.services.auth import Actor
from agent_server.state import AppState
from agent_server.streaming.publisher import Publisher

CANCEL_WAIT_SECONDS = 30.0


async def close_stream_of_unstarted_run(state: AppState, run_id: UUID) -> None:
    await (await Publisher.open(state.broker, run_id)).end("interrupted", None, None)


async def cancel_active_run(session: AsyncSession, state: AppState, run: dict[str, Any], action: str) -> None:
    """Cancel one pending or running run (the caller's transaction carries the change)."""
    if run["status"] == "pending":
        if action == "rollback":
            await repo.delete_run(session, run["run_id"])
        else:
            await repo.cancel_pending(session, run["run_id"])
        on_commit(session, lambda: state.background(close_stream_of_unstarted_run(state, run["run_id"])))
        return
    await repo.request_cancel(session, run["run_id"], action)
    if state.worker is not None:
        on_commit(session, lambda: state.worker.cancel(run["run_id"], action) if state.worker else None)


async def cancel_run(session: AsyncSession, state: AppState, actor: Actor, thread_id: UUID, run_id: UUID,
                     action: str) -> None:
    value = {"thread_id": thread_id, "run_id": run_id, "action": action, "metadata": {}}
    scope = await actor.authorize("threads", "update", value)
    run = await repo.get(session, thread_id, run_id, thread_scope=scope)
    if run is None:
        raise NotFound(f"Run '{run_id}' not found")
    if run["status"] not in ACTIVE_RUN_STATUSES:
        raise Conflict(f"Run '{run_id}' is already {run['status']} and cannot be cancelled")
    await cancel_active_run(session, state, run, action)


async def cancel_runs(session: AsyncSession, state: AppState, actor: Actor, body: RunsCancel) -> int:
    """Active runs matching the request on threads the user may update; others are left alone."""
    if body.thread_id is None and not body.run_ids and body.status is None:
        raise Conflict("Name a thread_id, run_ids or a status to cancel")
    value: dict[str, Any] = {"thread_id": body.thread_id, "run_ids": body.run_ids, "action": body.action,
                             "metadata": {}}
    scope = await actor.authorize("threads", "update", value)
    runs = await repo.runs_to_cancel(session, body.thread_id, body.run_ids, body.status, thread_scope=scope)
    for run in runs:
        await cancel_active_run(session, state, run, body.action)
    return len(runs)


async def wait_until_settled(state: AppState, run_id: UUID, timeout: float = CANCEL_WAIT_SECONDS) -> None:
    """Poll until the run is no longer running (or is gone, after a rollback)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with state.read_sessionmaker() as session:
            run = await repo.get_by_id(session, run_id)
        if run is None or run["status"] not in ACTIVE_RUN_STATUSES:
            return
        await asyncio.sleep(0.05)
