"""Routing without a linear scan over every route.

FastAPI 0.165 keeps an included router as a wrapper and matches a request by trying every route of every
router in turn, twice per level (once to match, once more to handle): with our ~60 routes that cost 0.35-0.4 ms
of CPU per request, most of a `GET /ok`. Two changes remove it:

- `add_routes` copies a router's routes onto the app's router as plain routes (what `include_router` did before),
  so they match and run without the wrapper; the OpenAPI document is unchanged.
- `RouteIndex`, one route placed ahead of them, finds a request's candidates by the path's first segment and its
  number of segments, then lets those few routes match as usual. On no full match it declines, and the routes
  behind it answer as before (405, redirect of a trailing slash, 404).

And `RequestOnlyRoute` calls an endpoint that takes just the request and returns a response without FastAPI's
per-request parameter solving, which has nothing to do for it (~60-80 µs of CPU per request).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, get_type_hints

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

# Attributes of an APIRoute that add_api_route takes under the same name.
_ROUTE_OPTIONS = (
    "response_model", "status_code", "tags", "dependencies", "summary", "description", "response_description",
    "responses", "deprecated", "methods", "operation_id", "response_model_include", "response_model_exclude",
    "response_model_by_alias", "response_model_exclude_unset", "response_model_exclude_defaults",
    "response_model_exclude_none", "include_in_schema", "response_class", "name", "callbacks", "openapi_extra",
    "generate_unique_id_function", "strict_content_type", "max_body_size",
)


class RequestOnlyRoute(APIRoute):
    """An API route that hands an endpoint of the form `async def f(request) -> SomeResponse` the request directly.

    FastAPI's handler would solve the endpoint's parameters (parsing the query string and cookies on the way),
    then pass the response it returns through unchanged; any other endpoint gets FastAPI's handler.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if not takes_only_the_request(self):
            return super().get_route_handler()
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            return await endpoint(request)  # type: ignore[no-any-return]

        return handle


def takes_only_the_request(route: APIRoute) -> bool:
    """A coroutine endpoint with one parameter, the request, annotated to return a Response, and no dependencies."""
    dependant = route.dependant
    if not inspect.iscoroutinefunction(route.endpoint) or dependant.request_param_name is None:
        return False
    if len(inspect.signature(route.endpoint).parameters) != 1 or dependant.dependencies:
        return False
    try:
        returns = get_type_hints(route.endpoint).get("return")
    except (NameError, TypeError):  # an annotation that cannot be resolved here: FastAPI's handler takes it
        return False
    return inspect.isclass(returns) and issubclass(returns, Response)


def add_routes(target: APIRouter, source: APIRouter) -> None:
    """Add `source`'s routes to `target` as its own (they take `target`'s defaults, as included routes do); plain
    API routes become `RequestOnlyRoute`s."""
    for route in source.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"add_routes copies API routes only, got {route!r}")
        options: dict[str, Any] = {name: getattr(route, name) for name in _ROUTE_OPTIONS if hasattr(route, name)}
        route_class = RequestOnlyRoute if type(route) is APIRoute else type(route)
        target.add_api_route(route.path, route.endpoint, route_class_override=route_class, **options)


def _key(path: str) -> tuple[str, int]:
    """First segment and number of segments: `/threads/{id}/runs` -> ("threads", 3)."""
    segments = path.count("/")
    second = path.find("/", 1)
    return (path[1:] if second < 0 else path[1:second]), segments


def _indexable(route: BaseRoute) -> bool:
    """A route whose path starts with a literal segment and whose parameters each take exactly one segment."""
    if not isinstance(route, Route) or not route.path.startswith("/"):
        return False
    first = _key(route.path)[0]
    return "{" not in first and ":path}" not in route.path


class RouteIndex(BaseRoute):
    """Matches a request against the few routes that share its first segment and length, in their order."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes: list[Route] = []
        self._buckets: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            if not _indexable(route):
                break  # the routes after it could only be tried after it: leave them to the router
            assert isinstance(route, Route)
            self.routes.append(route)
            self._buckets.setdefault(_key(route.path), []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path + "/"):
            path = path[len(root_path):]
        for route in self._buckets.get(_key(path), ()):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                child_scope["route"] = route
                return match, child_scope
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: Route = scope["route"]
        await route.handle(scope, receive, send)
