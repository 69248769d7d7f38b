"""Resources that live for the app's lifetime, created in the lifespan and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent_server.config import ProjectConfig
from agent_server.services.graphs import GraphRegistry
from agent_server.settings import Settings


@dataclass
class AppState:
    settings: Settings
    config: ProjectConfig
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    pool: AsyncConnectionPool
    checkpointer: AsyncPostgresSaver
    store: AsyncPostgresStore
    graphs: GraphRegistry
