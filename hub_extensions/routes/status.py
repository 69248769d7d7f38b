"""GET /hub/status: queue depths of the task manager and the server's run queue."""

from __future__ import annotations

from fastapi import APIRouter

from agent_server.deps import ReadSession
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.status import HubStatus
from hub_extensions.services import status as service

router = APIRouter(prefix="/hub/status", tags=["Hub status"], responses=ErrorResponses)


@router.get("", summary="Open tasks per queue (pending, ready, in progress, review) and pending or running runs",
            responses={200: {"model": HubStatus}})
async def hub_status(session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.hub_status(session))
