"""A thread's graph state: read (latest, at a checkpoint, history), update, and seed with supersteps.

State operations go through the graph named by the thread's `metadata.graph_id`, built with our
checkpointer and store. A thread without a (registered) graph is read straight from the checkpointer;
writing needs the graph. After every write the thread row's `values`, `interrupts` and `status` are
refreshed from the new state, as the reference server does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, cast
from uuid import UUID

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.errors import EmptyInputError, InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt, Send, StateSnapshot, StateUpdate
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import BadRequest, Conflict, NotFound, ThreadNotFound
from agent_server.models.threads import HistorySearch, Superstep
from agent_server.models.threads import StateUpdate as StateUpdateBody
from agent_server.repositories import threads as repo
from agent_server.repositories.common import Scope
from agent_server.responses import dumps
from agent_server.services.auth import Actor
from agent_server.state import AppState

logger = logging.getLogger(__name__)

Graph: TypeAlias = Pregel[Any, Any, Any, Any]

# What a graph raises when the update itself is wrong (unknown node, value a reducer cannot take, ...).
UPDATE_ERRORS = (InvalidUpdateError, EmptyInputError, ValueError, TypeError, KeyError)
HIDDEN_CHANNEL_PREFIXES = ("__", "branch:")


# --- JSON rendering -------------------------------------------------------------------------------

def _json_default(obj: Any) -> Any:
    if isinstance(obj, BaseException):
        return {"error": type(obj).__name__, "message": str(obj)}
    if isinstance(obj, Send):
        return {"node": obj.node, "args": obj.arg}
    return orjson.loads(dumps(obj))  # the server-wide rules: model_dump(), sets, bytes, else str()


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def to_jsonable(value: Any) -> Any:
    """Plain JSON data (LangChain messages become their dicts) that jsonb can store (no NUL characters)."""
    raw = orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    data = orjson.loads(raw)
    return _without_nul(data) if b"\\u0000" in raw else data


def interrupt_to_json(interrupt: Interrupt | dict[str, Any]) -> dict[str, Any]:
    if isinstance(interrupt, dict):
        return {k: v for k, v in interrupt.items() if k in ("id", "value", "response_schema")}
    data: dict[str, Any] = {"id": interrupt.id, "value": interrupt.value}
    if getattr(interrupt, "response_schema", None) is not None:
        data["response_schema"] = interrupt.response_schema
    return data


def config_to_checkpoint(config: RunnableConfig | None) -> dict[str, Any] | None:
    """`{thread_id, checkpoint_ns, checkpoint_id[, checkpoint_map]}`, or None without a checkpoint id."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("thread_id") or not configurable.get("checkpoint_id"):
        return None
    checkpoint = {
        "thread_id": configurable["thread_id"], "checkpoint_ns": configurable.get("checkpoint_ns") or "",
        "checkpoint_id": configurable["checkpoint_id"],
    }
    if "checkpoint_map" in configurable:
        checkpoint["checkpoint_map"] = configurable["checkpoint_map"]
    return checkpoint


def _task_to_json(task: Any) -> dict[str, Any]:
    nested = task.state if isinstance(task.state, StateSnapshot) else None
    return {
        "id": task.id, "name": task.name, "path": list(task.path or ()), "error": task.error,
        "interrupts": [interrupt_to_json(i) for i in task.interrupts],
        "checkpoint": task.state["configurable"] if task.state is not None and nested is None else None,
        "state": snapshot_to_json(nested) if nested is not None else None,
        "result": getattr(task, "result", None),
    }


def snapshot_to_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """The reference server's ThreadState shape (plus its deprecated `checkpoint_id` fields)."""
    checkpoint = config_to_checkpoint(snapshot.config)
    parent = config_to_checkpoint(snapshot.parent_config)
    rendered: dict[str, Any] = to_jsonable({
        "values": snapshot.values, "next": list(snapshot.next),
        "tasks": [_task_to_json(t) for t in snapshot.tasks],
        "metadata": snapshot.metadata, "created_at": snapshot.created_at,
        "checkpoint": checkpoint, "parent_checkpoint": parent,
        "interrupts": [interrupt_to_json(i) for i in snapshot.interrupts],
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    })
    return rendered


def _tuple_to_snapshot(saved: CheckpointTuple) -> StateSnapshot:
    """A snapshot read without the graph: values from the channels, no `next` or tasks to derive."""
    channels = saved.checkpoint["channel_values"]
    values = channels.get("__root__", None) if "__root__" in channels else {
        k: v for k, v in channels.items() if not k.startswith(HIDDEN_CHANNEL_PREFIXES)
    }
    return StateSnapshot(
        values=values, next=(), config=saved.config, metadata=saved.metadata,
        created_at=saved.checkpoint["ts"], parent_config=saved.parent_config, tasks=(), interrupts=(),
    )


