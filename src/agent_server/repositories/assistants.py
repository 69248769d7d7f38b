"""SQL for assistants and their versions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.tables import Assistant, AssistantVersion, Thread
from agent_server.repositories.common import Scope, escape_like, jsonb_contains, metadata_scope, order, paginate

COLUMNS = (
    Assistant.assistant_id, Assistant.graph_id, Assistant.name, Assistant.description, Assistant.config,
    Assistant.context, Assistant.metadata_, Assistant.version, Assistant.created_at, Assistant.updated_at,
)
VERSION_COLUMNS = (
    AssistantVersion.assistant_id, AssistantVersion.graph_id, AssistantVersion.name,
    AssistantVersion.description, AssistantVersion.config, AssistantVersion.context,
    AssistantVersion.metadata_, AssistantVersion.version, AssistantVersion.created_at,
)
SORT_COLUMNS = {
    "assistant_id": Assistant.assistant_id, "graph_id": Assistant.graph_id, "name": Assistant.name,
    "created_at": Assistant.created_at, "updated_at": Assistant.updated_at,
}


def _as_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["metadata"] = data.pop("metadata_", data.get("metadata"))
    return data


def _filters(metadata: dict[str, Any] | None, graph_id: str | None, name: str | None,
             scope: Scope) -> list[ColumnElement[bool]]:
    conditions = metadata_scope(Assistant.metadata_, scope)
    if metadata:
        conditions.append(jsonb_contains(Assistant.metadata_, metadata))
    if graph_id:
        conditions.append(Assistant.graph_id == graph_id)
    if name:
        conditions.append(Assistant.name.ilike(f"%{escape_like(name)}%", escape="\\"))
    return conditions


# Built once: every run reads its assistant, and building the statement cost more than running it.
GET_SQL = text(
    "SELECT assistant_id, graph_id, name, description, config, context, metadata, version, created_at, updated_at "
    "FROM assistants WHERE assistant_id = :assistant_id"
)


async def get(session: AsyncSession, assistant_id: UUID) -> dict[str, Any] | None:
    """The server's own lookup (workers running a run): no auth scope. Requests use `get_visible`."""
    row = (await session.execute(GET_SQL, {"assistant_id": assistant_id})).first()
    return dict(row._mapping) if row else None


async def get_visible(session: AsyncSession, assistant_id: UUID, *, scope: Scope) -> dict[str, Any] | None:
    """The assistant, if it exists and `scope` (an auth handler's filters on its metadata) lets the caller see it."""
    if not scope:
        return await get(session, assistant_id)
    stmt = select(*COLUMNS).where(Assistant.assistant_id == assistant_id, *metadata_scope(Assistant.metadata_, scope))
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def insert_new(session: AsyncSession, values: dict[str, Any], *, skip_if_exists: bool) -> dict[str, Any] | None:
    """Insert an assistant and its version 1; None when it exists already (and `skip_if_exists`)."""
    stmt = pg_insert(Assistant).values(**_to_columns(values), version=1)
    if skip_if_exists:
        stmt = stmt.on_conflict_do_nothing(index_elements=[Assistant.assistant_id])
    row = (await session.execute(stmt.returning(*COLUMNS))).first()
    if row is None:
        return None
    created = _as_dict(row)
    await insert_version(session, created)
    return created


async def insert_version(session: AsyncSession, assistant: dict[str, Any]) -> None:
    await session.execute(
        insert(AssistantVersion).values(
            assistant_id=assistant["assistant_id"], version=assistant["version"],
            graph_id=assistant["graph_id"], name=assistant["name"], description=assistant["description"],
            config=assistant["config"], context=assistant["context"], metadata_=assistant["metadata"],
        )
    )


async def latest_version_number(session: AsyncSession, assistant_id: UUID) -> int:
    stmt = select(func.coalesce(func.max(AssistantVersion.version), 0)).where(
        AssistantVersion.assistant_id == assistant_id
    )
    return int((await session.execute(stmt)).scalar_one())


async def lock(session: AsyncSession, assistant_id: UUID, *, scope: Scope) -> dict[str, Any] | None:
    """The assistant locked for this transaction; None if it is missing or outside `scope`."""
    stmt = select(*COLUMNS).where(Assistant.assistant_id == assistant_id, *metadata_scope(Assistant.metadata_, scope))
    stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def replace(session: AsyncSession, assistant_id: UUID, values: dict[str, Any]) -> dict[str, Any]:
    """Overwrite the assistant with `values` (a new or restored version); callers hold its `lock` (scoped)."""
    stmt = (
        update(Assistant)
        .where(Assistant.assistant_id == assistant_id)
        .values(**_to_columns(values), version=values["version"], updated_at=func.now())
        .returning(*COLUMNS)
    )
    return _as_dict((await session.execute(stmt)).one())


async def get_version(session: AsyncSession, assistant_id: UUID, version: int) -> dict[str, Any] | None:
    stmt = select(*VERSION_COLUMNS).where(
        AssistantVersion.assistant_id == assistant_id, AssistantVersion.version == version
    )
    row = (await session.execute(stmt)).first()
    return _as_dict(row) if row else None


async def list_versions(
    session: AsyncSession, assistant_id: UUID, metadata: dict[str, Any] | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    stmt = select(*VERSION_COLUMNS).where(AssistantVersion.assistant_id == assistant_id)
    if metadata:
        stmt = stmt.where(jsonb_contains(AssistantVersion.metadata_, metadata))
    stmt = paginate(stmt.order_by(AssistantVersion.version.desc()), limit, offset)
    return [_as_dict(r) for r in (await session.execute(stmt)).all()]


async def delete_one(session: AsyncSession, assistant_id: UUID, *, scope: Scope) -> bool:
    stmt = delete(Assistant).where(Assistant.assistant_id == assistant_id, *metadata_scope(Assistant.metadata_, scope))
    return (await session.execute(stmt.returning(Assistant.assistant_id))).first() is not None


async def delete_threads_of(session: AsyncSession, assistant_id: UUID, *, thread_scope: Scope) -> list[UUID]:
    """Delete the assistant's threads that `thread_scope` (the caller's `threads.delete` filters) lets it delete."""
    stmt = (
        delete(Thread)
        .where(Thread.metadata_["assistant_id"].astext == str(assistant_id),
               *metadata_scope(Thread.metadata_, thread_scope))
        .returning(Thread.thread_id)
    )
    return [r[0] for r in (await session.execute(stmt)).all()]


async def search(
    session: AsyncSession, *, metadata: dict[str, Any] | None, graph_id: str | None, name: str | None,
    limit: int, offset: int, sort_by: str | None, sort_order: str | None, scope: Scope,
) -> list[dict[str, Any]]:
    stmt = select(*COLUMNS).where(*_filters(metadata, graph_id, name, scope))
    column = SORT_COLUMNS[sort_by or "created_at"]
    stmt = order(stmt, column, sort_order or "desc", tiebreak=Assistant.assistant_id)
    return [_as_dict(r) for r in (await session.execute(paginate(stmt, limit, offset))).all()]


async def count(session: AsyncSession, *, metadata: dict[str, Any] | None, graph_id: str | None,
                name: str | None, scope: Scope) -> int:
    stmt = select(func.count()).select_from(Assistant).where(*_filters(metadata, graph_id, name, scope))
    return int((await session.execute(stmt)).scalar_one())


def _to_columns(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "assistant_id": values["assistant_id"], "graph_id": values["graph_id"], "name": values["name"],
        "description": values.get("description"), "config": values.get("config") or {},
        "context": values.get("context") or {}, "metadata_": values.get("metadata") or {},
    }
