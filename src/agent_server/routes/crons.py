"""Crons (scheduled runs): thin handlers over services.crons."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from agent_server.deps import CurrentActor, Session, State
from agent_server.errors import ErrorResponses
from agent_server.models.crons import Cron, CronCount, CronCreate, CronPatch, CronSearch, CronSearchResult
from agent_server.responses import JSONResponse
from agent_server.services import crons as service

router = APIRouter(tags=["Crons"], responses=ErrorResponses)


@router.post("/threads/{thread_id}/runs/crons", summary="Create a cron on a thread",
             responses={200: {"model": Cron}})
async def create_thread_cron(
    thread_id: UUID, body: CronCreate, session: Session, state: State, actor: CurrentActor
) -> JSONResponse:
    return JSONResponse(await service.create_cron(session, state, actor, body, thread_id))


@router.post("/runs/crons", summary="Create a stateless cron (a new thread per run)",
             responses={200: {"model": Cron}})
async def create_cron(body: CronCreate, session: Session, state: State, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.create_cron(session, state, actor, body, None))


@router.post("/runs/crons/search", summary="Search crons", responses={200: {"model": CronSearchResult}})
async def search_crons(body: CronSearch, session: Session, actor: CurrentActor) -> JSONResponse:
    crons, headers = await service.search_crons(session, actor, body)
    return JSONResponse(crons, headers=headers)


@router.post("/runs/crons/count", summary="Count crons", responses={200: {"model": int}})
async def count_crons(body: CronCount, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.count_crons(session, actor, body))


@router.get("/runs/crons/{cron_id}", summary="Get cron", responses={200: {"model": Cron}})
async def get_cron(cron_id: UUID, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.get_cron(session, actor, cron_id))


@router.patch("/runs/crons/{cron_id}", summary="Update cron", responses={200: {"model": Cron}})
async def update_cron(
    cron_id: UUID, body: CronPatch, session: Session, state: State, actor: CurrentActor
) -> JSONResponse:
    return JSONResponse(await service.update_cron(session, state, actor, cron_id, body))


@router.delete("/runs/crons/{cron_id}", summary="Delete cron", status_code=204)
async def delete_cron(cron_id: UUID, session: Session, actor: CurrentActor) -> None:
    await service.delete_cron(session, actor, cron_id)
