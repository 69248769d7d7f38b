"""The model registry: models, aliases and groups, and the row helpers the other registry services share.

Names are unique per kind (409 on a duplicate). An alias points at one model and falls back to other aliases, by
name; at write time every fallback must name an existing alias, an alias may not fall back to itself, and the
fallbacks may not form a cycle (422 naming the cycle). A group lists alias names (`members`) and may name one of
them as its `default`. Deleting (or renaming) something still referenced is a 409 that names the referrers:
a model used by aliases or agents, an alias used as a fallback or by a group.

Writes that check names across aliases and groups take one transaction-level advisory lock, so two concurrent
writes cannot together form a cycle or leave a dangling name.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import ApiError, Conflict, NotFound, Unprocessable
from hub_extensions.models.registry import (
    AliasCreate,
    AliasFilters,
    AliasPatch,
    GroupCreate,
    GroupFilters,
    GroupPatch,
    ModelCreate,
    ModelFilters,
    ModelPatch,
)
from hub_extensions.services import registry_queries as repo
from hub_extensions.services.registry_queries import Row
from hub_extensions.tables.registry import AiModel, AiModelAlias, AiModelGroup, ConfiguredAgent

# Shared row helpers


@dataclass(frozen=True)
class Kind:
    """One registry table as the API names it, and which of its columns a patch may set to null."""

    table: Any
    noun: str
    nullable: frozenset[str] = frozenset({"description"})


MODELS = Kind(AiModel, "Model", frozenset({"description", "param_spec"}))
ALIASES = Kind(AiModelAlias, "Alias")
GROUPS = Kind(AiModelGroup, "Group")

FOREIGN_KEY_PROBLEMS = {
    "fk_agent_executions_task_id_tasks": "task_id: no task has this id",
    "fk_agent_executions_configured_agent_id_configured_agents": "configured_agent_id: no configured agent has this id",
}


def violation_error(exc: repo.ConstraintViolation, kind: Kind, name: Any) -> ApiError:
    if exc.is_unique:
        return Conflict(f"{kind.noun} '{name}' already exists")
    if exc.constraint in FOREIGN_KEY_PROBLEMS:
        return Unprocessable(FOREIGN_KEY_PROBLEMS[exc.constraint])
    # A reference that appeared or vanished between the service's checks and the write.
    return Conflict(f"{kind.noun} '{name}' conflicts with a concurrent change of what it references; retry")


async def find(session: AsyncSession, kind: Kind, ref: str, *, for_update: bool = False) -> Row:
    row = await repo.find(session, kind.table, ref, for_update=for_update)
    if row is None:
        raise NotFound(f"{kind.noun} '{ref}' not found")
    return row


async def find_by_id(session: AsyncSession, kind: Kind, row_id: UUID) -> Row:
    row = await repo.find_by_id(session, kind.table, row_id)
    if row is None:
        raise NotFound(f"{kind.noun} '{row_id}' not found")
    return row


async def insert(session: AsyncSession, kind: Kind, values: dict[str, Any]) -> Row:
    try:
        return await repo.insert_row(session, kind.table, values)
    except repo.ConstraintViolation as exc:
        raise violation_error(exc, kind, values.get("name")) from None


async def update(session: AsyncSession, kind: Kind, row: Row, fields: dict[str, Any]) -> Row:
    if not fields:
        return row
    try:
        updated = await repo.update_row(session, kind.table, row["id"], fields)
    except repo.ConstraintViolation as exc:
        raise violation_error(exc, kind, fields.get("name", row.get("name", row["id"]))) from None
    if updated is None:
        raise NotFound(f"{kind.noun} '{row.get('name', row['id'])}' not found")
    return updated


async def delete(session: AsyncSession, kind: Kind, row: Row) -> None:
    try:
        await repo.delete_row(session, kind.table, row["id"])
    except repo.ConstraintViolation as exc:
        raise violation_error(exc, kind, row.get("name", row["id"])) from None


def changes(kind: Kind, body: BaseModel) -> dict[str, Any]:
    """The fields a patch sets; `null` counts only for the columns that may be null (elsewhere it means unset)."""
    return {key: value for key, value in body.model_dump(exclude_unset=True).items()
            if value is not None or key in kind.nullable}


def refuse_if_used(kind: Kind, name: str, action: str, users: dict[str, list[str]]) -> None:
    """409 if anything still refers to the row: `users` maps how (`"is the model of aliases"`) to the names."""
    named = [f"{how} {', '.join(repr(n) for n in names)}" for how, names in users.items() if names]
    if named:
        raise Conflict(f"{kind.noun} '{name}' {'; '.join(named)}: cannot {action} it while they refer to it")


async def find_model_for(session: AsyncSession, ref: str) -> Row:
    """The model an alias or agent names (by name or id); a 422 if there is none."""
    row = await repo.find(session, AiModel, ref)
    if row is None:
        raise Unprocessable(f"model: no model named '{ref}'")
    return row


# Models


async def create_model(session: AsyncSession, body: ModelCreate) -> Row:
    return await insert(session, MODELS, body.model_dump())


async def get_model(session: AsyncSession, ref: str) -> Row:
    return await find(session, MODELS, ref)


async def list_models(session: AsyncSession, filters: ModelFilters) -> list[Row]:
    conditions = repo.active_condition(AiModel, filters.is_active)
    if filters.provider is not None:
        conditions.append(AiModel.provider == filters.provider)
    if filters.model_type is not None:
        conditions.append(AiModel.model_type == filters.model_type)
    if filters.capability is not None:
        conditions.append(repo.jsonb_has(AiModel.capabilities, filters.capability))
    return await repo.list_rows(session, AiModel, conditions, limit=filters.limit, offset=filters.offset)


async def update_model(session: AsyncSession, ref: str, body: ModelPatch) -> Row:
    return await update(session, MODELS, await find(session, MODELS, ref, for_update=True), changes(MODELS, body))


async def delete_model(session: AsyncSession, ref: str) -> None:
    model = await find(session, MODELS, ref, for_update=True)
    aliases = await repo.names_where(session, AiModelAlias, AiModelAlias.target_model_id == model["id"])
    agents = await repo.names_where(session, ConfiguredAgent, ConfiguredAgent.model_id == model["id"])
    refuse_if_used(MODELS, model["name"], "delete", {"is the model of aliases": aliases, "is used by agents": agents})
    await delete(session, MODELS, model)


# Aliases


def fallback_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle of fallbacks (`a → b → a`, in fallback order) if the graph has one."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def check_fallback_graph(graph: dict[str, list[str]], changed: list[str]) -> None:
    """422 if a changed alias falls back to itself, to an alias that does not exist, or into a cycle."""
    for name in changed:
        fallbacks = graph[name]
        if name in fallbacks:
            raise Unprocessable(f"fallbacks: alias '{name}' cannot fall back to itself")
        missing = [fallback for fallback in fallbacks if fallback not in graph]
        if missing:
            raise Unprocessable(f"fallbacks: alias '{name}' falls back to {', '.join(map(repr, missing))}, "
                                "which is not an alias")
    cycle = fallback_cycle(graph)
    if cycle is not None:
        raise Unprocessable(f"fallbacks: they would form a cycle: {' → '.join(cycle)}")


async def check_fallbacks(session: AsyncSession, name: str, fallbacks: list[str], *,
                          old_name: str | None = None) -> None:
    graph = await repo.fallback_graph(session)
    graph.pop(old_name or name, None)
    graph[name] = fallbacks
    check_fallback_graph(graph, [name])


async def alias_users(session: AsyncSession, alias: Row) -> dict[str, list[str]]:
    """Who refers to the alias: aliases falling back to it, groups listing it or defaulting to it."""
    falling_back = await repo.names_where(session, AiModelAlias, repo.jsonb_has(AiModelAlias.fallbacks, alias["name"]))
    groups = await repo.names_where(session, AiModelGroup, repo.jsonb_has(AiModelGroup.members, alias["name"])
                                    | (AiModelGroup.default_alias_id == alias["id"]))
    return {"is a fallback of aliases": falling_back, "is in groups": groups}


async def present_aliases(session: AsyncSession, rows: list[Row]) -> list[Row]:
    """Aliases as the API shows them: with their model's name, and `fallbacks` always a list."""
    names = await repo.names_by_id(session, AiModel, (row["target_model_id"] for row in rows))
    return [{**row, "model": names.get(row["target_model_id"]), "fallbacks": list(row["fallbacks"] or [])}
            for row in rows]


