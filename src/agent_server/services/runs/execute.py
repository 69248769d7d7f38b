"""Executing one claimed run: stream the graph into the broker, then settle the run and its thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, Send
from langgraph.types import StreamMode as GraphStreamMode

from agent_server.repositories import assistants as assistants_repo
from agent_server.repositories import checkpoints as checkpoints_repo
from agent_server.repositories import runs as repo
from agent_server.services.auth import AuthUser
from agent_server.services.runs.stream_modes import ChunkTranslator, graph_modes
from agent_server.services.runs.webhooks import send_webhook
from agent_server.services.thread_state import thread_fields, to_jsonable
from agent_server.state import AppState
from agent_server.streaming.publisher import Publisher

logger = logging.getLogger(__name__)


@dataclass
class CancelRequest:
    """Why a run's task is being cancelled: a user's `interrupt`/`rollback`, or `shutdown`."""

    action: str | None = None


@dataclass
class Outcome:
    status: str = "success"
    error: dict[str, Any] | None = None
    output: Any = None
    rollback: bool = False
    # The thread row's new values, interrupts and status, rendered as update_state renders them.
    thread: dict[str, Any] = field(default_factory=lambda: {"values": None, "interrupts": {}, "status": "idle"})


def run_config(assistant: dict[str, Any], run: dict[str, Any]) -> RunnableConfig:
    kwargs = run["kwargs"]
    requested = kwargs.get("config") or {}
    configurable = {
        **(assistant["config"].get("configurable") or {}),
        **(requested.get("configurable") or {}),
        "thread_id": str(run["thread_id"]),
        "run_id": str(run["run_id"]),
        "assistant_id": str(assistant["assistant_id"]),
        "graph_id": assistant["graph_id"],
    }
    checkpoint = kwargs.get("checkpoint") or {}
    checkpoint_id = kwargs.get("checkpoint_id") or checkpoint.get("checkpoint_id")
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    if checkpoint.get("checkpoint_ns"):
        configurable["checkpoint_ns"] = checkpoint["checkpoint_ns"]
    user = configurable.get("langgraph_auth_user")
    if isinstance(user, dict) and user.get("identity"):
        configurable["langgraph_auth_user"] = AuthUser.from_dict(user)  # `.identity` and `["identity"]`, as upstream
    metadata = {
        **(assistant["config"].get("metadata") or {}), **(requested.get("metadata") or {}),
        **run["metadata"], "graph_id": assistant["graph_id"], "assistant_id": str(assistant["assistant_id"]),
        "run_attempt": run.get("attempt", 1),
    }
    config: dict[str, Any] = {**assistant["config"], **requested, "configurable": configurable, "metadata": metadata}
    config.setdefault("recursion_limit", 25)
    return config  # type: ignore[return-value]


def graph_input(kwargs: dict[str, Any]) -> Any:
    command = kwargs.get("command")
    if not command:
        return kwargs.get("input")
    goto = command.get("goto")
    if goto is not None:
        targets = goto if isinstance(goto, list) else [goto]
        goto = [Send(t["node"], t.get("input")) if isinstance(t, dict) else t for t in targets]
        goto = goto[0] if len(goto) == 1 else goto
    options = {"resume": command.get("resume"), "goto": goto, "update": command.get("update")}
    return Command(**{k: v for k, v in options.items() if v is not None})


def run_context(assistant: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    context = {**(assistant.get("context") or {}), **(kwargs.get("context") or {})}
    return context or None


def metadata_payload(run: dict[str, Any]) -> dict[str, Any]:
    """The data of a run's `metadata` event, the first of every attempt."""
    return {"run_id": str(run["run_id"]), "attempt": run.get("attempt", 1)}


def error_payload(exc: BaseException) -> dict[str, str]:
    return {"error": type(exc).__name__, "message": str(exc)}


async def stream_graph(graph: Pregel, run: dict[str, Any], config: RunnableConfig, context: dict[str, Any] | None,
                       publisher: Publisher) -> ChunkTranslator:
    """Publish the run's events; the translator keeps what the stream told of the end (last values, interrupts)."""
    kwargs = run["kwargs"]
    api_modes: list[str] = kwargs.get("stream_mode") or ["values"]
    translator = ChunkTranslator(api_modes)
    subgraphs = bool(kwargs.get("subgraphs"))
    options: dict[str, Any] = {
        "context": context, "interrupt_before": kwargs.get("interrupt_before"),
        "interrupt_after": kwargs.get("interrupt_after"), "subgraphs": subgraphs,
    }
    if kwargs.get("durability"):
        options["durability"] = kwargs["durability"]
    modes = cast(list[GraphStreamMode], graph_modes(api_modes))  # the API's modes, mapped to LangGraph's names
    stream: AsyncIterator[Any]
    if "events" in api_modes:
        stream = graph_chunks_from_events(graph, graph_input(kwargs), config, modes, publisher, options)
    else:
        stream = graph.astream(graph_input(kwargs), config, stream_mode=modes, **options)
    async for item in stream:
        namespace, mode, chunk = item if subgraphs else ((), *item)
        for name, payload in translator.translate(tuple(namespace), mode, chunk):
            await publisher.send(name, payload)
    return translator


