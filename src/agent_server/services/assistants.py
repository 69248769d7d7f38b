"""Assistants: CRUD with versions, default assistants per graph, and graph introspection."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID, uuid4

from langgraph.pregel import Pregel
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import AssistantNotFound, Conflict, GraphNotFound, NotFound, Unprocessable
from agent_server.models.assistants import (
    AssistantCreate,
    AssistantFilter,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionsSearch,
)
from agent_server.repositories import assistants as repo
from agent_server.repositories.common import pick
from agent_server.services.graphs import GraphRegistry, default_assistant_id
from agent_server.state import AppState

logger = logging.getLogger(__name__)


async def sync_default_assistants(session: AsyncSession, graphs: GraphRegistry) -> None:
    """Every registered graph gets a system assistant whose id is derived from the graph id."""
    for graph_id in graphs.graph_ids:
        values = {
            "assistant_id": default_assistant_id(graph_id), "graph_id": graph_id, "name": graph_id,
            "description": graphs.description(graph_id), "metadata": {"created_by": "system"},
        }
        await repo.insert_new(session, values, skip_if_exists=True)


def parse_assistant_id(value: str | UUID, graphs: GraphRegistry) -> UUID:
    """An assistant id, or a graph id standing for that graph's default assistant."""
    if isinstance(value, UUID):
        return value
    if value in graphs:
        return default_assistant_id(value)
    try:
        return UUID(value)
    except ValueError:
        raise Unprocessable(f"assistant_id must be a UUID or a registered graph id, got {value!r}") from None


async def get_assistant(session: AsyncSession, state: AppState, assistant_id: str | UUID) -> dict[str, Any]:
    found = await repo.get(session, parse_assistant_id(assistant_id, state.graphs))
    if found is None:
        raise AssistantNotFound(assistant_id)
    return found


async def create_assistant(session: AsyncSession, state: AppState, body: AssistantCreate) -> dict[str, Any]:
    if body.graph_id not in state.graphs:
        raise GraphNotFound(body.graph_id)
    assistant_id = body.assistant_id or uuid4()
    values = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "name": body.name or "Untitled",
        "description": body.description, "config": body.config, "context": body.context,
        "metadata": body.metadata,
    }
    created = await repo.insert_new(session, values, skip_if_exists=True)
    if created is not None:
        return created
    if body.if_exists == "do_nothing":
        return await get_assistant(session, state, assistant_id)
    raise Conflict(f"Assistant '{assistant_id}' already exists")