async def present_alias(session: AsyncSession, row: Row) -> Row:
    return (await present_aliases(session, [row]))[0]


async def create_alias(session: AsyncSession, body: AliasCreate) -> Row:
    await repo.lock_names(session)
    if await repo.rows_named(session, AiModelAlias, [body.name]):
        raise Conflict(f"Alias '{body.name}' already exists")
    model = await find_model_for(session, body.model)
    await check_fallbacks(session, body.name, body.fallbacks)
    values = {"name": body.name, "target_model_id": model["id"], "model_type": body.model_type or model["model_type"],
              "fallbacks": body.fallbacks, "description": body.description, "is_active": body.is_active}
    return await present_alias(session, await insert(session, ALIASES, values))


async def get_alias(session: AsyncSession, ref: str) -> Row:
    return await present_alias(session, await find(session, ALIASES, ref))


async def list_aliases(session: AsyncSession, filters: AliasFilters) -> list[Row]:
    conditions = repo.active_condition(AiModelAlias, filters.is_active)
    if filters.model_type is not None:
        conditions.append(AiModelAlias.model_type == filters.model_type)
    if filters.model is not None:
        model = await repo.find(session, AiModel, filters.model)
        if model is None:
            return []
        conditions.append(AiModelAlias.target_model_id == model["id"])
    rows = await repo.list_rows(session, AiModelAlias, conditions, limit=filters.limit, offset=filters.offset)
    return await present_aliases(session, rows)