async def graph_chunks_from_events(graph: Pregel, graph_input: Any, config: RunnableConfig,
                                   modes: list[GraphStreamMode], publisher: Publisher,
                                   options: dict[str, Any]) -> AsyncIterator[Any]:
    """`events` mode: publish astream_events, and hand back the root graph's own stream chunks for other modes.

    As the reference does, the root graph's `on_chain_stream` events carry the chunks of the other modes
    and are not sent as `events` themselves.
    """
    async for event in graph.astream_events(graph_input, config, version="v2", stream_mode=modes, **options):
        if event.get("event") == "on_chain_stream" and not event.get("parent_ids"):
            yield event["data"]["chunk"]
        else:
            await publisher.send("events", event)


def state_from_stream(outcome: Outcome, streamed: ChunkTranslator | None) -> dict[str, Any] | None:
    """The thread's fields after a run that ended with no interrupt anywhere, without reading the state back:
    idle, and its values are the last `values` chunk (both are the graph's stream channels). None otherwise."""
    if outcome.status != "success" or streamed is None or streamed.interrupted:
        return None
    values = streamed.last_values
    if values is None or (isinstance(values, dict) and "__interrupt__" in values):
        return None
    return {"values": to_jsonable(values), "interrupts": {}, "status": "idle"}


async def read_final_state(graph: Pregel, config: RunnableConfig, outcome: Outcome) -> None:
    snapshot_config: RunnableConfig = {**config, "configurable": {
        k: v for k, v in config["configurable"].items() if k not in ("checkpoint_id", "checkpoint_ns")
    }}
    outcome.thread = thread_fields(await graph.aget_state(snapshot_config))


def thread_status(outcome: Outcome) -> str:
    return "error" if outcome.status == "error" else str(outcome.thread["status"])


def output_only(graph: Pregel | None, values: Any) -> Any:
    """What `invoke` would return: the state filtered by the graph's output schema."""
    channels = getattr(graph, "output_channels", None)
    if not isinstance(values, dict) or not isinstance(channels, list):
        return values
    return {k: v for k, v in values.items() if k in channels}


def final_output(last_values: Any, outcome: Outcome) -> Any:
    if outcome.status == "error":
        return {"__error__": outcome.error}
    interrupts = [i for group in outcome.thread["interrupts"].values() for i in group]
    if interrupts and isinstance(last_values, dict):
        return {**last_values, "__interrupt__": interrupts}
    return last_values


async def execute_run(state: AppState, run: dict[str, Any], worker_id: str, cancel: CancelRequest,
                      assistant: dict[str, Any] | None = None) -> bool:
    """Run to completion (or cancellation); always settles the run unless the worker is shutting down.

    `assistant` is the one read when the run was claimed (read here when not given). True when the thread has
    more runs queued.
    """
    publisher = await Publisher.open(state.broker, run["run_id"])
    await publisher.send("metadata", metadata_payload(run))
    outcome = Outcome()
    graph: Pregel | None = None
    config: RunnableConfig | None = None
    streamed: ChunkTranslator | None = None
    try:
        if assistant is None:
            async with state.sessionmaker() as session:
                assistant = await assistants_repo.get(session, run["assistant_id"])
        if assistant is None:
            raise LookupError(f"Assistant '{run['assistant_id']}' not found")
        config = run_config(assistant, run)
        graph = await state.graphs.build(assistant["graph_id"], config)
        streamed = await stream_graph(graph, run, config, run_context(assistant, run["kwargs"]), publisher)
    except asyncio.CancelledError:
        if cancel.action in (None, "shutdown"):
            raise
        outcome.status = "interrupted"
        outcome.rollback = cancel.action == "rollback"
    except Exception as exc:
        logger.info("run %s failed: %r", run["run_id"], exc)
        outcome.status, outcome.error = "error", error_payload(exc)
        await publisher.send("error", outcome.error)
    return await settle(state, run, worker_id, graph, config, outcome, streamed, publisher)


async def settle(state: AppState, run: dict[str, Any], worker_id: str, graph: Pregel | None,
                 config: RunnableConfig | None, outcome: Outcome, streamed: ChunkTranslator | None,
                 publisher: Publisher) -> bool:
    """Record the outcome if this worker still owns the run; True when the thread has more runs queued."""
    if outcome.rollback:
        await checkpoints_repo.delete_for_run(state.pool, run["thread_id"], run["run_id"])
    fields = state_from_stream(outcome, streamed)
    if fields is not None:
        outcome.thread = fields
    elif graph is not None and config is not None:
        try:
            await read_final_state(graph, config, outcome)
        except Exception:
            logger.exception("could not read the final state of run %s", run["run_id"])
    last_values = streamed.last_values if streamed is not None else None
    outcome.output = final_output(output_only(graph, last_values), outcome)
    temporary = run["kwargs"].get("temporary") and run["kwargs"].get("on_completion", "delete") == "delete"
    owned, more = await repo.finish(
        state.pool, run, worker_id, outcome.status, outcome.error, thread_status=thread_status(outcome),
        values=outcome.thread["values"], interrupts=outcome.thread["interrupts"], rolled_back=outcome.rollback,
        delete_thread=bool(temporary),
    )
    if owned and temporary:
        await state.checkpointer.adelete_thread(str(run["thread_id"]))
    await publisher.end(outcome.status, outcome.output, outcome.error)
    if owned and run["kwargs"].get("webhook") and not outcome.rollback:
        state.background(send_webhook(state, run, outcome.status, outcome.thread["values"], outcome.error))
    return more
