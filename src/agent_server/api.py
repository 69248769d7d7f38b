"""All protocol routers, in Agent Protocol order."""

from __future__ import annotations

from fastapi import APIRouter

from agent_server.config import ProjectConfig
from agent_server.routes import assistants, crons, meta, runs, store, threads


def api_routers(config: ProjectConfig) -> list[APIRouter]:
    routers: list[APIRouter] = []
    if not config.http.disable_assistants:
        routers.append(assistants.router)
    if not config.http.disable_threads:
        routers.append(threads.router)
    if not config.http.disable_runs:
        routers += [runs.router, runs.stateless, crons.router]
    if not config.http.disable_store:
        routers.append(store.router)
    if not config.http.disable_meta:
        routers.append(meta.router)
    return routers
