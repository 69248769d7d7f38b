"""Domain errors: one base with a status code, one subclass per condition, one handler set.

The wire shape is the reference server's: `{"detail": "..."}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_server.models.common import ErrorBody, ValidationErrorBody
from agent_server.responses import JSONResponse


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


class BadRequest(ApiError):
    status_code = 400


class AssistantNotFound(NotFound):
    def __init__(self, assistant_id: Any) -> None:
        super().__init__(f"Assistant '{assistant_id}' not found")


class GraphNotFound(NotFound):
    def __init__(self, graph_id: str) -> None:
        super().__init__(f"Graph '{graph_id}' not found")


class ThreadNotFound(NotFound):
    def __init__(self, thread_id: Any) -> None:
        super().__init__(f"Thread '{thread_id}' not found")


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """A JSON schema with its local `$ref`s replaced by the definitions they name."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema


def _error(description: str, example: str, model: type[ErrorBody] = ErrorBody) -> dict[str, Any]:
    """An error response, always JSON. The schema is written out rather than given as `model`: FastAPI would
    document a model under the route's own media type, which for the event streams is text/event-stream."""
    schema = model.model_json_schema()
    return {"description": description, "content": {"application/json": {
        "schema": _inline(schema, schema.get("$defs", {})), "example": {"detail": example}}}}


ErrorResponses: dict[int | str, dict[str, Any]] = {
    400: _error("Bad request", "Request body is not valid UTF-8"),
    404: _error("Not found", "... not found"),
    409: _error("Conflict", "... exists"),
    422: _error("Invalid request", "field: message", ValidationErrorBody),
}


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "Invalid request"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be huge, binary, or not representable as JSON.
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    return JSONResponse({"detail": _validation_detail(exc), "errors": errors}, status_code=422)


def _http_detail(exc: StarletteHTTPException) -> Any:
    """FastAPI's detail, made specific where it says only that the body could not be parsed."""
    if isinstance(exc.__cause__, UnicodeDecodeError):
        return "Request body is not valid UTF-8"
    return exc.detail


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": _http_detail(exc)}, status_code=exc.status_code, headers=exc.headers)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
