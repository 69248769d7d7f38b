"""The repo's own graphs (open_langgraph.json) and their offline chat model: no network, streaming, deterministic."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent_server.config import load_config
from agent_server.services.graphs import GraphRegistry

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry() -> GraphRegistry:
    """The graphs exactly as `open-langgraph dev` loads them from the repo's config."""
    return GraphRegistry.from_config(load_config(REPO_ROOT / "open_langgraph.json"), None, None)


@pytest.fixture(scope="module")
def offline(registry: GraphRegistry) -> ModuleType:
    import graphs.offline_model  # importable once the config's dependencies are on sys.path

    assert Path(graphs.offline_model.__file__).resolve().parent == REPO_ROOT / "graphs"
    return graphs.offline_model


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# --- the chat graph --------------------------------------------------------------------------------------------


def test_repo_config_registers_chat(registry: GraphRegistry) -> None:
    assert "chat" in registry.graph_ids
    assert "offline" in (registry.description("chat") or "")


async def test_chat_streams_the_answer_token_by_token(registry: GraphRegistry) -> None:
    graph = await registry.build("chat")
    chunks: list[AIMessageChunk] = []
    async for message, metadata in graph.astream(
        {"messages": [HumanMessage("tell me about the open server")]}, stream_mode="messages"
    ):
        assert isinstance(message, AIMessageChunk)
        assert isinstance(metadata, dict)
        assert metadata["langgraph_node"] == "respond"
        chunks.append(message)
    texts = [chunk.content for chunk in chunks if chunk.content]
    assert texts == ["You ", "said: ", "tell ", "me ", "about ", "the ", "open ", "server"]
    assert len({chunk.id for chunk in chunks}) == 1  # pieces of one message
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.content == "You said: tell me about the open server"
    assert merged.usage_metadata == {"input_tokens": 6, "output_tokens": 8, "total_tokens": 14}


async def test_chat_is_deterministic_and_keeps_the_conversation(registry: GraphRegistry) -> None:
    graph = await registry.build("chat")
    first = await graph.ainvoke({"messages": [HumanMessage("hello")]})
    again = await graph.ainvoke({"messages": [HumanMessage("hello")]})
    assert [m.content for m in first["messages"]] == ["hello", "You said: hello"]
    assert [m.content for m in again["messages"]] == [m.content for m in first["messages"]]
    follow_up = await graph.ainvoke({"messages": [*first["messages"], HumanMessage("and then?")]})
    assert [m.type for m in follow_up["messages"]] == ["human", "ai", "human", "ai"]
    assert follow_up["messages"][-1].content == "You said: and then?"


# --- the offline model -----------------------------------------------------------------------------------------


def test_text_answers_and_edge_cases(offline: ModuleType) -> None:
    model = offline.OfflineChatModel()
    assert model.invoke("ping").content == "You said: ping"
    assert model.invoke([]).content == offline.GREETING
    multimodal = HumanMessage(content=[{"type": "text", "text": "look at "}, {"type": "text", "text": "this"}])
    assert model.invoke([multimodal]).content == "You said: look at this"
    assert model.invoke("one two three", stop=["three"]).content == "You said: one two "


def test_sync_and_async_streams_match_invoke(offline: ModuleType) -> None:
    model = offline.OfflineChatModel()
    streamed = [chunk.content for chunk in model.stream("a b c")]
    assert streamed[:-1] == ["You ", "said: ", "a ", "b ", "c"]
    assert streamed[-1] == ""  # the closing chunk carries usage only
    assert "".join(streamed) == model.invoke("a b c").content


async def test_async_stream_is_token_by_token(offline: ModuleType) -> None:
    model = offline.OfflineChatModel()
    pieces = [chunk async for chunk in model.astream("stream me please")]
    assert [p.content for p in pieces if p.content] == ["You ", "said: ", "stream ", "me ", "please"]
    assert pieces[-1].response_metadata["finish_reason"] == "stop"
    assert (await model.ainvoke("stream me please")).content == "You said: stream me please"


def test_tool_call_when_a_tool_is_named(offline: ModuleType) -> None:
    model = offline.OfflineChatModel().bind_tools([get_weather, add])
    message = model.invoke("use get_weather Paris")
    assert isinstance(message, AIMessage)
    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert message.tool_calls[0]["id"] == model.invoke("use get_weather Paris").tool_calls[0]["id"]
    json_args = model.invoke('please add {"a": 2, "b": 40}')
    assert [(c["name"], c["args"]) for c in json_args.tool_calls] == [("add", {"a": 2, "b": 40})]
    defaults = model.invoke("add")
    assert defaults.tool_calls[0]["args"] == {"a": 0, "b": 0}
    assert model.invoke("nothing to do here").content == "You said: nothing to do here"


def test_tool_choice(offline: ModuleType) -> None:
    model = offline.OfflineChatModel()
    forced = model.bind_tools([get_weather, add], tool_choice="any").invoke("Oslo")
    assert [(c["name"], c["args"]) for c in forced.tool_calls] == [("get_weather", {"city": "Oslo"})]
    named = model.bind_tools([get_weather, add], tool_choice="add").invoke("get_weather Oslo")
    assert [c["name"] for c in named.tool_calls] == ["add"]
    never = model.bind_tools([get_weather], tool_choice="none").invoke("get_weather Oslo")
    assert never.tool_calls == []
    assert never.content == "You said: get_weather Oslo"


async def test_streamed_tool_call_equals_invoked(offline: ModuleType) -> None:
    model = offline.OfflineChatModel().bind_tools([get_weather])
    merged: BaseMessage | None = None
    async for chunk in model.astream("get_weather Rome"):
        merged = chunk if merged is None else merged + chunk
    assert isinstance(merged, AIMessageChunk)
    invoked = await model.ainvoke("get_weather Rome")
    assert merged.tool_calls == invoked.tool_calls
    assert merged.tool_calls[0]["args"] == {"city": "Rome"}
    assert merged.response_metadata["finish_reason"] == "tool_calls"


def test_answers_tool_results_in_text(offline: ModuleType) -> None:
    model = offline.OfflineChatModel().bind_tools([get_weather], tool_choice="any")
    messages = [
        HumanMessage("get_weather Paris"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}]),
        ToolMessage("sunny in Paris", tool_call_id="c1", name="get_weather"),
    ]
    answer = model.invoke(messages)
    assert answer.tool_calls == []
    assert answer.content == "Tool results: get_weather: sunny in Paris"


async def test_agent_loop_with_tools_ends(offline: ModuleType) -> None:
    """A ReAct loop over the offline model calls the tool once, then answers: graphs with tools run offline."""
    model = offline.OfflineChatModel().bind_tools([get_weather])

    async def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([get_weather]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    result = await builder.compile().ainvoke({"messages": [HumanMessage("get_weather Lisbon")]})
    assert [m.type for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    assert result["messages"][-1].content == "Tool results: get_weather: sunny in Lisbon"