EMPTY_SNAPSHOT = StateSnapshot(
    values={}, next=(), config={}, metadata=None, created_at=None, parent_config=None, tasks=(), interrupts=()
)


def thread_fields(snapshot: StateSnapshot) -> dict[str, Any]:
    """What the thread row keeps of a state: values, interrupts by task id, and idle/interrupted."""
    return {
        "values": to_jsonable(snapshot.values),
        "interrupts": to_jsonable({
            t.id: [interrupt_to_json(i) for i in t.interrupts] for t in snapshot.tasks if t.interrupts
        }),
        "status": "interrupted" if snapshot.next else "idle",
    }


# --- graphs and threads ---------------------------------------------------------------------------

async def require_thread(session: AsyncSession, thread_id: UUID, *, scope: Scope,
                         for_update: bool = False) -> dict[str, Any]:
    thread = await repo.get(session, thread_id, scope=scope, for_update=for_update)
    if thread is None:
        raise ThreadNotFound(thread_id)
    return thread


async def authorized_thread(session: AsyncSession, actor: Actor, action: str, thread_id: UUID, *,
                            for_update: bool = False, **value: Any) -> dict[str, Any]:
    """The thread after `threads.<action>` allowed it; a thread the user's filters hide is not found (404)."""
    scope = await actor.authorize("threads", action, {"thread_id": thread_id, **value})
    return await require_thread(session, thread_id, scope=scope, for_update=for_update)


def graph_id_of(thread: dict[str, Any]) -> str | None:
    graph_id = thread["metadata"].get("graph_id")
    return graph_id if isinstance(graph_id, str) and graph_id else None


async def build_thread_graph(state: AppState, thread: dict[str, Any], graph_id: str) -> Graph:
    """The thread's graph, built with the thread's config (factories see it) and our persistence."""
    base: dict[str, Any] = thread.get("config") or {}
    configurable = {**(base.get("configurable") or {}), "thread_id": str(thread["thread_id"]), "graph_id": graph_id}
    return await state.graphs.build(graph_id, cast(RunnableConfig, {**base, "configurable": configurable}))


async def _readable_graph(state: AppState, thread: dict[str, Any]) -> Graph | None:
    """None when the thread has no graph, or names one this server does not serve (read checkpoints raw)."""
    graph_id = graph_id_of(thread)
    if graph_id is None or graph_id not in state.graphs:
        return None
    return await build_thread_graph(state, thread, graph_id)


async def _writable_graph(state: AppState, thread: dict[str, Any]) -> Graph:
    graph_id = graph_id_of(thread)
    if graph_id is None:
        raise BadRequest(
            f"Thread '{thread['thread_id']}' has no assigned graph ID. Run the thread once or set "
            "metadata.graph_id (PATCH /threads/{thread_id}) before updating its state."
        )
    return await build_thread_graph(state, thread, graph_id)


@asynccontextmanager
async def graph_errors() -> AsyncIterator[None]:
    """A graph rejecting the caller's update or checkpoint is a 400 with the graph's message."""
    try:
        yield
    except UPDATE_ERRORS as exc:
        logger.info("graph rejected a state operation: %r", exc)
        raise BadRequest(str(exc) or type(exc).__name__) from exc


def _configurable(thread_id: UUID, checkpoint: dict[str, Any] | None) -> dict[str, Any]:
    return {"checkpoint_ns": "", **(checkpoint or {}), "thread_id": str(thread_id)}


# --- reads ----------------------------------------------------------------------------------------

async def read_snapshot(
    state: AppState, thread: dict[str, Any], checkpoint: dict[str, Any] | None = None, *, subgraphs: bool = False
) -> StateSnapshot:
    config: RunnableConfig = {"configurable": _configurable(thread["thread_id"], checkpoint)}
    graph = await _readable_graph(state, thread)
    async with graph_errors():
        if graph is not None:
            return await graph.aget_state(config, subgraphs=subgraphs)
        saved = await state.checkpointer.aget_tuple(config)
        return _tuple_to_snapshot(saved) if saved is not None else EMPTY_SNAPSHOT


async def get_state(
    session: AsyncSession, state: AppState, actor: Actor, thread_id: UUID, checkpoint: dict[str, Any] | None = None,
    *, subgraphs: bool = False,
) -> dict[str, Any]:
    thread = await authorized_thread(session, actor, "read", thread_id)
    return snapshot_to_json(await read_snapshot(state, thread, checkpoint, subgraphs=subgraphs))


