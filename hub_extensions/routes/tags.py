"""Task tags under /hub/tags; a path names a tag by its id or its name."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agent_server.deps import ReadSession, Session
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.tasks import Tag, TagCreate, TagPatch
from hub_extensions.services import tasks_tags as service

router = APIRouter(prefix="/hub/tags", tags=["Hub tasks"], responses=ErrorResponses)


@router.post("", status_code=201, summary="Create a tag", responses={201: {"model": Tag}})
async def create_tag(body: TagCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_tag(session, body), status_code=201)


@router.get("", summary="List tags (by name)", responses={200: {"model": list[Tag]}})
async def list_tags(session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.list_tags(session))


@router.get("/{tag}", summary="Get a tag (by id or name)", responses={200: {"model": Tag}})
async def get_tag(tag: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_tag(session, tag))


@router.patch("/{tag}", summary="Update a tag (by id or name)", responses={200: {"model": Tag}})
async def update_tag(tag: str, body: TagPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_tag(session, tag, body))


@router.delete("/{tag}", status_code=204, summary="Delete a tag (tasks keep existing, without it)")
async def delete_tag(tag: str, session: Session) -> Response:
    await service.delete_tag(session, tag)
    return Response(status_code=204)
