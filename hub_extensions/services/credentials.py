"""Provider credentials: create, read, update, delete. The API key is encrypted before it reaches the database
and is never read back by these functions; only calls (services/profiles_invoke.py) decrypt it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.utils.uuid import uuid7
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import Conflict, NotFound
from agent_server.settings import Settings
from hub_extensions.models.credentials import Credential, CredentialCreate, CredentialPatch
from hub_extensions.repositories import credentials as repo
from hub_extensions.services.encryption import api_key_hint, encrypt_api_key


def credential_not_found(credential_id: UUID) -> NotFound:
    return NotFound(f"Provider credential '{credential_id}' not found")


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return Credential.model_validate(row).model_dump(mode="json")


def _key_columns(settings: Settings, api_key: str | None) -> dict[str, Any]:
    if api_key is None:
        return {"api_key_encrypted": None, "api_key_hint": None}
    return {"api_key_encrypted": encrypt_api_key(settings, api_key), "api_key_hint": api_key_hint(api_key)}


def _active_conflict(tenant_id: str, provider_id: str) -> Conflict:
    return Conflict(f"tenant '{tenant_id}' already has an active credential for provider '{provider_id}': "
                    "deactivate it first (at most one is active)")


async def create_credential(session: AsyncSession, settings: Settings, body: CredentialCreate) -> dict[str, Any]:
    api_key = body.api_key.get_secret_value() if body.api_key else None
    values = {
        "id": uuid7(), "tenant_id": body.tenant_id, "provider_id": body.provider_id,
        "endpoint_url": body.endpoint_url, "is_active": body.is_active, **_key_columns(settings, api_key),
    }
    row = await repo.insert_credential(session, values)
    if row is None:
        raise _active_conflict(body.tenant_id, body.provider_id)
    return _shown(row)


async def get_credential(session: AsyncSession, credential_id: UUID) -> dict[str, Any]:
    row = await repo.get_credential(session, credential_id)
    if row is None:
        raise credential_not_found(credential_id)
    return _shown(row)


async def list_credentials(session: AsyncSession, *, tenant_id: str | None, provider_id: str | None,
                           is_active: bool | None, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await repo.list_credentials(session, tenant_id=tenant_id, provider_id=provider_id, is_active=is_active,
                                       limit=limit, offset=offset)
    return [_shown(row) for row in rows]


async def update_credential(session: AsyncSession, settings: Settings, credential_id: UUID,
                            body: CredentialPatch) -> dict[str, Any]:
    given = body.model_fields_set
    fields: dict[str, Any] = {}
    if "api_key" in given:
        fields |= _key_columns(settings, body.api_key.get_secret_value() if body.api_key else None)
    if "endpoint_url" in given:
        fields["endpoint_url"] = body.endpoint_url
    if "is_active" in given and body.is_active is not None:
        fields["is_active"] = body.is_active
    current = await repo.get_credential(session, credential_id)
    if current is None:
        raise credential_not_found(credential_id)
    if not fields:
        return _shown(current)
    try:
        row = await repo.update_credential(session, credential_id, fields)
    except repo.ActiveCredentialExists:
        raise _active_conflict(current["tenant_id"], current["provider_id"]) from None
    if row is None:
        raise credential_not_found(credential_id)
    return _shown(row)


async def delete_credential(session: AsyncSession, credential_id: UUID) -> None:
    if not await repo.delete_credential(session, credential_id):
        raise credential_not_found(credential_id)
