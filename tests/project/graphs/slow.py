"""Sleeps `seconds` in node `sleep`, emitting a custom tick every 0.05 s; appends `tag` to `log`."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    tag: str
    seconds: float
    log: Annotated[list[str], operator.add]


async def sleep(state: State) -> dict[str, Any]:
    writer = get_stream_writer()
    deadline = time.monotonic() + float(state.get("seconds", 0.5))
    tick = 0
    while time.monotonic() < deadline:
        writer({"tick": tick, "tag": state.get("tag", "")})
        tick += 1
        await asyncio.sleep(0.05)
    return {"log": [state.get("tag", "")]}


def fail(state: State) -> dict[str, Any]:
    raise ValueError("intentional failure")


builder = StateGraph(State)
builder.add_node("sleep", sleep)
builder.add_edge(START, "sleep")
builder.add_edge("sleep", END)
graph = builder.compile()

failing_builder = StateGraph(State)
failing_builder.add_node("fail", fail)
failing_builder.add_edge(START, "fail")
failing_builder.add_edge("fail", END)
failing = failing_builder.compile()
