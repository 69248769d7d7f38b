"""Reports the user LangGraph hands the graph in its config."""

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    seen: dict[str, Any]


def report(state: State, config: RunnableConfig) -> State:
    configurable = config["configurable"]
    user = configurable.get("langgraph_auth_user")
    return {"seen": {
        "identity": getattr(user, "identity", None),
        "identity_by_key": user["identity"] if user is not None else None,
        "fields": dict(user) if user is not None else None,
        "user_id": configurable.get("langgraph_auth_user_id"),
        "permissions": configurable.get("langgraph_auth_permissions"),
    }}


graph = StateGraph(State).add_node("report", report).add_edge(START, "report").compile()
