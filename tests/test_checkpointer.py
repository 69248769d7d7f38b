"""The server's LangGraph checkpointer: (de)serialisation on the event loop's thread, checkpoints unchanged."""

from __future__ import annotations

import asyncio
import operator
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypedDict

import pytest_asyncio
from conftest import scratch_database
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph

from agent_server.db.engine import open_langgraph_pool
from agent_server.db.langgraph import open_checkpointer


class Notes(TypedDict, total=False):
    notes: Annotated[list[str], operator.add]  # a list: stored as a blob, not inline in the checkpoint row


async def take_note(state: Notes) -> Notes:
    return {"notes": [f"note {len(state.get('notes', []))}"]}


@pytest_asyncio.fixture
async def checkpointer() -> AsyncIterator[AsyncPostgresSaver]:
    with scratch_database("olg_test_ckpt") as url:
        pool = await open_langgraph_pool(url, max_size=2)
        try:
            yield await open_checkpointer(pool, setup=True)
        finally:
            await pool.close()


def record_threads(checkpointer: AsyncPostgresSaver, names: list[str]) -> list[tuple[str, int]]:
    """Wrap the checkpointer's (de)serialisers to record (name, thread id) of each call."""
    calls: list[tuple[str, int]] = []

    def recording(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, threading.get_ident()))
            return function(*args, **kwargs)
        return call

    for name in names:
        setattr(checkpointer, name, recording(name, getattr(checkpointer, name)))
    return calls


async def test_checkpoints_are_serialised_on_the_loop_thread_and_read_back(
        checkpointer: AsyncPostgresSaver) -> None:
    calls = record_threads(checkpointer, ["_dump_blobs", "_dump_writes", "_load_writes"])
    builder = StateGraph(Notes)
    builder.add_node("take_note", take_note)
    builder.add_edge(START, "take_note")
    builder.add_edge("take_note", END)
    graph = builder.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "t1"}}

    await graph.ainvoke({"notes": ["first"]}, config)
    final = await graph.ainvoke({"notes": ["second"]}, config)

    assert final == {"notes": ["first", "note 1", "second", "note 3"]}
    assert (await graph.aget_state(config)).values == final
    assert {name for name, _ in calls} == {"_dump_blobs", "_dump_writes", "_load_writes"}
    assert {thread for _, thread in calls} == {threading.get_ident()}


async def test_other_code_still_gets_real_threads(checkpointer: AsyncPostgresSaver) -> None:
    assert await asyncio.to_thread(threading.get_ident) != threading.get_ident()
