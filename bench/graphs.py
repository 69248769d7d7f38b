"""The graphs the benchmark drives. They do no real work, so the numbers measure the server, not the graph.

- `trivial`: one async node that returns a value (`{"n": 3}` -> `{"n": 3, "result": 6}`).
- `tokens`: a chat turn answered by `TokenStreamModel`, a chat model stub that streams `TOKENS` (50) message chunks
  with no delay. Driven with `stream_mode="messages-tuple"`, each chunk reaches the client as one `messages` SSE
  event, through the same path a real LLM's tokens take: LangChain's streaming callbacks -> LangGraph's `messages`
  stream mode -> the server's broker -> SSE. A node emitting custom events would skip the callback machinery
  that real token streaming pays for, so the stub is the more realistic choice.

Nodes are `async def`: a sync node would add a thread-pool hop per step to every number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.graph import END, START, MessagesState, StateGraph

TOKENS = 50


class TrivialState(TypedDict, total=False):
    n: int
    result: int


async def double(state: TrivialState) -> TrivialState:
    return {"result": 2 * state.get("n", 0)}


trivial_builder = StateGraph(TrivialState)
trivial_builder.add_node("double", double)
trivial_builder.add_edge(START, "double")
trivial_builder.add_edge("double", END)
trivial = trivial_builder.compile(name="trivial")


class TokenStreamModel(BaseChatModel):
    """Answers every prompt with `n_tokens` words ("t0 t1 ..."), streamed one chunk per word, instantly."""

    n_tokens: int = TOKENS

    @property
    def _llm_type(self) -> str:
        return "bench-token-stream"

    def _words(self) -> list[str]:
        return [f"t{i} " for i in range(self.n_tokens)]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="".join(self._words())))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for word in self._words():
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for word in self._words():
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager is not None:
                await run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk


model = TokenStreamModel()


async def respond(state: MessagesState) -> dict[str, list[BaseMessage]]:
    return {"messages": [await model.ainvoke(state["messages"])]}


tokens_builder = StateGraph(MessagesState)
tokens_builder.add_node("respond", respond)
tokens_builder.add_edge(START, "respond")
tokens_builder.add_edge("respond", END)
tokens = tokens_builder.compile(name="tokens")
