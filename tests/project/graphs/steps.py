"""a -> b -> c; `interrupting` asks for approval in b."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    value: str
    steps: Annotated[list[str], operator.add]


def a(state: State) -> dict[str, Any]:
    return {"steps": ["a"]}


def b(state: State) -> dict[str, Any]:
    return {"steps": ["b"]}


def b_asks(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "approve?", "value": state.get("value", "")})
    return {"steps": [f"b:{answer}"]}


def c(state: State) -> dict[str, Any]:
    return {"steps": ["c"]}


def build(b_node: Any) -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b_node)
    builder.add_node("c", c)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


plain = build(b).compile()
interrupting = build(b_asks).compile()
