"""Units of work: what waits for a commit runs after it, what waits for a rollback runs instead of it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_server.db.engine import create_engine, create_sessionmaker
from agent_server.db.unit_of_work import commit, on_commit, on_rollback, unit_of_work


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


async def test_a_unit_of_work_commits_at_the_end_of_its_block_and_rolls_back_when_it_raises(
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    table = f"uow_probe_{uuid.uuid4().hex[:8]}"
    async with unit_of_work(sessionmaker) as session:
        await session.execute(text(f"CREATE TABLE {table} (x int)"))
    ran: list[str] = []

    async def failing_handler() -> None:
        async with unit_of_work(sessionmaker) as session:
            await session.execute(text(f"INSERT INTO {table} VALUES (1)"))
            on_rollback(session, lambda: ran.append("rollback"))
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing_handler()
    async with unit_of_work(sessionmaker) as session:
        await session.execute(text(f"INSERT INTO {table} VALUES (2)"))
        on_commit(session, lambda: ran.append("commit"))
    async with sessionmaker() as session:
        values = (await session.execute(text(f"SELECT x FROM {table}"))).scalars().all()
        await session.execute(text(f"DROP TABLE {table}"))
        await session.commit()
    assert (values, ran) == ([2], ["rollback", "commit"])
