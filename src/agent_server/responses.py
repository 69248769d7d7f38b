"""JSON rendering with orjson (datetimes, UUIDs, and anything LangGraph puts in state)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


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


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