async def get_history(
    session: AsyncSession, state: AppState, actor: Actor, thread_id: UUID, body: HistorySearch
) -> list[dict[str, Any]]:
    """Newest first; `before` excludes that checkpoint and everything newer; `metadata` is containment."""
    thread = await authorized_thread(session, actor, "read", thread_id)
    checkpoint = body.checkpoint.configurable() if body.checkpoint else None
    config: RunnableConfig = {"configurable": _configurable(thread_id, checkpoint)}
    before_id = body.before_id()
    before: RunnableConfig | None = {"configurable": {"checkpoint_id": before_id}} if before_id else None
    graph = await _readable_graph(state, thread)
    async with graph_errors():
        if graph is not None:
            snapshots = [s async for s in graph.aget_state_history(
                config, filter=body.metadata or None, before=before, limit=body.limit)]
        else:
            snapshots = [_tuple_to_snapshot(t) async for t in state.checkpointer.alist(
                config, filter=body.metadata or None, before=before, limit=body.limit)]
    return [snapshot_to_json(s) for s in snapshots]


# --- writes ---------------------------------------------------------------------------------------

async def record_snapshot(
    session: AsyncSession, thread_id: UUID, snapshot: StateSnapshot, *, status: str | None = None
) -> dict[str, Any]:
    """Copy a state's values/interrupts onto the thread row; status defaults to idle/interrupted."""
    fields = thread_fields(snapshot)
    if status is not None:
        fields["status"] = status
    updated = await repo.set_fields(session, thread_id, fields)
    if updated is None:
        raise ThreadNotFound(thread_id)
    return updated


async def _require_checkpoint(state: AppState, configurable: dict[str, Any]) -> None:
    """An update at a checkpoint that does not exist would silently fork from an empty state."""
    checkpoint_id = configurable.get("checkpoint_id")
    if checkpoint_id and await state.checkpointer.aget_tuple({"configurable": configurable}) is None:
        raise NotFound(f"Checkpoint '{checkpoint_id}' not found in thread '{configurable['thread_id']}'")


async def update_state(
    session: AsyncSession, state: AppState, actor: Actor, thread_id: UUID, body: StateUpdateBody
) -> dict[str, Any]:
    """Write `values` as if `as_node` had run (at `checkpoint`, else the latest) -> the new checkpoint."""
    thread = await authorized_thread(session, actor, "update", thread_id, for_update=True, metadata={})
    if await repo.has_active_runs(session, thread_id):
        raise Conflict(f"Thread '{thread_id}' has in-flight runs; wait for them or cancel them first")
    graph = await _writable_graph(state, thread)
    checkpoint = body.checkpoint.configurable() if body.checkpoint else {}
    if body.checkpoint_id and "checkpoint_id" not in checkpoint:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    configurable = {**_configurable(thread_id, checkpoint), "graph_id": graph_id_of(thread)}
    await _require_checkpoint(state, configurable)
    async with graph_errors():
        next_config = await graph.aupdate_state({"configurable": configurable}, body.values, as_node=body.as_node)
        snapshot = await graph.aget_state({"configurable": _configurable(thread_id, None)})
    await record_snapshot(session, thread_id, snapshot)
    return {"checkpoint": to_jsonable(next_config["configurable"])}


def command_from_json(data: dict[str, Any]) -> Command[Any]:
    """A wire `Command` ({update, resume, goto}) as LangGraph's, with `goto` Sends rebuilt."""
    goto = data.get("goto")
    if goto is not None and not isinstance(goto, list):
        goto = [goto]
    update = data.get("update")
    if isinstance(update, list) and all(isinstance(t, list | tuple) and len(t) == 2 for t in update):
        update = [tuple(t) for t in update]
    targets = [g if isinstance(g, str) else Send(g["node"], g.get("input")) for g in goto] if goto else ()
    return Command(update=update, goto=targets, resume=data.get("resume"))


def _state_updates(supersteps: Sequence[Superstep]) -> list[list[StateUpdate]]:
    return [
        [
            StateUpdate(  # LangGraph applies a Command given as the values, as the reference relies on
                cast(Any, command_from_json(u.command.model_dump()) if u.command is not None else u.values),
                u.as_node,
            )
            for u in step.updates
        ]
        for step in supersteps
    ]


async def apply_supersteps(
    session: AsyncSession, state: AppState, thread: dict[str, Any], supersteps: Sequence[Superstep]
) -> dict[str, Any]:
    """Seed a new thread's history, one checkpoint per superstep; all or nothing."""
    graph_id = graph_id_of(thread)
    if graph_id is None:
        raise BadRequest("supersteps need a graph: pass graph_id (or metadata.graph_id)")
    graph = await build_thread_graph(state, thread, graph_id)
    thread_id = thread["thread_id"]
    config: RunnableConfig = {"configurable": {**_configurable(thread_id, None), "graph_id": graph_id}}
    try:
        async with graph_errors():
            await graph.abulk_update_state(config, _state_updates(supersteps))
            snapshot = await graph.aget_state({"configurable": _configurable(thread_id, None)})
    except BaseException:
        await state.checkpointer.adelete_thread(str(thread_id))  # the thread row rolls back with the request
        raise
    return await record_snapshot(session, thread_id, snapshot)
