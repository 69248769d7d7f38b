"""SQL for the model registry: generic row CRUD on its tables, the lookups that name referrers, agent links.

Rows come back as plain dicts of their columns. A write that breaks a constraint raises `ConstraintViolation`
(inside a savepoint, so the request's transaction stays usable) for the service to turn into a 409 or 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, cast, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningDelete, ReturningInsert, ReturningUpdate

from hub_extensions.tables.registry import (
    AgentExecution,
    AiModelAlias,
    ConfiguredAgent,
    ConfiguredAgentMcp,
    ConfiguredAgentSkill,
)

Row = dict[str, Any]


def active_condition(table: Any, is_active: bool | None) -> list[ColumnElement[bool]]:
    """The `is_active` filter of a listing: none when not asked."""
    return [] if is_active is None else [table.is_active.is_(is_active)]
Named = Any  # one of the mapped classes of tables.registry (all have `id`; all but executions `name`)
# One key for every write that checks names across aliases and groups (fallbacks, members): such writes run
# one at a time, so two concurrent ones cannot together make a cycle or leave a dangling name.
NAMES_LOCK = 0x6875625F72656769  # "hub_regi"


class ConstraintViolation(Exception):
    def __init__(self, sqlstate: str | None, constraint: str | None) -> None:
        super().__init__(constraint or sqlstate)
        self.sqlstate = sqlstate
        self.constraint = constraint

    @property
    def is_unique(self) -> bool:
        return self.sqlstate == "23505"


def _as_row(row: Any) -> Row:
    return dict(row._mapping)


async def _guarded(session: AsyncSession,
                   stmt: ReturningInsert[Any] | ReturningUpdate[Any] | ReturningDelete[Any]) -> Row | None:
    try:
        async with session.begin_nested():
            row = (await session.execute(stmt)).first()
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        raise ConstraintViolation(getattr(exc.orig, "sqlstate", None),
                                  getattr(diag, "constraint_name", None)) from None
    return _as_row(row) if row is not None else None


async def lock_names(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(NAMES_LOCK)))


async def insert_row(session: AsyncSession, table: Named, values: Mapping[str, Any]) -> Row:
    row = await _guarded(session, insert(table).values(id=uuid.uuid4(), **values).returning(*table.__table__.c))
    assert row is not None
    return row


async def update_row(session: AsyncSession, table: Named, row_id: uuid.UUID, values: Mapping[str, Any]) -> Row | None:
    stmt = update(table).where(table.id == row_id).values(**values, updated_at=func.now())
    return await _guarded(session, stmt.returning(*table.__table__.c))


async def delete_row(session: AsyncSession, table: Named, row_id: uuid.UUID) -> Row | None:
    return await _guarded(session, delete(table).where(table.id == row_id).returning(*table.__table__.c))


def _reference(table: Named, ref: str) -> ColumnElement[bool]:
    """Matches the row named `ref`, or whose id `ref` spells."""
    try:
        matches: ColumnElement[bool] = (table.name == ref) | (table.id == uuid.UUID(ref))
    except ValueError:
        matches = table.name == ref
    return matches


async def find(session: AsyncSession, table: Named, ref: str, *, for_update: bool = False) -> Row | None:
    """The row with id `ref` (if it is a UUID), else the one named `ref`."""
    stmt = select(*table.__table__.c).where(_reference(table, ref))
    if for_update:
        stmt = stmt.with_for_update()
    rows = [_as_row(row) for row in (await session.execute(stmt)).all()]
    by_id = [row for row in rows if str(row["id"]) == ref.lower()]
    found = by_id or rows
    return found[0] if found else None


async def find_by_id(session: AsyncSession, table: Named, row_id: uuid.UUID) -> Row | None:
    row = (await session.execute(select(*table.__table__.c).where(table.id == row_id))).first()
    return _as_row(row) if row is not None else None


async def rows_named(session: AsyncSession, table: Named, names: Iterable[str]) -> dict[str, Row]:
    wanted = list(names)
    if not wanted:
        return {}
    result = await session.execute(select(*table.__table__.c).where(table.name.in_(wanted)))
    return {row.name: _as_row(row) for row in result.all()}


async def names_by_id(session: AsyncSession, table: Named, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {row_id for row_id in ids if row_id is not None}
    if not wanted:
        return {}
    result = await session.execute(select(table.id, table.name).where(table.id.in_(wanted)))
    return {row.id: row.name for row in result.all()}


async def existing_ids(session: AsyncSession, table: Named, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(ids)
    if not wanted:
        return set()
    return set((await session.execute(select(table.id).where(table.id.in_(wanted)))).scalars())


async def list_rows(session: AsyncSession, table: Named, conditions: list[ColumnElement[bool]], *,
                    limit: int, offset: int, newest_first: bool = False) -> list[Row]:
    order = (table.created_at.desc(), table.id.desc()) if newest_first else (table.name.asc(),)
    stmt = select(*table.__table__.c).where(*conditions).order_by(*order).limit(limit).offset(offset)
    return [_as_row(row) for row in (await session.execute(stmt)).all()]


async def all_rows(session: AsyncSession, table: Named) -> list[Row]:
    """Every row, by name: for exports and whole-graph checks (the registry is configuration, not data)."""
    return [_as_row(row) for row in (await session.execute(select(*table.__table__.c).order_by(table.name))).all()]


def jsonb_has(column: Any, value: str) -> ColumnElement[bool]:
    """`column @> '["value"]'`: a JSON array column that holds the string `value`."""
    return column.op("@>")(cast(literal([value], JSONB), JSONB))  # type: ignore[no-any-return]


async def names_where(session: AsyncSession, table: Named, *conditions: ColumnElement[bool]) -> list[str]:
    stmt = select(table.name).where(*conditions).order_by(table.name)
    return list((await session.execute(stmt)).scalars())


async def fallback_graph(session: AsyncSession) -> dict[str, list[str]]:
    """Every alias with the aliases it falls back to."""
    result = await session.execute(select(AiModelAlias.name, AiModelAlias.fallbacks))
    return {row.name: list(row.fallbacks or []) for row in result.all()}


async def agent_links(session: AsyncSession,
                      agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[list[uuid.UUID], list[uuid.UUID]]]:
    """Each agent's skill ids and MCP ids."""
    wanted = set(agent_ids)
    links: dict[uuid.UUID, tuple[list[uuid.UUID], list[uuid.UUID]]] = {agent: ([], []) for agent in wanted}
    if not wanted:
        return links
    skills = select(ConfiguredAgentSkill.agent_id, ConfiguredAgentSkill.skill_id).where(
        ConfiguredAgentSkill.agent_id.in_(wanted)).order_by(ConfiguredAgentSkill.skill_id)
    for agent_id, skill_id in (await session.execute(skills)).all():
        links[agent_id][0].append(skill_id)
    mcps = select(ConfiguredAgentMcp.agent_id, ConfiguredAgentMcp.mcp_id).where(
        ConfiguredAgentMcp.agent_id.in_(wanted)).order_by(ConfiguredAgentMcp.mcp_id)
    for agent_id, mcp_id in (await session.execute(mcps)).all():
        links[agent_id][1].append(mcp_id)
    return links


