"""JSON rendering with orjson (datetimes, UUIDs, and anything LangGraph puts in state)."""

from __future__ import annotations

from typing import Any

import orjson
from sse_starlette import EventSourceResponse
from starlette import responses


def _default(obj: Any) -> Any:
    for method in ("model_dump", "dict", "to_json"):
        fn = getattr(obj, method, None)
        if callable(fn):
            try:
                return fn()
            except Exception:
                continue
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def _encodable(value: Any) -> Any:
    """`value` with what orjson refuses made writable: integers beyond 64 bits become floats, lone surrogates in
    strings become '?'."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


def dumps(content: Any) -> bytes:
    """JSON bytes. jsonb keeps a number like 1e30 as 1000...0, which reads back as an integer wider than 64 bits:
    such integers are written as the floats they were sent as. Lone surrogates (which request validation refuses,
    but an error message may quote) are replaced."""
    try:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return orjson.dumps(_encodable(content), default=_default, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(responses.JSONResponse):
    """Starlette's JSONResponse rendered by orjson. Being a JSONResponse, FastAPI documents a route's declared
    model as its JSON body (any other response class is documented as `{"type": "string"}`)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


class EventStreamResponse(EventSourceResponse):
    """sse_starlette's response, with its media type on the class, where FastAPI reads it: a route declaring it as
    `response_class` is documented as answering text/event-stream."""

    media_type = "text/event-stream"


# How the event streams are documented: one schema per event, as OpenAPI tools read a text/event-stream schema.
EventStreamResponses: dict[int | str, dict[str, Any]] = {200: {
    "description": "Server-sent events: `event` is the stream mode (or metadata, error, end), `data` its JSON",
    "content": {"text/event-stream": {"schema": {
        "type": "object",
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
    }}},
}}