async def update_alias(session: AsyncSession, ref: str, body: AliasPatch) -> Row:
    await repo.lock_names(session)
    alias = await find(session, ALIASES, ref, for_update=True)
    fields = changes(ALIASES, body)
    if "model" in fields:
        fields["target_model_id"] = (await find_model_for(session, fields.pop("model")))["id"]
    new_name: str = fields["name"] if "name" in fields else alias["name"]
    if new_name != alias["name"]:
        refuse_if_used(ALIASES, alias["name"], "rename", await alias_users(session, alias))
        if await repo.rows_named(session, AiModelAlias, [new_name]):
            raise Conflict(f"Alias '{new_name}' already exists")
    if "fallbacks" in body.model_fields_set:
        fields["fallbacks"] = body.fallbacks or []
    if "fallbacks" in fields or new_name != alias["name"]:
        fallbacks: list[str] = fields["fallbacks"] if "fallbacks" in fields else alias["fallbacks"] or []
        await check_fallbacks(session, new_name, fallbacks, old_name=alias["name"])
    return await present_alias(session, await update(session, ALIASES, alias, fields))


async def delete_alias(session: AsyncSession, ref: str) -> None:
    await repo.lock_names(session)
    alias = await find(session, ALIASES, ref, for_update=True)
    refuse_if_used(ALIASES, alias["name"], "delete", await alias_users(session, alias))
    await delete(session, ALIASES, alias)


# Groups


async def default_alias_id(session: AsyncSession, members: list[str], default: str | None) -> UUID | None:
    """Check a group's members (existing aliases) and default (one of them); the default alias's id."""
    aliases = await repo.rows_named(session, AiModelAlias, members)
    missing = [member for member in members if member not in aliases]
    if missing:
        raise Unprocessable(f"members: {', '.join(map(repr, missing))} is not an alias")
    if default is None:
        return None
    if default not in aliases:
        raise Unprocessable(f"default: '{default}' is not one of the group's members")
    alias_id: UUID = aliases[default]["id"]
    return alias_id


async def present_groups(session: AsyncSession, rows: list[Row]) -> list[Row]:
    names = await repo.names_by_id(session, AiModelAlias, (row["default_alias_id"] for row in rows))
    return [{**row, "default": names.get(row["default_alias_id"]) if row["default_alias_id"] else None}
            for row in rows]


async def present_group(session: AsyncSession, row: Row) -> Row:
    return (await present_groups(session, [row]))[0]


async def create_group(session: AsyncSession, body: GroupCreate) -> Row:
    await repo.lock_names(session)
    values = {"name": body.name, "model_type": body.model_type, "members": body.members,
              "default_alias_id": await default_alias_id(session, body.members, body.default),
              "description": body.description}
    return await present_group(session, await insert(session, GROUPS, values))


async def get_group(session: AsyncSession, ref: str) -> Row:
    return await present_group(session, await find(session, GROUPS, ref))


async def list_groups(session: AsyncSession, filters: GroupFilters) -> list[Row]:
    conditions = [AiModelGroup.model_type == filters.model_type] if filters.model_type is not None else []
    rows = await repo.list_rows(session, AiModelGroup, conditions, limit=filters.limit, offset=filters.offset)
    return await present_groups(session, rows)


async def update_group(session: AsyncSession, ref: str, body: GroupPatch) -> Row:
    await repo.lock_names(session)
    group = await present_group(session, await find(session, GROUPS, ref, for_update=True))
    fields = changes(GROUPS, body)
    if "default" in body.model_fields_set or "members" in fields:
        members: list[str] = fields["members"] if "members" in fields else group["members"]
        default = body.default if "default" in body.model_fields_set else group["default"]
        fields["default_alias_id"] = await default_alias_id(session, members, default)
    fields.pop("default", None)
    return await present_group(session, await update(session, GROUPS, group, fields))


async def delete_group(session: AsyncSession, ref: str) -> None:
    await delete(session, GROUPS, await find(session, GROUPS, ref, for_update=True))
