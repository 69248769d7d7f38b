"""A chat graph answering `<prefix><last human text>`; prefix from context or configurable."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict


class EchoContext(TypedDict, total=False):
    prefix: str


def chat(state: MessagesState, config: RunnableConfig, runtime: Runtime[EchoContext]) -> dict[str, Any]:
    context = runtime.context if isinstance(runtime.context, dict) else {}
    prefix = context.get("prefix") or config.get("configurable", {}).get("prefix") or "You said: "
    last = next((m.content for m in reversed(state["messages"]) if m.type == "human"), "")
    return {"messages": [AIMessage(content=f"{prefix}{last}")]}


builder = StateGraph(MessagesState, context_schema=EchoContext)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
builder.add_edge("chat", END)
graph = builder.compile()
