"""SQL for provider profiles, their selection rule, and their invocation log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from hub_extensions.tables.profiles import ModelApiProfile, ModelApiProfileInvocation

PROFILE_COLUMNS = tuple(ModelApiProfile.__table__.columns)
INVOCATION_COLUMNS = tuple(ModelApiProfileInvocation.__table__.columns)


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


async def insert_profile(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    row = (await session.execute(insert(ModelApiProfile).values(**values).returning(*PROFILE_COLUMNS))).one()
    return _as_dict(row)


async def get_profile(session: AsyncSession, profile_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = select(*PROFILE_COLUMNS).where(ModelApiProfile.id == profile_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


def _profile_filters(tenant_id: str | None, provider_id: str | None, purpose: str | None,
                     is_active: bool | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        conditions.append(ModelApiProfile.tenant_id == tenant_id)
    if provider_id is not None:
        conditions.append(ModelApiProfile.provider_id == provider_id)
    if purpose is not None:
        conditions.append(ModelApiProfile.purpose == purpose)
    if is_active is not None:
        conditions.append(ModelApiProfile.is_active.is_(is_active))
    return conditions


async def list_profiles(session: AsyncSession, *, tenant_id: str | None, provider_id: str | None,
                        purpose: str | None, is_active: bool | None, limit: int, offset: int) -> list[dict[str, Any]]:
    stmt = (select(*PROFILE_COLUMNS).where(*_profile_filters(tenant_id, provider_id, purpose, is_active))
            .order_by(ModelApiProfile.updated_at.desc(), ModelApiProfile.id.desc()).limit(limit).offset(offset))
    return [_as_dict(row) for row in (await session.execute(stmt)).all()]


async def select_profile(session: AsyncSession, *, tenant_id: str, provider_id: str, purpose: str,
                         model_id: str | None) -> dict[str, Any] | None:
    """The active profile for the model: one made for exactly this model first, then one for any model (model_id
    NULL); among equals the most recently updated."""
    model_matches: ColumnElement[bool] = ModelApiProfile.model_id.is_(None)
    if model_id is not None:
        model_matches = (ModelApiProfile.model_id == model_id) | model_matches
    stmt = (
        select(*PROFILE_COLUMNS)
        .where(ModelApiProfile.tenant_id == tenant_id, ModelApiProfile.provider_id == provider_id,
               ModelApiProfile.purpose == purpose, ModelApiProfile.is_active.is_(True), model_matches)
        .order_by(ModelApiProfile.model_id.is_(None), ModelApiProfile.updated_at.desc(), ModelApiProfile.id.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def update_profile(session: AsyncSession, profile_id: UUID, fields: dict[str, Any]) -> dict[str, Any] | None:
    stmt = (update(ModelApiProfile).where(ModelApiProfile.id == profile_id)
            .values(**fields, updated_at=func.now()).returning(*PROFILE_COLUMNS))
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def delete_profile(session: AsyncSession, profile_id: UUID) -> bool:
    result = await session.execute(
        delete(ModelApiProfile).where(ModelApiProfile.id == profile_id).returning(ModelApiProfile.id))
    return result.first() is not None


async def insert_invocation(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(ModelApiProfileInvocation).values(**values))


async def list_invocations(session: AsyncSession, profile_id: UUID, *, limit: int,
                           offset: int) -> list[dict[str, Any]]:
    stmt = (select(*INVOCATION_COLUMNS).where(ModelApiProfileInvocation.profile_id == profile_id)
            .order_by(ModelApiProfileInvocation.created_at.desc(), ModelApiProfileInvocation.id.desc())
            .limit(limit).offset(offset))
    return [_as_dict(row) for row in (await session.execute(stmt)).all()]
