"""Skills, MCP servers, configured agents (a model plus skills and MCP servers) and agent executions.

A skill or MCP server linked to an agent cannot be deleted (409 naming the agents); deleting an agent drops its
links, and its executions stay as history (their `configured_agent_id` becomes null). An execution moving to
`running` gets `started_at`, and to a final status `completed_at`, from the database's clock unless the patch
gives them or they are already set.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import Unprocessable
from hub_extensions.models.registry import (
    AgentCreate,
    AgentFilters,
    AgentPatch,
    ExecutionCreate,
    ExecutionFilters,
    ExecutionPatch,
    McpCreate,
    McpFilters,
    McpPatch,
    SkillCreate,
    SkillFilters,
    SkillPatch,
)
from hub_extensions.services import registry_queries as repo
from hub_extensions.services.registry import (
    Kind,
    changes,
    delete,
    find,
    find_by_id,
    find_model_for,
    insert,
    refuse_if_used,
    update,
)
from hub_extensions.services.registry_queries import Row
from hub_extensions.tables.registry import (
    AgentExecution,
    AiModel,
    ConfiguredAgent,
    ConfiguredAgentMcp,
    ConfiguredAgentSkill,
    Mcp,
    Skill,
)

SKILLS = Kind(Skill, "Skill")
MCPS = Kind(Mcp, "MCP server")
AGENTS = Kind(ConfiguredAgent, "Agent", frozenset({"description", "system_prompt"}))
EXECUTIONS = Kind(AgentExecution, "Execution", frozenset({
    "output_data", "error_message", "token_usage", "started_at", "completed_at", "dagster_run_id",
}))
FINAL_STATUSES = ("success", "failed", "cancelled", "timeout")


# Skills


async def create_skill(session: AsyncSession, body: SkillCreate) -> Row:
    return await insert(session, SKILLS, body.model_dump())


async def get_skill(session: AsyncSession, ref: str) -> Row:
    return await find(session, SKILLS, ref)


async def list_skills(session: AsyncSession, filters: SkillFilters) -> list[Row]:
    return await repo.list_rows(session, Skill, repo.active_condition(Skill, filters.is_active), limit=filters.limit,
                                offset=filters.offset)


async def update_skill(session: AsyncSession, ref: str, body: SkillPatch) -> Row:
    return await update(session, SKILLS, await find(session, SKILLS, ref, for_update=True), changes(SKILLS, body))


async def delete_skill(session: AsyncSession, ref: str) -> None:
    skill = await find(session, SKILLS, ref, for_update=True)
    agents = await repo.agents_linked_to(session, ConfiguredAgentSkill, skill["id"])
    refuse_if_used(SKILLS, skill["name"], "delete", {"is used by agents": agents})
    await delete(session, SKILLS, skill)


# MCP servers


async def create_mcp(session: AsyncSession, body: McpCreate) -> Row:
    return await insert(session, MCPS, body.model_dump())


async def get_mcp(session: AsyncSession, ref: str) -> Row:
    return await find(session, MCPS, ref)


async def list_mcps(session: AsyncSession, filters: McpFilters) -> list[Row]:
    conditions = repo.active_condition(Mcp, filters.is_active)
    if filters.mcp_type is not None:
        conditions.append(Mcp.mcp_type == filters.mcp_type)
    return await repo.list_rows(session, Mcp, conditions, limit=filters.limit, offset=filters.offset)


async def update_mcp(session: AsyncSession, ref: str, body: McpPatch) -> Row:
    return await update(session, MCPS, await find(session, MCPS, ref, for_update=True), changes(MCPS, body))


async def delete_mcp(session: AsyncSession, ref: str) -> None:
    mcp = await find(session, MCPS, ref, for_update=True)
    agents = await repo.agents_linked_to(session, ConfiguredAgentMcp, mcp["id"])
    refuse_if_used(MCPS, mcp["name"], "delete", {"is used by agents": agents})
    await delete(session, MCPS, mcp)


# Configured agents


async def check_linked(session: AsyncSession, table: Any, ids: list[UUID], field: str) -> None:
    # FOR SHARE would be needed to stop a concurrent delete; the link's RESTRICT key does that (a 409 then).
    existing = await repo.existing_ids(session, table, ids)
    missing = [str(link) for link in ids if link not in existing]
    if missing:
        raise Unprocessable(f"{field}: {', '.join(missing)} not found")


async def present_agents(session: AsyncSession, rows: list[Row]) -> list[Row]:
    models = await repo.names_by_id(session, AiModel, (row["model_id"] for row in rows))
    links = await repo.agent_links(session, (row["id"] for row in rows))
    return [{**row, "model": models.get(row["model_id"]), "skill_ids": links[row["id"]][0],
             "mcp_ids": links[row["id"]][1]} for row in rows]


async def present_agent(session: AsyncSession, row: Row) -> Row:
    return (await present_agents(session, [row]))[0]


async def set_links(session: AsyncSession, agent_id: UUID, skill_ids: list[UUID] | None,
                    mcp_ids: list[UUID] | None) -> None:
    if skill_ids is not None:
        await check_linked(session, Skill, skill_ids, "skill_ids")
        await repo.set_agent_skills(session, agent_id, skill_ids)
    if mcp_ids is not None:
        await check_linked(session, Mcp, mcp_ids, "mcp_ids")
        await repo.set_agent_mcps(session, agent_id, mcp_ids)


async def create_agent(session: AsyncSession, body: AgentCreate) -> Row:
    values = body.model_dump(exclude={"model", "skill_ids", "mcp_ids"})
    values["model_id"] = (await find_model_for(session, body.model))["id"]
    agent = await insert(session, AGENTS, values)
    await set_links(session, agent["id"], body.skill_ids, body.mcp_ids)
    return await present_agent(session, agent)


async def get_agent(session: AsyncSession, ref: str) -> Row:
    return await present_agent(session, await find(session, AGENTS, ref))


async def list_agents(session: AsyncSession, filters: AgentFilters) -> list[Row]:
    conditions = repo.active_condition(ConfiguredAgent, filters.is_active)
    if filters.model is not None:
        model = await repo.find(session, AiModel, filters.model)
        if model is None:
            return []
        conditions.append(ConfiguredAgent.model_id == model["id"])
    rows = await repo.list_rows(session, ConfiguredAgent, conditions, limit=filters.limit, offset=filters.offset)
    return await present_agents(session, rows)


async def update_agent(session: AsyncSession, ref: str, body: AgentPatch) -> Row:
    agent = await find(session, AGENTS, ref, for_update=True)
    fields = changes(AGENTS, body)
    skill_ids, mcp_ids = fields.pop("skill_ids", None), fields.pop("mcp_ids", None)
    if "model" in fields:
        fields["model_id"] = (await find_model_for(session, fields.pop("model")))["id"]
    agent = await update(session, AGENTS, agent, fields)
    await set_links(session, agent["id"], skill_ids, mcp_ids)
    return await present_agent(session, agent)


async def delete_agent(session: AsyncSession, ref: str) -> None:
    await delete(session, AGENTS, await find(session, AGENTS, ref, for_update=True))


# Executions


async def create_execution(session: AsyncSession, body: ExecutionCreate) -> Row:
    return await insert(session, EXECUTIONS, body.model_dump())


async def get_execution(session: AsyncSession, execution_id: UUID) -> Row:
    return await find_by_id(session, EXECUTIONS, execution_id)


async def list_executions(session: AsyncSession, filters: ExecutionFilters) -> list[Row]:
    columns = {"agent_id": AgentExecution.configured_agent_id, "agent_type": AgentExecution.agent_type,
               "graph_agent_name": AgentExecution.graph_agent_name, "task_id": AgentExecution.task_id,
               "status": AgentExecution.status, "execution_type": AgentExecution.execution_type,
               "dagster_run_id": AgentExecution.dagster_run_id}
    conditions = [column == getattr(filters, field) for field, column in columns.items()
                  if getattr(filters, field) is not None]
    return await repo.list_rows(session, AgentExecution, conditions, limit=filters.limit, offset=filters.offset,
                                newest_first=True)


def execution_changes(body: ExecutionPatch) -> dict[str, Any]:
    fields = changes(EXECUTIONS, body)
    if body.status == "running" and "started_at" not in fields:
        fields["started_at"] = repo.stamped_now("started_at")
    if body.status in FINAL_STATUSES and "completed_at" not in fields:
        fields["completed_at"] = repo.stamped_now("completed_at")
    return fields


async def update_execution(session: AsyncSession, execution_id: UUID, body: ExecutionPatch) -> Row:
    execution = await find_by_id(session, EXECUTIONS, execution_id)
    return await update(session, EXECUTIONS, execution, execution_changes(body))


async def delete_execution(session: AsyncSession, execution_id: UUID) -> None:
    await delete(session, EXECUTIONS, await find_by_id(session, EXECUTIONS, execution_id))
