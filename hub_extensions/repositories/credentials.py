"""SQL for provider credentials. The encrypted key column is read only by `active_credential` (for calls)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from hub_extensions.tables.profiles import ProviderApiCredential

PUBLIC_COLUMNS = (
    ProviderApiCredential.id, ProviderApiCredential.tenant_id, ProviderApiCredential.provider_id,
    ProviderApiCredential.endpoint_url, ProviderApiCredential.is_active,
    ProviderApiCredential.api_key_encrypted.is_not(None).label("has_api_key"), ProviderApiCredential.api_key_hint,
    ProviderApiCredential.created_at, ProviderApiCredential.updated_at,
)


class ActiveCredentialExists(Exception):
    """The tenant already has an active credential for the provider (at most one may be active)."""


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


async def insert_credential(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """The new credential; None if it is active and the tenant already has an active one for the provider."""
    stmt = (insert(ProviderApiCredential).values(**values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "provider_id"], index_where=text("is_active"))
            .returning(*PUBLIC_COLUMNS))
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def get_credential(session: AsyncSession, credential_id: UUID) -> dict[str, Any] | None:
    row = (await session.execute(select(*PUBLIC_COLUMNS).where(ProviderApiCredential.id == credential_id))).first()
    return _as_dict(row) if row else None


async def list_credentials(session: AsyncSession, *, tenant_id: str | None, provider_id: str | None,
                           is_active: bool | None, limit: int, offset: int) -> list[dict[str, Any]]:
    conditions: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        conditions.append(ProviderApiCredential.tenant_id == tenant_id)
    if provider_id is not None:
        conditions.append(ProviderApiCredential.provider_id == provider_id)
    if is_active is not None:
        conditions.append(ProviderApiCredential.is_active.is_(is_active))
    stmt = (select(*PUBLIC_COLUMNS).where(*conditions)
            .order_by(ProviderApiCredential.created_at.desc(), ProviderApiCredential.id.desc())
            .limit(limit).offset(offset))
    return [_as_dict(row) for row in (await session.execute(stmt)).all()]


async def update_credential(session: AsyncSession, credential_id: UUID,
                            fields: dict[str, Any]) -> dict[str, Any] | None:
    """Raises ActiveCredentialExists when the change would make a second active credential."""
    stmt = (update(ProviderApiCredential).where(ProviderApiCredential.id == credential_id)
            .values(**fields, updated_at=func.now()).returning(*PUBLIC_COLUMNS))
    try:
        row = (await session.execute(stmt)).first()
    except IntegrityError as exc:
        raise ActiveCredentialExists from exc
    return _as_dict(row) if row else None


async def delete_credential(session: AsyncSession, credential_id: UUID) -> bool:
    result = await session.execute(
        delete(ProviderApiCredential).where(ProviderApiCredential.id == credential_id)
        .returning(ProviderApiCredential.id))
    return result.first() is not None


async def active_credential(session: AsyncSession, tenant_id: str, provider_id: str) -> dict[str, Any] | None:
    """The tenant's active credential for the provider, with its encrypted key, to make a call with."""
    stmt = select(ProviderApiCredential.id, ProviderApiCredential.api_key_encrypted,
                  ProviderApiCredential.endpoint_url).where(
        ProviderApiCredential.tenant_id == tenant_id, ProviderApiCredential.provider_id == provider_id,
        ProviderApiCredential.is_active.is_(True),
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None
