"""Committing a unit of work, and work that must wait until its changes are visible to others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

AFTER_COMMIT = "after_commit"


def on_commit(session: AsyncSession, callback: Callable[[], Any]) -> None:
    """Run `callback` once the session's transaction commits (each callable once)."""
    callbacks = session.info.setdefault(AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit now and run what waits for the commit (waking workers, cancelling in-process runs)."""
    await session.commit()
    for callback in session.info.pop(AFTER_COMMIT, []):
        callback()
