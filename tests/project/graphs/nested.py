"""prepare -> child (a compiled subgraph: one -> two) -> finish."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class ChildState(TypedDict, total=False):
    inner: Annotated[list[str], operator.add]


class State(TypedDict, total=False):
    trail: Annotated[list[str], operator.add]
    inner: list[str]


child_builder = StateGraph(ChildState)
child_builder.add_node("one", lambda s: {"inner": ["one"]})
child_builder.add_node("two", lambda s: {"inner": ["two"]})
child_builder.add_edge(START, "one")
child_builder.add_edge("one", "two")
child_builder.add_edge("two", END)


def prepare(state: State) -> dict[str, Any]:
    return {"trail": ["prepare"], "inner": []}


def finish(state: State) -> dict[str, Any]:
    return {"trail": ["finish"]}


def build(child: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("prepare", prepare)
    builder.add_node("child", child)
    builder.add_node("finish", finish)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "child")
    builder.add_edge("child", "finish")
    builder.add_edge("finish", END)
    return builder.compile()


graph = build(child_builder.compile())
# The same graph with a static interrupt inside the subgraph (compiled into it, not asked for by the run):
# nothing in the run's request says that it will stop.
gated = build(child_builder.compile(interrupt_before=["two"]))
