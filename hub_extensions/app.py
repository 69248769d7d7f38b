"""The hub's FastAPI app: the server mounts its routes beside its own (config `http.app`)."""

from __future__ import annotations

from fastapi import FastAPI

from hub_extensions.routes import ROUTERS

app = FastAPI(title="Open LangGraph Hub")
for router in ROUTERS:
    app.include_router(router)
