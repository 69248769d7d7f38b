"""Translate LangGraph stream chunks into the API's SSE events (names and payloads as the reference)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message

GRAPH_MODE = {"messages-tuple": "messages", "messages": "messages"}


def graph_modes(api_modes: list[str]) -> list[str]:
    """The modes to ask the graph for: `values` always, to know the final output, and `updates`, which is where
    every interrupt shows (static ones too, as `{"__interrupt__": ()}`)."""
    modes = {GRAPH_MODE.get(m, m) for m in api_modes if m != "events"}
    modes.update(("values", "updates"))
    return sorted(modes)


def event_name(mode: str, namespace: tuple[str, ...]) -> str:
    return f"{mode}|{'|'.join(namespace)}" if namespace else mode


class MessageAccumulator:
    """Legacy `messages` mode: `messages/metadata` once per message, then `messages/partial` snapshots."""

    def __init__(self) -> None:
        self._seen: dict[str, BaseMessage] = {}

    def events(self, message: Any, metadata: dict[str, Any], namespace: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        if not isinstance(message, BaseMessage):
            return
        msg_id = message.id or ""
        if msg_id not in self._seen:
            yield event_name("messages/metadata", namespace), {msg_id: {"metadata": metadata}}
        if isinstance(message, BaseMessageChunk):
            previous = self._seen.get(msg_id)
            merged = message if previous is None or not isinstance(previous, BaseMessageChunk) else previous + message
            self._seen[msg_id] = merged
            yield event_name("messages/partial", namespace), [message_chunk_to_message(merged)]
        else:
            self._seen[msg_id] = message
            yield event_name("messages/complete", namespace), [message]


class ChunkTranslator:
    def __init__(self, api_modes: list[str]) -> None:
        self.api_modes = set(api_modes)
        self.last_values: Any = None
        self.interrupted = False  # in any graph of the run, subgraphs included
        self._messages = MessageAccumulator()

    def translate(self, namespace: tuple[str, ...], mode: str, chunk: Any) -> Iterator[tuple[str, Any]]:
        if mode == "values" and not namespace:
            self.last_values = chunk
        elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
            self.interrupted = True
        if mode == "messages":
            yield from self._translate_messages(namespace, chunk)
        elif mode in self.api_modes:
            yield event_name(mode, namespace), chunk

    def _translate_messages(self, namespace: tuple[str, ...], chunk: Any) -> Iterator[tuple[str, Any]]:
        message, metadata = chunk
        if "messages-tuple" in self.api_modes:
            yield event_name("messages", namespace), [message, metadata]
        if "messages" in self.api_modes:
            yield from self._messages.events(message, metadata, namespace)
