"""All protocol routers, in Agent Protocol order."""

from __future__ import annotations

from fastapi import APIRouter

from agent_server.config import ProjectConfig
from agent_server.routes import assistants, crons, meta, runs, store, threads


def api_router(config: ProjectConfig) -> APIRouter:
    router = APIRouter()
    if not config.http.disable_assistants:
        router.include_router(assistants.router)
    if not config.http.disable_threads:
        router.include_router(threads.router)
    if not config.http.disable_runs:
        router.include_router(runs.router)
        router.include_router(runs.stateless)
        router.include_router(crons.router)
    if not config.http.disable_store:
        router.include_router(store.router)
    if not config.http.disable_meta:
        router.include_router(meta.router)
    return router
