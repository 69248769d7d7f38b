"""Resources that live for the app's lifetime, created in the lifespan and passed down explicitly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent_server.config import ProjectConfig
from agent_server.db.engine import DictRowPool
from agent_server.services.auth import AuthEngine
from agent_server.services.graphs import GraphRegistry
from agent_server.settings import Settings
from agent_server.streaming.broker import Broker
from agent_server.streaming.listener import PgListener

if TYPE_CHECKING:
    from agent_server.workers.worker import Worker

logger = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    config: ProjectConfig
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]  # autocommit: reads need no BEGIN/COMMIT round trips
    pool: DictRowPool
    checkpointer: AsyncPostgresSaver
    store: AsyncPostgresStore
    graphs: GraphRegistry
    broker: Broker
    listener: PgListener
    http: httpx.AsyncClient
    worker: Worker | None = None
    auth: AuthEngine | None = None  # None: the server is open
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run fire-and-forget work (webhooks) while keeping a reference so it is not collected."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
