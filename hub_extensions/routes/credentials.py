"""Provider credentials (/hub/credentials): thin handlers over services.credentials. API keys are write-only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from agent_server.deps import ReadSession, Session, State
from agent_server.errors import ErrorResponses
from agent_server.models.common import Limit, Offset
from agent_server.responses import JSONResponse
from hub_extensions.models.credentials import Credential, CredentialCreate, CredentialPatch
from hub_extensions.models.profiles import Identifier
from hub_extensions.services import credentials as service

router = APIRouter(prefix="/hub/credentials", tags=["Hub Provider Credentials"], responses=ErrorResponses)


@router.post("", summary="Create a provider credential (the API key is stored encrypted)",
             responses={200: {"model": Credential}})
async def create_credential(body: CredentialCreate, session: Session, state: State) -> JSONResponse:
    return JSONResponse(await service.create_credential(session, state.settings, body))


@router.get("", summary="List provider credentials (newest first)", responses={200: {"model": list[Credential]}})
async def list_credentials(
    session: ReadSession,
    tenant_id: Annotated[Identifier | None, Query()] = None,
    provider_id: Annotated[Identifier | None, Query()] = None,
    is_active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    return JSONResponse(await service.list_credentials(
        session, tenant_id=tenant_id, provider_id=provider_id, is_active=is_active, limit=limit, offset=offset))


@router.get("/{credential_id}", summary="Get a provider credential", responses={200: {"model": Credential}})
async def get_credential(credential_id: UUID, session: ReadSession) -> JSONResponse:
    return JSONResponse(await service.get_credential(session, credential_id))


@router.patch("/{credential_id}", summary="Update a provider credential (api_key: null removes the key)",
              responses={200: {"model": Credential}})
async def update_credential(credential_id: UUID, body: CredentialPatch, session: Session,
                            state: State) -> JSONResponse:
    return JSONResponse(await service.update_credential(session, state.settings, credential_id, body))


@router.delete("/{credential_id}", summary="Delete a provider credential", status_code=204)
async def delete_credential(credential_id: UUID, session: Session) -> None:
    await service.delete_credential(session, credential_id)