async def set_agent_skills(session: AsyncSession, agent_id: uuid.UUID, skill_ids: list[uuid.UUID]) -> None:
    await session.execute(delete(ConfiguredAgentSkill).where(ConfiguredAgentSkill.agent_id == agent_id))
    if skill_ids:
        await session.execute(insert(ConfiguredAgentSkill),
                              [{"agent_id": agent_id, "skill_id": skill_id} for skill_id in skill_ids])


async def set_agent_mcps(session: AsyncSession, agent_id: uuid.UUID, mcp_ids: list[uuid.UUID]) -> None:
    await session.execute(delete(ConfiguredAgentMcp).where(ConfiguredAgentMcp.agent_id == agent_id))
    if mcp_ids:
        await session.execute(insert(ConfiguredAgentMcp),
                              [{"agent_id": agent_id, "mcp_id": mcp_id} for mcp_id in mcp_ids])


async def agents_linked_to(session: AsyncSession, link: type[ConfiguredAgentSkill] | type[ConfiguredAgentMcp],
                           target_id: uuid.UUID) -> list[str]:
    """The names of the agents linked to a skill or an MCP server."""
    column = link.skill_id if link is ConfiguredAgentSkill else link.mcp_id  # type: ignore[union-attr]
    stmt = select(ConfiguredAgent.name).join(link, link.agent_id == ConfiguredAgent.id).where(column == target_id)
    return list((await session.execute(stmt.order_by(ConfiguredAgent.name))).scalars())


def stamped_now(column: str) -> Any:
    """An execution's `started_at` or `completed_at` as an update sets it: kept if set, else the database's now."""
    return func.coalesce(getattr(AgentExecution, column), func.now())
