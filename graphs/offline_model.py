"""A deterministic chat model that needs no network: the default model of this repo's graphs and tests.

Its rules are fixed, so that tests and demos can rely on them:

- It answers the last human message with ``You said: <text>``, streamed word by word.
- With tools bound, a human message that names a tool (``"use get_weather for Paris"``) gets one call to that
  tool, and so does any message when ``tool_choice`` is ``"any"``, ``"required"`` or a tool name (the named or
  first tool). The arguments are the JSON object written in the message if there is one; otherwise every
  required parameter gets a value: for strings the text after the tool's name (``"Paris"`` in
  ``"get_weather Paris"``; the whole message when nothing follows), an empty or zero value for the others.
- After tool results it answers ``Tool results: <name>: <content>`` (one per result, joined by ``; ``) and
  calls no tool, so a tool loop always ends.
- Token usage counts words: those of every input message, and those of the answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCall, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool

REPLY_PREFIX = "You said: "
GREETING = "Hello! I am an offline model; send me a message."
EMPTY_VALUES: dict[str, Any] = {"integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}


@dataclass
class Reply:
    """What the model says to one prompt: text, or tool calls."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)

    def tokens(self) -> list[str]:
        """The text in streaming pieces: one word with its trailing spaces each; they join back to the text."""
        return re.findall(r"\s*\S+\s*", self.text) or ([self.text] if self.text else [])


class OfflineChatModel(BaseChatModel):
    """Deterministic, offline, streaming chat model with simple tool calling (see the module docstring)."""

    model_name: str = "offline"
    delay_seconds: float = 0.0
    """Pause before each streamed token, to imitate a remote model."""

    @property
    def _llm_type(self) -> str:
        return "offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self, tools: Sequence[ToolLike], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    # --- the four entry points LangChain calls ------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = plan_reply(messages, kwargs.get("tools"), kwargs.get("tool_choice"), stop)
        message = AIMessage(
            content=reply.text,
            tool_calls=reply.tool_calls,
            usage_metadata=usage(messages, reply),
            response_metadata={"model_name": self.model_name, "finish_reason": finish_reason(reply)},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, None, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = plan_reply(messages, kwargs.get("tools"), kwargs.get("tool_choice"), stop)
        for chunk in self._chunks(messages, reply):
            if self.delay_seconds:
                time.sleep(self.delay_seconds)
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = plan_reply(messages, kwargs.get("tools"), kwargs.get("tool_choice"), stop)
        for chunk in self._chunks(messages, reply):
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _chunks(self, messages: list[BaseMessage], reply: Reply) -> list[ChatGenerationChunk]:
        pieces: list[AIMessageChunk] = [AIMessageChunk(content=token) for token in reply.tokens()]
        pieces += [
            AIMessageChunk(
                content="",
                tool_call_chunks=[
                    tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=index)
                ],
            )
            for index, call in enumerate(reply.tool_calls)
        ]
        pieces.append(
            AIMessageChunk(
                content="",
                usage_metadata=usage(messages, reply),
                response_metadata={"model_name": self.model_name, "finish_reason": finish_reason(reply)},
                chunk_position="last",
            )
        )
        return [ChatGenerationChunk(message=piece) for piece in pieces]


# --- the rules ------------------------------------------------------------------------------------------------


def plan_reply(
    messages: Sequence[BaseMessage],
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | dict[str, Any] | bool | None = None,
    stop: list[str] | None = None,
) -> Reply:
    """The whole decision of the model, as a pure function of its input."""
    if messages and isinstance(messages[-1], ToolMessage):
        return Reply(text=_truncate(tool_results_text(messages), stop))
    human = last_human_text(messages)
    tool = choose_tool(human, tools or [], tool_choice)
    if tool is not None:
        name = tool["function"]["name"]
        args = tool_arguments(text_after(human, name), tool["function"].get("parameters") or {})
        return Reply(tool_calls=[ToolCall(name=name, args=args, id=call_id(messages, name, args), type="tool_call")])
    text = f"{REPLY_PREFIX}{human}" if human else GREETING
    return Reply(text=_truncate(text, stop))


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [part if isinstance(part, str) else str(part.get("text", "")) for part in content]
    return "".join(parts)


def last_human_text(messages: Sequence[BaseMessage]) -> str:
    return next((message_text(m).strip() for m in reversed(messages) if m.type == "human"), "")


def tool_results_text(messages: Sequence[BaseMessage]) -> str:
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    return "Tool results: " + "; ".join(f"{m.name or 'tool'}: {message_text(m)}" for m in results)


def choose_tool(
    text: str, tools: list[dict[str, Any]], tool_choice: str | dict[str, Any] | bool | None
) -> dict[str, Any] | None:
    """The tool to call, or None to answer in text."""
    if not tools or tool_choice == "none":
        return None
    by_name = {tool["function"]["name"]: tool for tool in tools}
    if isinstance(tool_choice, dict):
        tool_choice = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if isinstance(tool_choice, str) and tool_choice in by_name:
        return by_name[tool_choice]
    named = next((tool for name, tool in by_name.items() if re.search(rf"\b{re.escape(name)}\b", text)), None)
    if named is not None:
        return named
    if tool_choice in ("any", "required", True):
        return tools[0]
    return None


def text_after(text: str, word: str) -> str:
    """What follows `word` in `text` (the whole text when nothing does)."""
    match = re.search(rf"\b{re.escape(word)}\b", text)
    rest = text[match.end():].strip() if match else ""
    return rest or text


def tool_arguments(text: str, parameters: dict[str, Any]) -> dict[str, Any]:
    start = text.find("{")
    if start != -1:
        try:
            found, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            found = None
        if isinstance(found, dict):
            return found
    properties: dict[str, Any] = parameters.get("properties", {})
    args: dict[str, Any] = {}
    for name in parameters.get("required", []):
        kind = properties.get(name, {}).get("type", "string")
        args[name] = text if kind == "string" else EMPTY_VALUES.get(kind)
    return args


def call_id(messages: Sequence[BaseMessage], name: str, args: dict[str, Any]) -> str:
    """Stable for the same conversation and call, distinct between turns."""
    seed = json.dumps([len(messages), name, args], sort_keys=True, default=str)
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def usage(messages: Sequence[BaseMessage], reply: Reply) -> UsageMetadata:
    input_tokens = sum(len(message_text(m).split()) for m in messages)
    output_tokens = len(reply.text.split()) + sum(len(json.dumps(c["args"]).split()) for c in reply.tool_calls)
    return UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )


def finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _truncate(text: str, stop: list[str] | None) -> str:
    for word in stop or []:
        index = text.find(word)
        if index != -1:
            text = text[:index]
    return text
