"""The SQLAlchemy engine and the psycopg pool for LangGraph's checkpointer and store: one driver, one DSN."""

from __future__ import annotations

from typing import TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from agent_server.responses import dumps
from agent_server.settings import to_libpq_url, to_psycopg_url

DictRowPool: TypeAlias = AsyncConnectionPool[AsyncConnection[DictRow]]
"""The psycopg pool of `open_langgraph_pool`: its connections' rows are dicts (`row_factory=dict_row`)."""


def create_engine(database_url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        to_psycopg_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"prepare_threshold": None},
        json_serializer=lambda obj: dumps(obj).decode(),
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def open_langgraph_pool(database_url: str, max_size: int = 10) -> DictRowPool:
    """The pool LangGraph's Postgres checkpointer and store expect (autocommit; `prepare_threshold=0` prepares each
    statement at its first use on a connection, as LangGraph's documentation sets it)."""
    pool: DictRowPool = AsyncConnectionPool(
        to_libpq_url(database_url),
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True)
    return pool
