"""Separate input/output schemas and a context schema; writes to the store."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict


class InputState(TypedDict, total=False):
    key: str
    text: str


class OutputState(TypedDict, total=False):
    result: str


class State(InputState, OutputState, total=False):
    pass


class Context(TypedDict, total=False):
    user_id: str


async def work(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    user = (runtime.context or {}).get("user_id", "anonymous")
    await get_store().aput(("custom", user), state.get("key", "k"), {"text": state.get("text", "")})
    return {"result": state.get("text", "").upper()}


builder = StateGraph(State, input_schema=InputState, output_schema=OutputState, context_schema=Context)
builder.add_node("work", work)
builder.add_edge(START, "work")
builder.add_edge("work", END)
graph = builder.compile()
