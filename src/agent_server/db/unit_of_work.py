"""Committing a unit of work, and work that must wait until its changes are visible to others (or are undone).

Callbacks belong to the session's outermost transaction: `on_commit` ones run right after it commits, however it
is committed (`commit()` below, `sessionmaker.begin()`, `session.commit()`); `on_rollback` ones run when it ends
without committing (rolled back, or the session closed). Each list is dropped when the other outcome happens.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)

AFTER_COMMIT = "after_commit"
AFTER_ROLLBACK = "after_rollback"


def _register(session: AsyncSession, key: str, callback: Callable[[], Any]) -> None:
    callbacks = session.info.setdefault(key, [])
    if callback not in callbacks:
        callbacks.append(callback)


def on_commit(session: AsyncSession, callback: Callable[[], Any]) -> None:
    """Run `callback` once the session's transaction commits (each callable once)."""
    _register(session, AFTER_COMMIT, callback)


def on_rollback(session: AsyncSession, callback: Callable[[], Any]) -> None:
    """Run `callback` if the session's transaction ends without committing (each callable once)."""
    _register(session, AFTER_ROLLBACK, callback)


async def commit(session: AsyncSession) -> None:
    """Commit now; what waits for the commit (waking workers, cancelling in-process runs) runs as it completes.

    A session that began nothing and has nothing waiting is left alone: committing it would begin and end an
    empty transaction, ~0.1 ms of CPU for nothing (a request that did its work on the pool, or committed already).
    """
    if session.in_transaction() or session.info.get(AFTER_COMMIT):
        await session.commit()


@asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session committed when the block ends, rolled back if it raised."""
    session = sessionmaker()
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await commit(session)
    finally:
        await close_if_used(session)


async def close_if_used(session: AsyncSession) -> None:
    """Close the session unless it holds nothing (no transaction, object or callback): many requests do their
    work on the psycopg pool and never use theirs, and closing an unused session costs ~70 us of CPU."""
    if session.in_transaction() or session.identity_map or session.info:
        await session.close()


def _run(callbacks: list[Callable[[], Any]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("a commit/rollback callback failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    session.info.pop(AFTER_ROLLBACK, None)
    _run(session.info.pop(AFTER_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(AFTER_COMMIT, None)  # empty after a commit; otherwise the work it waited for is undone
    _run(session.info.pop(AFTER_ROLLBACK, []))
