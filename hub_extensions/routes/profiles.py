"""Provider profiles (/hub/profiles): CRUD, the selection rule, invocation and its log; thin handlers over
services.profiles and services.profiles_invoke."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from agent_server.deps import ReadSession, Session, State
from agent_server.errors import ErrorResponses
from agent_server.models.common import ErrorBody, Limit, Offset
from agent_server.responses import JSONResponse
from hub_extensions.models.profiles import (
    Identifier,
    Invocation,
    InvokeResult,
    Profile,
    ProfileCreate,
    ProfileInvoke,
    ProfilePatch,
    Purpose,
)
from hub_extensions.services import profiles as service
from hub_extensions.services.profiles_invoke import invoke_profile

router = APIRouter(prefix="/hub/profiles", tags=["Hub Provider Profiles"], responses=ErrorResponses)

ProviderErrors: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorBody, "description": "The provider failed, refused the call or answered unreadably"},
    504: {"model": ErrorBody, "description": "The provider (or its async job) did not finish in time"},
}


@router.post("", summary="Create a provider profile", responses={200: {"model": Profile}})
async def create_profile(body: ProfileCreate, session: Session) -> JSONResponse:
    return JSONResponse(await service.create_profile(session, body))


@router.get("", summary="List provider profiles (most recently updated first)",
            responses={200: {"model": list[Profile]}})
async def list_profiles(
    session: ReadSession,
    tenant_id: Annotated[Identifier | None, Query()] = None,
    provider_id: Annotated[Identifier | None, Query()] = None,
    purpose: Purpose | None = None,
    is_active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    return JSONResponse(await service.list_profiles(session, tenant_id=tenant_id, provider_id=provider_id,
                                                    purpose=purpose, is_active=is_active, limit=limit, offset=offset))


@router.get("/select", summary="Select the profile for a call (exact model, then any model; newest first)",
            responses={200: {"model": Profile}})
async def select_profile(
    session: ReadSession,
    tenant_id: Annotated[Identifier, Query()],
    provider_id: Annotated[Identifier, Query()],
    purpose: Purpose,
    model_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    return JSONResponse(await service.select_profile(session, tenant_id=tenant_id, provider_id=provider_id,
                                                     purpose=purpose, model_id=model_id))


@router.get("/{profile_id}", summary="Get a provider profile", responses={200: {"model": Profile}})
async def get_profile(profile_id: UUID, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_profile(session, profile_id))


@router.patch("/{profile_id}", summary="Update a provider profile", responses={200: {"model": Profile}})
async def update_profile(profile_id: UUID, body: ProfilePatch, session: Session) -> JSONResponse:
    return JSONResponse(await service.update_profile(session, profile_id, body))


@router.delete("/{profile_id}", summary="Delete a provider profile (and its invocation log)", status_code=204)
async def delete_profile(profile_id: UUID, session: Session) -> None:
    await service.delete_profile(session, profile_id)


@router.post("/{profile_id}/invoke", summary="Call the provider through the profile and map its answer",
             responses={200: {"model": InvokeResult}, **ProviderErrors})
async def invoke(profile_id: UUID, state: State, body: ProfileInvoke | None = None) -> JSONResponse:
    return JSONResponse(await invoke_profile(state, profile_id, body or ProfileInvoke()))


@router.get("/{profile_id}/invocations", summary="The profile's invocations (newest first)",
            responses={200: {"model": list[Invocation]}})
async def list_invocations(profile_id: UUID, session: ReadSession, limit: Limit = 100,
                           offset: Offset = 0) -> JSONResponse:
    return JSONResponse(await service.list_invocations(session, profile_id, limit=limit, offset=offset))
