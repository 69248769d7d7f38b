"""Units of work: what waits for a commit runs after it, what waits for a rollback runs instead of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_server.db.engine import create_engine, create_sessionmaker
from agent_server.db.unit_of_work import commit, on_commit, on_rollback


@pytest_asyncio.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, pool_size=2)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def count_transactions(session: AsyncSession) -> list[object]:
    """The session's transactions as they begin (the ORM's, with or without a connection)."""
    begun: list[object] = []
    event.listen(session.sync_session, "after_transaction_create", lambda _s, tx: begun.append(tx))
    return begun


async def test_commit_runs_the_commit_callbacks_and_drops_the_rollback_ones(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ran: list[str] = []
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        on_commit(session, lambda: ran.append("commit"))
        on_rollback(session, lambda: ran.append("rollback"))
        await commit(session)
        assert ran == ["commit"]
    assert ran == ["commit"]


async def test_rollback_runs_the_rollback_callbacks_only(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ran: list[str] = []
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        on_commit(session, lambda: ran.append("commit"))
        on_rollback(session, lambda: ran.append("rollback"))
        await session.rollback()
        await commit(session)
    assert ran == ["rollback"]


async def test_a_callback_waiting_on_a_session_that_began_nothing_runs_at_its_commit(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ran: list[str] = []
    async with sessionmaker() as session:
        on_commit(session, lambda: ran.append("commit"))
        await commit(session)
    assert ran == ["commit"]


async def test_committing_a_session_that_began_nothing_begins_no_transaction(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        begun = count_transactions(session)
        await commit(session)
        await commit(session)
        assert begun == []
        await session.execute(text("SELECT 1"))
        await commit(session)
        assert len(begun) == 1
