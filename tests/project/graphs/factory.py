"""A graph factory: the node list depends on `configurable.extra_node` (proves it is called with the config)."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


async def make_graph(config: RunnableConfig) -> Any:
    builder = StateGraph(State)
    builder.add_node("first", lambda s: {"steps": ["first"]})
    builder.add_edge(START, "first")
    last = "first"
    extra = config.get("configurable", {}).get("extra_node")
    if extra:
        builder.add_node(extra, lambda s: {"steps": [extra]})
        builder.add_edge("first", extra)
        last = extra
    builder.add_edge(last, END)
    return builder.compile()
