"""/threads: thin handlers over services.threads (the thread record) and services.thread_state (its state)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from agent_server.deps import CurrentActor, Session, State, state_and_actor
from agent_server.errors import ErrorResponses
from agent_server.models.threads import (
    HistoryLimit,
    HistorySearch,
    PruneResult,
    StateAtCheckpoint,
    StateUpdate,
    StateUpdateResult,
    Thread,
    ThreadCreate,
    ThreadFilter,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    ThreadSearchResult,
    ThreadState,
)
from agent_server.responses import JSONResponse
from agent_server.services import thread_state
from agent_server.services import threads as service

router = APIRouter(prefix="/threads", tags=["Threads"], responses=ErrorResponses)


def history_query(
    limit: HistoryLimit = 1,
    before: Annotated[str | None, Query(description="a checkpoint id")] = None,
    metadata: Annotated[str | None, Query(description="a JSON object the checkpoints' metadata contains")] = None,
    checkpoint_ns: Annotated[str | None, Query(description="a subgraph's namespace")] = None,
) -> HistorySearch:
    """GET /history's query string as the POST body it abbreviates."""
    try:
        parsed = orjson.loads(metadata) if metadata is not None else None
    except orjson.JSONDecodeError:
        raise RequestValidationError([{"loc": ("query", "metadata"), "msg": "must be JSON", "type": "json_invalid"}]) \
            from None
    checkpoint = {"checkpoint_ns": checkpoint_ns} if checkpoint_ns is not None else None
    try:
        return HistorySearch.model_validate(
            {"limit": limit, "before": before, "metadata": parsed, "checkpoint": checkpoint})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.post("", summary="Create thread", responses={200: {"model": Thread}})
async def create_thread(body: ThreadCreate, request: Request) -> JSONResponse:
    # State and user come from the request, not from FastAPI dependencies (~33 µs per request, as for runs).
    return JSONResponse(await service.create_thread(*state_and_actor(request), body))


@router.post("/search", summary="Search threads", responses={200: {"model": ThreadSearchResult}})
async def search_threads(body: ThreadSearch, session: Session, actor: CurrentActor) -> JSONResponse:
    threads, headers = await service.search_threads(session, actor, body)
    return JSONResponse(threads, headers=headers)


@router.post("/count", summary="Count threads", responses={200: {"model": int}})
async def count_threads(body: ThreadFilter, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.count_threads(session, actor, body))


@router.post("/prune", summary="Prune threads", responses={200: {"model": PruneResult}})
async def prune_threads(body: ThreadPrune, session: Session, state: State, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.prune_threads(session, state, actor, body))


@router.get("/{thread_id}", summary="Get thread", responses={200: {"model": Thread}})
async def get_thread(thread_id: UUID, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.get_thread(session, actor, thread_id))


@router.patch("/{thread_id}", summary="Patch thread (merge metadata)", responses={200: {"model": Thread}})
async def patch_thread(
    thread_id: UUID, body: ThreadPatch, session: Session, actor: CurrentActor,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    thread = await service.patch_thread(session, actor, thread_id, body)
    return Response(status_code=204) if prefer == "return=minimal" else JSONResponse(thread)


@router.delete("/{thread_id}", summary="Delete thread", status_code=204)
async def delete_thread(thread_id: UUID, session: Session, state: State, actor: CurrentActor) -> None:
    await service.delete_thread(session, state, actor, thread_id)


@router.post("/{thread_id}/copy", summary="Copy thread", responses={200: {"model": Thread}})
async def copy_thread(thread_id: UUID, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.copy_thread(session, actor, thread_id))


@router.get("/{thread_id}/state", summary="Get thread state", responses={200: {"model": ThreadState}})
async def get_state(thread_id: UUID, session: Session, state: State, actor: CurrentActor,
                    subgraphs: bool = False) -> JSONResponse:
    return JSONResponse(await thread_state.get_state(session, state, actor, thread_id, subgraphs=subgraphs))


@router.post("/{thread_id}/state", summary="Update thread state", responses={200: {"model": StateUpdateResult}})
async def update_state(thread_id: UUID, body: StateUpdate, session: Session, state: State,
                       actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await thread_state.update_state(session, state, actor, thread_id, body))


@router.post("/{thread_id}/state/checkpoint", summary="Get thread state at a checkpoint",
             responses={200: {"model": ThreadState}})
async def get_state_at(thread_id: UUID, body: StateAtCheckpoint, session: Session, state: State,
                       actor: CurrentActor) -> JSONResponse:
    checkpoint = body.checkpoint.configurable()
    return JSONResponse(await thread_state.get_state(session, state, actor, thread_id, checkpoint,
        subgraphs=body.subgraphs))


@router.get("/{thread_id}/state/{checkpoint_id}", summary="Get thread state at a checkpoint id",
            responses={200: {"model": ThreadState}})
async def get_state_at_id(
    thread_id: UUID, checkpoint_id: str, session: Session, state: State, actor: CurrentActor, subgraphs: bool = False
) -> JSONResponse:
    checkpoint = {"checkpoint_id": checkpoint_id}
    return JSONResponse(await thread_state.get_state(session, state, actor, thread_id, checkpoint, subgraphs=subgraphs))


@router.get("/{thread_id}/history", summary="Get thread history", responses={200: {"model": list[ThreadState]}})
async def get_history(
    thread_id: UUID, query: Annotated[HistorySearch, Depends(history_query)], session: Session, state: State,
        actor: CurrentActor
) -> JSONResponse:
    return JSONResponse(await thread_state.get_history(session, state, actor, thread_id, query))


@router.post("/{thread_id}/history", summary="Search thread history", responses={200: {"model": list[ThreadState]}})
async def search_history(thread_id: UUID, body: HistorySearch, session: Session, state: State,
                         actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await thread_state.get_history(session, state, actor, thread_id, body))
