"""The hub's routers, one module per resource, all under `/hub`."""

from __future__ import annotations

from fastapi import APIRouter

from hub_extensions.routes import catalog, credentials, profiles, registry, registry_agents, status, tags, tasks

ROUTERS: list[APIRouter] = [tasks.router, tags.router, profiles.router, credentials.router, registry.router,
                            registry_agents.router, catalog.router, status.router]
