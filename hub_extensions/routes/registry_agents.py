"""The model registry's skills, MCP servers, configured agents and executions: thin handlers over
services.registry_agents. Named objects are addressed by name or id; executions by id.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from agent_server.deps import ReadSession, Session
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.registry import (
    Agent,
    AgentCreate,
    AgentFilters,
    AgentPatch,
    Execution,
    ExecutionCreate,
    ExecutionFilters,
    ExecutionPatch,
    Mcp,
    McpCreate,
    McpFilters,
    McpPatch,
    Skill,
    SkillCreate,
    SkillFilters,
    SkillPatch,
)
from hub_extensions.services import registry_agents as service

router = APIRouter(prefix="/hub", tags=["Hub agents"], responses=ErrorResponses)


@router.post("/skills", summary="Create a skill", status_code=201, responses={201: {"model": Skill}})
async def create_skill(body: SkillCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_skill(session, body), status_code=201)


@router.get("/skills", summary="List skills", responses={200: {"model": list[Skill]}})
async def list_skills(session: ReadSession, query: Annotated[SkillFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_skills(session, query))


@router.get("/skills/{ref:path}", summary="Get a skill by name or id", responses={200: {"model": Skill}})
async def get_skill(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_skill(session, ref))


@router.patch("/skills/{ref:path}", summary="Update a skill", responses={200: {"model": Skill}})
async def update_skill(ref: str, body: SkillPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_skill(session, ref, body))


@router.delete("/skills/{ref:path}", summary="Delete a skill (409 while agents use it)", status_code=204)
async def delete_skill(ref: str, session: Session) -> None:
    await service.delete_skill(session, ref)


@router.post("/mcps", summary="Create an MCP server", status_code=201, responses={201: {"model": Mcp}})
async def create_mcp(body: McpCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_mcp(session, body), status_code=201)


@router.get("/mcps", summary="List MCP servers", responses={200: {"model": list[Mcp]}})
async def list_mcps(session: ReadSession, query: Annotated[McpFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_mcps(session, query))


@router.get("/mcps/{ref:path}", summary="Get an MCP server by name or id", responses={200: {"model": Mcp}})
async def get_mcp(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_mcp(session, ref))


@router.patch("/mcps/{ref:path}", summary="Update an MCP server", responses={200: {"model": Mcp}})
async def update_mcp(ref: str, body: McpPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_mcp(session, ref, body))


@router.delete("/mcps/{ref:path}", summary="Delete an MCP server (409 while agents use it)", status_code=204)
async def delete_mcp(ref: str, session: Session) -> None:
    await service.delete_mcp(session, ref)


@router.post("/agents", summary="Create a configured agent", status_code=201, responses={201: {"model": Agent}})
async def create_agent(body: AgentCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_agent(session, body), status_code=201)


@router.get("/agents", summary="List configured agents", responses={200: {"model": list[Agent]}})
async def list_agents(session: ReadSession, query: Annotated[AgentFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_agents(session, query))


@router.get("/agents/{ref:path}", summary="Get a configured agent by name or id", responses={200: {"model": Agent}})
async def get_agent(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_agent(session, ref))


@router.patch("/agents/{ref:path}", summary="Update a configured agent", responses={200: {"model": Agent}})
async def update_agent(ref: str, body: AgentPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_agent(session, ref, body))


@router.delete("/agents/{ref:path}", summary="Delete a configured agent (its executions stay)", status_code=204)
async def delete_agent(ref: str, session: Session) -> None:
    await service.delete_agent(session, ref)


@router.post("/executions", summary="Record an agent execution", status_code=201,
             responses={201: {"model": Execution}})
async def create_execution(body: ExecutionCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_execution(session, body), status_code=201)


@router.get("/executions", summary="List agent executions, newest first", responses={200: {"model": list[Execution]}})
async def list_executions(session: ReadSession, query: Annotated[ExecutionFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_executions(session, query))


@router.get("/executions/{execution_id}", summary="Get an agent execution", responses={200: {"model": Execution}})
async def get_execution(execution_id: UUID, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_execution(session, execution_id))


@router.patch("/executions/{execution_id}", summary="Update an agent execution (status, output, usage, error)",
              responses={200: {"model": Execution}})
async def update_execution(execution_id: UUID, body: ExecutionPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_execution(session, execution_id, body))


@router.delete("/executions/{execution_id}", summary="Delete an agent execution", status_code=204)
async def delete_execution(execution_id: UUID, session: Session) -> None:
    await service.delete_execution(session, execution_id)
