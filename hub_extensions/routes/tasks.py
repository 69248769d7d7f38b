"""The task manager's HTTP API under /hub/tasks: thin handlers over services.tasks.

Literal paths (/ready, /claim) are declared before /{task_id}, which would otherwise take them as ids.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from agent_server.deps import CurrentActor, ReadSession, Session
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.tasks import (
    DependencyAdd,
    HistoryEntry,
    ReadyQuery,
    Task,
    TaskClaim,
    TaskCreate,
    TaskDetail,
    TaskPage,
    TaskPatch,
    TaskQuery,
    TaskReopen,
)
from hub_extensions.services import tasks as service

router = APIRouter(prefix="/hub/tasks", tags=["Hub tasks"], responses=ErrorResponses)
DETAIL = {"model": TaskDetail}


@router.post("", status_code=201, summary="Create a task (with its subtasks, tags and dependencies)",
             responses={201: DETAIL})
async def create_task(body: TaskCreate, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.create_task(session, actor, body), status_code=201)


@router.get("", summary="List and search tasks (filters, sort, pagination)", responses={200: {"model": TaskPage}})
async def search_tasks(query: Annotated[TaskQuery, Query()], session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.search_tasks(session, query))


@router.get("/ready", summary="Ready tasks (pending, not deferred, no open blocker), in claim order",
            responses={200: {"model": list[Task]}})
async def ready_tasks(query: Annotated[ReadyQuery, Query()], session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.ready_tasks(session, query))


@router.post(
    "/claim", summary="Claim the queue's next ready task (in_progress, assigned to the agent); 204 if none is ready",
    responses={200: DETAIL, 204: {"description": "No task is ready in the queue"}},
)
async def claim_task(body: TaskClaim, session: Session) -> Response:
    task = await service.claim_task(session, body)
    return JSONResponse(task) if task is not None else Response(status_code=204)


@router.get("/{task_id}", summary="Get a task with its subtasks, dependencies and history", responses={200: DETAIL})
async def get_task(task_id: UUID, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.task_detail(session, task_id))


@router.patch("/{task_id}", responses={200: DETAIL},
              summary="Update a task (each change goes to its history; done/cancelled -> pending only by reopen)")
async def update_task(task_id: UUID, body: TaskPatch, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.update_task(session, actor, task_id, body))


@router.delete("/{task_id}", status_code=204, summary="Delete a task and its subtasks")
async def delete_task(task_id: UUID, session: Session) -> Response:
    await service.delete_task(session, task_id)
    return Response(status_code=204)


@router.post("/{task_id}/reopen", summary="Reopen a done or cancelled task (back to pending)", responses={200: DETAIL})
async def reopen_task(task_id: UUID, body: TaskReopen, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.reopen_task(session, actor, task_id, body))


@router.get("/{task_id}/history", summary="A task's history, oldest first",
            responses={200: {"model": list[HistoryEntry]}})
async def task_history(task_id: UUID, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.task_history(session, task_id))


@router.post("/{task_id}/dependencies", responses={200: DETAIL},
             summary="Add a dependency edge (blocks or related), or change its kind")
async def add_dependency(task_id: UUID, body: DependencyAdd, session: Session, actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.add_dependency(session, actor, task_id, body))


@router.delete("/{task_id}/dependencies/{depends_on_task_id}", responses={200: DETAIL},
               summary="Remove a dependency edge")
async def remove_dependency(task_id: UUID, depends_on_task_id: UUID, session: Session,
                            actor: CurrentActor) -> JSONResponse:
    return JSONResponse(await service.remove_dependency(session, actor, task_id, depends_on_task_id))