async def patch_assistant(
    session: AsyncSession, state: AppState, assistant_id: str, body: AssistantPatch
) -> dict[str, Any]:
    """Every change makes a new version; metadata is merged, other given fields replace."""
    current = await repo.lock(session, parse_assistant_id(assistant_id, state.graphs))
    if current is None:
        raise AssistantNotFound(assistant_id)
    if body.graph_id is not None and body.graph_id not in state.graphs:
        raise GraphNotFound(body.graph_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    merged = {**current, **changes, "metadata": {**current["metadata"], **changes.get("metadata", {})}}
    merged["version"] = await repo.latest_version_number(session, current["assistant_id"]) + 1
    updated = await repo.replace(session, current["assistant_id"], merged)
    await repo.insert_version(session, updated)
    return updated


async def delete_assistant(session: AsyncSession, state: AppState, assistant_id: str, delete_threads: bool) -> None:
    uid = parse_assistant_id(assistant_id, state.graphs)
    if not await repo.delete_one(session, uid):
        raise AssistantNotFound(assistant_id)
    if delete_threads:
        for thread_id in await repo.delete_threads_of(session, uid):
            await state.checkpointer.adelete_thread(str(thread_id))


async def search_assistants(session: AsyncSession, body: AssistantSearch) -> list[dict[str, Any]]:
    found = await repo.search(
        session, metadata=body.metadata, graph_id=body.graph_id, name=body.name, limit=body.limit,
        offset=body.offset, sort_by=body.sort_by, sort_order=body.sort_order,
    )
    return [pick(a, list(body.select) if body.select else None) for a in found]


async def count_assistants(session: AsyncSession, body: AssistantFilter) -> int:
    return await repo.count(session, metadata=body.metadata, graph_id=body.graph_id, name=body.name)


async def list_versions(
    session: AsyncSession, state: AppState, assistant_id: str, body: AssistantVersionsSearch
) -> list[dict[str, Any]]:
    assistant = await get_assistant(session, state, assistant_id)
    return await repo.list_versions(session, assistant["assistant_id"], body.metadata, body.limit, body.offset)


async def set_latest_version(session: AsyncSession, state: AppState, assistant_id: str, version: int) -> dict[str, Any]:
    current = await repo.lock(session, parse_assistant_id(assistant_id, state.graphs))
    if current is None:
        raise AssistantNotFound(assistant_id)
    chosen = await repo.get_version(session, current["assistant_id"], version)
    if chosen is None:
        raise NotFound(f"Version {version} of assistant '{assistant_id}' not found")
    return await repo.replace(session, current["assistant_id"], chosen)


async def build_graph_for(state: AppState, assistant: dict[str, Any]) -> Pregel:
    config = {**assistant["config"], "configurable": {
        **(assistant["config"].get("configurable") or {}),
        "assistant_id": str(assistant["assistant_id"]), "graph_id": assistant["graph_id"],
    }}
    return await state.graphs.build(assistant["graph_id"], config)


def parse_xray(value: str | None) -> bool | int:
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() == "true":
        return True
    try:
        depth = int(value)
    except ValueError:
        raise Unprocessable(f"xray must be a boolean or a positive integer, got {value!r}") from None
    if depth < 0:
        raise Unprocessable("xray must not be negative")
    return depth


async def graph_drawing(session: AsyncSession, state: AppState, assistant_id: str, xray: str | None) -> dict[str, Any]:
    assistant = await get_assistant(session, state, assistant_id)
    depth = parse_xray(xray)
    graph = await build_graph_for(state, assistant)
    drawable = await graph.aget_graph(xray=depth)
    return drawable.to_json()


async def graph_schemas(session: AsyncSession, state: AppState, assistant_id: str) -> dict[str, Any]:
    assistant = await get_assistant(session, state, assistant_id)
    graph = await build_graph_for(state, assistant)
    return {"graph_id": assistant["graph_id"], **schemas_of(graph)}


async def subgraph_schemas(
    session: AsyncSession, state: AppState, assistant_id: str, namespace: str | None, recurse: bool
) -> dict[str, Any]:
    assistant = await get_assistant(session, state, assistant_id)
    graph = await build_graph_for(state, assistant)
    return {ns: schemas_of(sub) async for ns, sub in graph.aget_subgraphs(namespace=namespace, recurse=recurse)}


def schemas_of(graph: Any) -> dict[str, Any]:
    return {
        "input_schema": _safely(graph.get_input_jsonschema),
        "output_schema": _safely(graph.get_output_jsonschema),
        "state_schema": _safely(lambda: state_jsonschema(graph)),
        "config_schema": _safely(graph.get_config_jsonschema),
        "context_schema": _safely(graph.get_context_jsonschema),
    }


def state_jsonschema(graph: Any) -> dict[str, Any]:
    builder = getattr(graph, "builder", None)
    if builder is None or not hasattr(builder, "state_schema"):
        return dict(graph.get_output_jsonschema())
    from langgraph.graph.state import _get_json_schema  # no public API for the full state schema

    return dict(_get_json_schema(typ=builder.state_schema, schemas=builder.schemas, channels=builder.channels,
                                 name=graph.get_name("State")))


def _safely(produce: Any) -> dict[str, Any] | None:
    try:
        return produce()
    except Exception:
        logger.debug("schema could not be rendered", exc_info=True)
        return None
