"""The application factory: settings + project config -> a FastAPI app whose lifespan owns every resource."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from agent_server import __version__
from agent_server.api import api_routers
from agent_server.config import CorsConfig, ProjectConfig, load_config
from agent_server.db.engine import DictRowPool, create_engine, create_sessionmaker, open_langgraph_pool
from agent_server.db.langgraph import open_persistence
from agent_server.db.migrate import upgrade_schema_async
from agent_server.errors import add_exception_handlers
from agent_server.gc_tuning import freeze_startup_heap
from agent_server.middleware import AuthenticationMiddleware, BodyLimitMiddleware
from agent_server.responses import JSONResponse
from agent_server.routing import RouteIndex, add_routes
from agent_server.services.assistants import sync_default_assistants
from agent_server.services.auth import AuthEngine
from agent_server.services.graphs import GraphRegistry, add_dependencies_to_path, import_object
from agent_server.settings import Settings
from agent_server.state import AppState
from agent_server.streaming.broker import Broker
from agent_server.streaming.listener import CANCEL_CHANNEL, EVENTS_CHANNEL, RUNS_CHANNEL, PgListener
from agent_server.streaming.memory import MemoryBroker
from agent_server.streaming.postgres import PostgresBroker
from agent_server.telemetry import fastapi_telemetry_options
from agent_server.workers.worker import Worker

logger = logging.getLogger(__name__)

# CORS of `dev` without `http.cors`, as `langgraph dev`: any origin, so browser tools (Studio) can call it.
DEV_CORS = CorsConfig(allow_origins=["*"],
                      expose_headers=["X-Pagination-Total", "X-Pagination-Next", "Content-Location", "Location"])


def apply_project_env(config: ProjectConfig) -> None:
    """Variables from the config's `env` fill the process environment; explicit process values win."""
    for key, value in config.env.items():
        os.environ.setdefault(key, value)


def make_broker(settings: Settings, pool: DictRowPool, listener: PgListener) -> Broker:
    kind = settings.stream_broker
    if kind == "postgres":
        return PostgresBroker(pool, listener)
    if kind == "redis":
        if not settings.redis_url:
            raise RuntimeError("OPEN_LANGGRAPH_BROKER=redis needs REDIS_URL")
        from agent_server.streaming.redis import RedisBroker  # imports redis only when chosen

        return RedisBroker(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryBroker()


async def open_app_state(settings: Settings, config: ProjectConfig, *, host_workers: bool = True,
                         auth: AuthEngine | None = None) -> AppState:
    """Everything the app and its workers share; `auth` defaults to the config's (workers run handlers too:
    a cron's tick creates its run as the cron's creator)."""
    auth = auth or AuthEngine.from_config(config, settings)
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (open-langgraph dev starts an embedded PostgreSQL)")
    apply_project_env(config)
    add_dependencies_to_path(config)
    if settings.auto_migrate:
        await upgrade_schema_async(settings.database_url)
    pool = await open_langgraph_pool(settings.database_url, max_size=settings.db_pool_size)
    checkpointer, store = await open_persistence(pool, config, setup=settings.auto_migrate)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    graphs = GraphRegistry.from_config(config, checkpointer, store)
    listener = PgListener(settings.database_url, (RUNS_CHANNEL, CANCEL_CHANNEL, EVENTS_CHANNEL))
    broker = make_broker(settings, pool, listener)
    state = AppState(
        settings=settings, config=config, engine=engine, sessionmaker=create_sessionmaker(engine),
        read_sessionmaker=read_sessionmaker(engine),
        pool=pool, checkpointer=checkpointer, store=store, graphs=graphs, broker=broker, listener=listener,
        http=httpx.AsyncClient(), auth=auth if auth.enabled else None,
    )
    async with state.sessionmaker.begin() as session:
        await sync_default_assistants(session, graphs)
    await listener.start()
    await broker.start()
    if host_workers and settings.n_jobs_per_worker > 0:
        state.worker = Worker(state, settings.n_jobs_per_worker)
        await state.worker.start()
    if config.store.ttl is not None and config.store.ttl.sweep_interval_minutes:
        await store.start_ttl_sweeper()
    return state


async def close_app_state(state: AppState) -> None:
    if state.config.store.ttl is not None and state.config.store.ttl.sweep_interval_minutes:
        await state.store.stop_ttl_sweeper()
    if state.worker is not None:
        await state.worker.stop()
    await state.broker.stop()
    await state.listener.stop()
    await state.http.aclose()
    await state.engine.dispose()
    await state.pool.close()


def read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool whose connections autocommit: a read needs no transaction around it."""
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def custom_routes(config: ProjectConfig) -> list[BaseRoute]:
    """Routes of the user's `http.app`, mounted beside (and ahead of) ours."""
    if not config.http.app:
        return []
    user_app = import_object(config.resolve_path(config.http.app))
    routes = getattr(user_app, "routes", None)
    if routes is None:
        raise RuntimeError(f"http.app {config.http.app!r} is not a Starlette/FastAPI application")
    return [route for route in routes if getattr(route, "path", None) not in own_docs_paths(user_app)]


def own_docs_paths(user_app: Any) -> set[str]:
    """A FastAPI app's own /openapi.json and /docs: the server's (which include the app's routes) serve instead."""
    names = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")
    return {path for path in (getattr(user_app, name, None) for name in names) if path}


def cors_config(config: ProjectConfig, settings: Settings) -> CorsConfig | None:
    """The config's `http.cors`; without it, any origin under `dev` and no CORS at all otherwise."""
    if config.http.cors is not None:
        return config.http.cors
    return DEV_CORS if settings.dev_cors else None


def add_cors(app: FastAPI, cors: CorsConfig) -> None:
    """Outermost, so that preflights skip authentication and errors (401, 413) carry the CORS headers too."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors.allow_origins,
        allow_methods=cors.allow_methods,
        allow_headers=cors.allow_headers,
        allow_credentials=cors.allow_credentials,
        expose_headers=cors.expose_headers,
        max_age=cors.max_age,
    )


def warn_about_auth(auth: AuthEngine) -> None:
    if not auth.enabled:
        logger.warning("NO AUTHENTICATION: every client can read and change everything. "
                       "Set auth.path or OPEN_LANGGRAPH_JWT_* to require a user.")


def create_app(settings: Settings | None = None, config: ProjectConfig | None = None) -> FastAPI:
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    add_dependencies_to_path(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.olg = await open_app_state(settings, config, auth=auth)
        if settings.gc_tuning:
            freeze_startup_heap()
        try:
            yield
        finally:
            await close_app_state(app.state.olg)

    user_routes = custom_routes(config)  # first: importing the user's app may configure OpenTelemetry
    app = FastAPI(
        title="Open LangGraph Server",
        version=__version__,
        description="LangGraph Platform / Agent Protocol API on PostgreSQL.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        **fastapi_telemetry_options(),
    )
    add_exception_handlers(app)
    for router in api_routers(config):
        add_routes(app.router, router)
    # The user's routes first (they may shadow ours), then the index, then the routes it indexes.
    app.router.routes[:0] = [*user_routes, RouteIndex(app.router.routes)]
    auth = AuthEngine.from_config(config, settings)
    warn_about_auth(auth)
    if auth.enabled:
        open_routes = [] if config.http.enable_custom_route_auth else user_routes
        app.add_middleware(AuthenticationMiddleware, engine=auth, open_routes=open_routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    cors = cors_config(config, settings)
    if cors is not None:
        add_cors(app, cors)
    return app


def create_app_from_env() -> FastAPI:
    """Uvicorn factory entry point: everything comes from the environment the CLI prepared."""
    return create_app(Settings())
