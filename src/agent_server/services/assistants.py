"""Assistants: CRUD with versions, default assistants per graph, and graph introspection."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID, uuid4

from langchain_core.runnables import RunnableConfig
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
from agent_server.repositories.common import Scope, pick
from agent_server.services.auth import Actor
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


async def get_assistant(session: AsyncSession, state: AppState, actor: Actor,
                        assistant_id: str | UUID) -> dict[str, Any]:
    """The assistant after `assistants.read` allowed it; one the user's filters hide is not found (404)."""
    uid = parse_assistant_id(assistant_id, state.graphs)
    scope = await actor.authorize("assistants", "read", {"assistant_id": uid})
    found = await repo.get_visible(session, uid, scope=scope)
    if found is None:
        raise AssistantNotFound(assistant_id)
    return found


async def run_assistant_scope(actor: Actor, assistant_id: UUID, graphs: GraphRegistry) -> Scope:
    """A graph's own assistant (named by graph id or by its id) is every user's to run; any other must pass
    `assistants.read`."""
    if actor.engine is None or any(default_assistant_id(graph_id) == assistant_id for graph_id in graphs.graph_ids):
        return None
    return await actor.authorize("assistants", "read", {"assistant_id": assistant_id, "metadata": None})


async def assistant_for_runs(session: AsyncSession, state: AppState, actor: Actor,
                             assistant_id: str | UUID) -> dict[str, Any]:
    """The assistant a run or cron names: a graph id stands for the graph's own assistant, which every user may
    run; an assistant id must pass `assistants.read` (404 when its filters hide it)."""
    uid = parse_assistant_id(assistant_id, state.graphs)
    found = await repo.get_visible(session, uid, scope=await run_assistant_scope(actor, uid, state.graphs))
    if found is None:
        raise AssistantNotFound(assistant_id)
    return found


async def create_assistant(session: AsyncSession, state: AppState, actor: Actor,
                           body: AssistantCreate) -> dict[str, Any]:
    """The `assistants.create` handler may change the metadata (e.g. add an owner); the row gets the changed one."""
    if body.graph_id not in state.graphs:
        raise GraphNotFound(body.graph_id)
    assistant_id = body.assistant_id or uuid4()
    value: dict[str, Any] = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "config": body.config, "context": body.context,
        "metadata": dict(body.metadata), "if_exists": body.if_exists, "name": body.name or "Untitled",
    }
    await actor.authorize("assistants", "create", value)
    values = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "name": body.name or "Untitled",
        "description": body.description, "config": body.config, "context": body.context,
        "metadata": dict(value["metadata"] or {}),
    }
    created = await repo.insert_new(session, values, skip_if_exists=True)
    if created is not None:
        return created
    if body.if_exists == "do_nothing":
        with contextlib.suppress(AssistantNotFound):  # another user's assistant: it still exists
            return await get_assistant(session, state, actor, assistant_id)
    raise Conflict(f"Assistant '{assistant_id}' already exists")


