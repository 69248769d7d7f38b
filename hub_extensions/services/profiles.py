"""Provider profiles: create, read, update, delete, the selection rule, and the invocation log.

Running a profile is services/profiles_invoke.py; the HTTP exchange services/profiles_http.py; reading the answer
services/profiles_mapping.py.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.utils.uuid import uuid7
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import NotFound, Unprocessable
from hub_extensions.models.profiles import Invocation, Profile, ProfileCreate, ProfileFields, ProfilePatch
from hub_extensions.repositories import profiles as repo

NULLABLE_FIELDS = ("model_id", "description", "workflow")


def profile_not_found(profile_id: UUID) -> NotFound:
    return NotFound(f"Profile '{profile_id}' not found")


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return Profile.model_validate(row).model_dump(mode="json")


def _columns(fields: ProfileFields) -> dict[str, Any]:
    return fields.model_dump(mode="json")


async def create_profile(session: AsyncSession, body: ProfileCreate) -> dict[str, Any]:
    return shown(await repo.insert_profile(session, {"id": uuid7(), **_columns(body)}))


async def get_profile(session: AsyncSession, profile_id: UUID) -> dict[str, Any]:
    row = await repo.get_profile(session, profile_id)
    if row is None:
        raise profile_not_found(profile_id)
    return shown(row)


async def list_profiles(session: AsyncSession, *, tenant_id: str | None, provider_id: str | None,
                        purpose: str | None, is_active: bool | None, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await repo.list_profiles(session, tenant_id=tenant_id, provider_id=provider_id, purpose=purpose,
                                    is_active=is_active, limit=limit, offset=offset)
    return [shown(row) for row in rows]


async def select_profile(session: AsyncSession, *, tenant_id: str, provider_id: str, purpose: str,
                         model_id: str | None) -> dict[str, Any]:
    row = await repo.select_profile(session, tenant_id=tenant_id, provider_id=provider_id, purpose=purpose,
                                    model_id=model_id)
    if row is None:
        model = f"model '{model_id}' (or any model)" if model_id else "any model"
        raise NotFound(f"No active profile for tenant '{tenant_id}', provider '{provider_id}', purpose '{purpose}' "
                       f"and {model}")
    return shown(row)


def _validation_detail(exc: ValidationError) -> str:
    """The same `loc: message` summary request validation gives."""
    issues = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        issues.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(issues)


def _patched(current: dict[str, Any], body: ProfilePatch) -> ProfileFields:
    """The stored profile with the patch applied, checked as a whole (a new mapping must fit the workflow)."""
    merged = Profile.model_validate(current).model_dump(mode="json")
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is not None or name in NULLABLE_FIELDS:
            merged[name] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    try:
        return ProfileFields.model_validate(merged)
    except ValidationError as exc:
        raise Unprocessable(_validation_detail(exc)) from None


async def update_profile(session: AsyncSession, profile_id: UUID, body: ProfilePatch) -> dict[str, Any]:
    current = await repo.get_profile(session, profile_id, for_update=True)
    if current is None:
        raise profile_not_found(profile_id)
    if not body.model_fields_set:
        return shown(current)
    row = await repo.update_profile(session, profile_id, _columns(_patched(current, body)))
    if row is None:
        raise profile_not_found(profile_id)
    return shown(row)


async def delete_profile(session: AsyncSession, profile_id: UUID) -> None:
    if not await repo.delete_profile(session, profile_id):
        raise profile_not_found(profile_id)


async def list_invocations(session: AsyncSession, profile_id: UUID, *, limit: int,
                           offset: int) -> list[dict[str, Any]]:
    if await repo.get_profile(session, profile_id) is None:
        raise profile_not_found(profile_id)
    rows = await repo.list_invocations(session, profile_id, limit=limit, offset=offset)
    return [Invocation.model_validate(row).model_dump(mode="json") for row in rows]
