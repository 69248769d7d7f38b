"""Health and server information."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent_server.deps import State
from agent_server.services import meta as service

router = APIRouter(tags=["System"])


@router.get("/ok", summary="Health check")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@router.get("/info", summary="Server version and capabilities")
async def info(state: State) -> dict[str, Any]:
    return service.server_info(state)