async def lock_for_update(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str,
                          **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the assistant, locked; the `assistants.update` value as the handler left it). 404 if its filters hide it."""
    uid = parse_assistant_id(assistant_id, state.graphs)
    value = {"assistant_id": uid, **fields}
    scope = await actor.authorize("assistants", "update", value)
    current = await repo.lock(session, uid, scope=scope)
    if current is None:
        raise AssistantNotFound(assistant_id)
    return current, value


async def patch_assistant(
    session: AsyncSession, state: AppState, actor: Actor, assistant_id: str, body: AssistantPatch
) -> dict[str, Any]:
    """Every change makes a new version; metadata is merged, other given fields replace."""
    current, value = await lock_for_update(
        session, state, actor, assistant_id, graph_id=body.graph_id, config=body.config, context=body.context,
        metadata=dict(body.metadata or {}), name=body.name, version=None,
    )
    if body.graph_id is not None and body.graph_id not in state.graphs:
        raise GraphNotFound(body.graph_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    merged = {**current, **changes, "metadata": {**current["metadata"], **(value["metadata"] or {})}}
    merged["version"] = await repo.latest_version_number(session, current["assistant_id"]) + 1
    updated = await repo.replace(session, current["assistant_id"], merged)
    await repo.insert_version(session, updated)
    return updated


async def delete_assistant(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str,
                           delete_threads: bool) -> None:
    """With `delete_threads`, also the assistant's threads that the user's `threads.delete` filters allow."""
    uid = parse_assistant_id(assistant_id, state.graphs)
    scope = await actor.authorize("assistants", "delete", {"assistant_id": uid})
    if not await repo.delete_one(session, uid, scope=scope):
        raise AssistantNotFound(assistant_id)
    if delete_threads:
        thread_scope = await actor.authorize("threads", "delete", {"thread_id": None, "assistant_id": uid})
        for thread_id in await repo.delete_threads_of(session, uid, thread_scope=thread_scope):
            await state.checkpointer.adelete_thread(str(thread_id))


def search_value(body: AssistantFilter, limit: int, offset: int) -> dict[str, Any]:
    """`assistants.search`'s value (AssistantsSearch)."""
    return {"graph_id": body.graph_id, "metadata": body.metadata, "limit": limit, "offset": offset}


async def search_assistants(session: AsyncSession, actor: Actor, body: AssistantSearch) -> list[dict[str, Any]]:
    scope = await actor.authorize("assistants", "search", search_value(body, body.limit, body.offset))
    found = await repo.search(
        session, metadata=body.metadata, graph_id=body.graph_id, name=body.name, limit=body.limit,
        offset=body.offset, sort_by=body.sort_by, sort_order=body.sort_order, scope=scope,
    )
    return [pick(a, list(body.select) if body.select else None) for a in found]


async def count_assistants(session: AsyncSession, actor: Actor, body: AssistantFilter) -> int:
    scope = await actor.authorize("assistants", "search", search_value(body, 0, 0))
    return await repo.count(session, metadata=body.metadata, graph_id=body.graph_id, name=body.name, scope=scope)


async def list_versions(
    session: AsyncSession, state: AppState, actor: Actor, assistant_id: str, body: AssistantVersionsSearch
) -> list[dict[str, Any]]:
    assistant = await get_assistant(session, state, actor, assistant_id)
    return await repo.list_versions(session, assistant["assistant_id"], body.metadata, body.limit, body.offset)


async def set_latest_version(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str,
                             version: int) -> dict[str, Any]:
    current, _ = await lock_for_update(session, state, actor, assistant_id, version=version)
    chosen = await repo.get_version(session, current["assistant_id"], version)
    if chosen is None:
        raise NotFound(f"Version {version} of assistant '{assistant_id}' not found")
    return await repo.replace(session, current["assistant_id"], chosen)


async def build_graph_for(state: AppState, assistant: dict[str, Any]) -> Pregel:
    # The assistant's stored config (a JSON object) is handed to the graph as its RunnableConfig, as `run_config` does.
    config = cast(RunnableConfig, {**assistant["config"], "configurable": {
        **(assistant["config"].get("configurable") or {}),
        "assistant_id": str(assistant["assistant_id"]), "graph_id": assistant["graph_id"],
    }})
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


async def graph_drawing(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str,
                        xray: str | None) -> dict[str, Any]:
    assistant = await get_assistant(session, state, actor, assistant_id)
    depth = parse_xray(xray)
    graph = await build_graph_for(state, assistant)
    drawable = await graph.aget_graph(xray=depth)
    return drawable.to_json()


async def graph_schemas(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str) -> dict[str, Any]:
    assistant = await get_assistant(session, state, actor, assistant_id)
    graph = await build_graph_for(state, assistant)
    return {"graph_id": assistant["graph_id"], **schemas_of(graph)}


async def subgraph_schemas(
    session: AsyncSession, state: AppState, actor: Actor, assistant_id: str, namespace: str | None, recurse: bool
) -> dict[str, Any]:
    assistant = await get_assistant(session, state, actor, assistant_id)
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


def _safely(produce: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return produce()
    except Exception:
        logger.debug("schema could not be rendered", exc_info=True)
        return None
