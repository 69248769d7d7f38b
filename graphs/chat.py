"""`chat`: a conversation over `MessagesState`, answered by the offline model (no network, no API key).

Stream it with `stream_mode="messages"` to receive the answer token by token.
"""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from graphs.offline_model import OfflineChatModel

model = OfflineChatModel()


async def respond(state: MessagesState) -> dict[str, list[BaseMessage]]:
    return {"messages": [await model.ainvoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile(name="chat")
