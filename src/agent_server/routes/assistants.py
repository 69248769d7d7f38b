"""/assistants: thin handlers over services.assistants."""

from __future__ import annotations

from fastapi import APIRouter, Query

from agent_server.deps import CurrentActor, Session, State
from agent_server.errors import ErrorResponses
from agent_server.models.assistants import (
    Assistant,
    AssistantCreate,
    AssistantFilter,
    AssistantPatch,
    AssistantSearch,
    AssistantSearchResult,
    AssistantSetLatest,
    AssistantVersion,
    AssistantVersionsSearch,
    GraphSchemas,
)
from agent_server.responses import JSONResponse
from agent_server.services import assistants as service

router = APIRouter(prefix="/assistants", tags=["Assistants"], responses=ErrorResponses)


@router.post("", summary="Create assistant", responses={200: {"model": Assistant}})
async def create_assistant(body: AssistantCreate, session: Session, state: State, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.create_assistant(session, state, actor, body))


@router.post("/search", summary="Search assistants", responses={200: {"model": AssistantSearchResult}})
async def search_assistants(body: AssistantSearch, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.search_assistants(session, actor, body))


@router.post("/count", summary="Count assistants", responses={200: {"model": int}})
async def count_assistants(body: AssistantFilter, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.count_assistants(session, actor, body))


@router.get("/{assistant_id}", summary="Get assistant", responses={200: {"model": Assistant}})
async def get_assistant(assistant_id: str, session: Session, state: State, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.get_assistant(session, state, actor, assistant_id))


@router.patch("/{assistant_id}", summary="Patch assistant (new version)", responses={200: {"model": Assistant}})
async def patch_assistant(
    assistant_id: str, body: AssistantPatch, session: Session, state: State, actor: CurrentActor
) -> JSONResponse:
    return JSONResponse(await service.patch_assistant(session, state, actor, assistant_id, body))


@router.delete("/{assistant_id}", summary="Delete assistant", status_code=204)
async def delete_assistant(
    assistant_id: str, session: Session, state: State, actor: CurrentActor, delete_threads: bool = False
) -> None:
    await service.delete_assistant(session, state, actor, assistant_id, delete_threads)


@router.post("/{assistant_id}/versions", summary="List assistant versions",
             responses={200: {"model": list[AssistantVersion]}})
async def list_versions(
    assistant_id: str, session: Session, state: State, actor: CurrentActor,
    body: AssistantVersionsSearch | None = None,
) -> JSONResponse:
    """The body is optional: without one, the newest versions (its defaults)."""
    return JSONResponse(await service.list_versions(session, state, actor, assistant_id,
                                                    body or AssistantVersionsSearch()))


@router.post("/{assistant_id}/latest", summary="Set latest version", responses={200: {"model": Assistant}})
async def set_latest(
    assistant_id: str, body: AssistantSetLatest, session: Session, state: State, actor: CurrentActor
) -> JSONResponse:
    return JSONResponse(await service.set_latest_version(session, state, actor, assistant_id, body.version))


@router.get("/{assistant_id}/graph", summary="Get assistant graph")
async def get_graph(
    assistant_id: str, session: Session, state: State, actor: CurrentActor,
    xray: str | None = Query(default=None, description="true, false, or a depth"),
) -> JSONResponse:
    return JSONResponse(await service.graph_drawing(session, state, actor, assistant_id, xray))


@router.get("/{assistant_id}/schemas", summary="Get assistant schemas", responses={200: {"model": GraphSchemas}})
async def get_schemas(assistant_id: str, session: Session, state: State, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.graph_schemas(session, state, actor, assistant_id))


@router.get("/{assistant_id}/subgraphs", summary="Get assistant subgraphs")
async def get_subgraphs(
    assistant_id: str, session: Session, state: State, actor: CurrentActor, recurse: bool = False
) -> JSONResponse:
    return JSONResponse(await service.subgraph_schemas(session, state, actor, assistant_id, None, recurse))


@router.get("/{assistant_id}/subgraphs/{namespace}", summary="Get assistant subgraphs by namespace")
async def get_subgraphs_in(
    assistant_id: str, namespace: str, session: Session, state: State, actor: CurrentActor, recurse: bool = False
) -> JSONResponse:
    return JSONResponse(await service.subgraph_schemas(session, state, actor, assistant_id, namespace, recurse))
