"""The model registry's models, aliases and groups, and model resolution: thin handlers over services.registry.

Named objects are addressed by name or id (`{ref}` may contain `/`, as LiteLLM-style names do).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agent_server.deps import ReadSession, Session
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.registry import (
    Alias,
    AliasCreate,
    AliasFilters,
    AliasPatch,
    Group,
    GroupCreate,
    GroupFilters,
    GroupPatch,
    Model,
    ModelCreate,
    ModelFilters,
    ModelPatch,
    Resolution,
    ResolveRequest,
)
from hub_extensions.services import registry as service
from hub_extensions.services import registry_resolve

router = APIRouter(prefix="/hub", tags=["Hub model registry"], responses=ErrorResponses)


@router.post("/models/resolve", summary="Resolve an alias (or model) to the ordered models to call",
             responses={200: {"model": Resolution}})
async def resolve_model(body: ResolveRequest, session: ReadSession) -> JSONResponse:
    return JSONResponse(await registry_resolve.resolve(session, body))


@router.post("/models", summary="Register a model", status_code=201, responses={201: {"model": Model}})
async def create_model(body: ModelCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_model(session, body), status_code=201)


@router.get("/models", summary="List models", responses={200: {"model": list[Model]}})
async def list_models(session: ReadSession, query: Annotated[ModelFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_models(session, query))


@router.get("/models/{ref:path}", summary="Get a model by name or id", responses={200: {"model": Model}})
async def get_model(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_model(session, ref))


@router.patch("/models/{ref:path}", summary="Update a model", responses={200: {"model": Model}})
async def update_model(ref: str, body: ModelPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_model(session, ref, body))


@router.delete("/models/{ref:path}", summary="Delete a model (409 while aliases or agents use it)", status_code=204)
async def delete_model(ref: str, session: Session) -> None:
    await service.delete_model(session, ref)


@router.post("/aliases", summary="Create an alias", status_code=201, responses={201: {"model": Alias}})
async def create_alias(body: AliasCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_alias(session, body), status_code=201)


@router.get("/aliases", summary="List aliases", responses={200: {"model": list[Alias]}})
async def list_aliases(session: ReadSession, query: Annotated[AliasFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_aliases(session, query))


@router.get("/aliases/{ref:path}", summary="Get an alias by name or id", responses={200: {"model": Alias}})
async def get_alias(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_alias(session, ref))


@router.patch("/aliases/{ref:path}", summary="Update an alias", responses={200: {"model": Alias}})
async def update_alias(ref: str, body: AliasPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_alias(session, ref, body))


@router.delete("/aliases/{ref:path}", summary="Delete an alias (409 while a fallback or group names it)",
               status_code=204)
async def delete_alias(ref: str, session: Session) -> None:
    await service.delete_alias(session, ref)


@router.post("/groups", summary="Create a model group", status_code=201, responses={201: {"model": Group}})
async def create_group(body: GroupCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_group(session, body), status_code=201)


@router.get("/groups", summary="List model groups", responses={200: {"model": list[Group]}})
async def list_groups(session: ReadSession, query: Annotated[GroupFilters, Query()]) -> JSONResponse:
    return JSONResponse(await service.list_groups(session, query))


@router.get("/groups/{ref:path}", summary="Get a model group by name or id", responses={200: {"model": Group}})
async def get_group(ref: str, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_group(session, ref))


@router.patch("/groups/{ref:path}", summary="Update a model group", responses={200: {"model": Group}})
async def update_group(ref: str, body: GroupPatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_group(session, ref, body))


@router.delete("/groups/{ref:path}", summary="Delete a model group", status_code=204)
async def delete_group(ref: str, session: Session) -> None:
    await service.delete_group(session, ref)
