"""RouteIndex and add_routes: the same answers as FastAPI's own routing, found without trying every route."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.routing import Match

from agent_server.app import create_app
from agent_server.config import load_config
from agent_server.errors import NotFound, add_exception_handlers
from agent_server.responses import JSONResponse
from agent_server.routing import RequestOnlyRoute, RouteIndex, add_routes, takes_only_the_request
from agent_server.settings import Settings

PROJECT = Path(__file__).parent / "project" / "langgraph.json"


def build(indexed: bool) -> FastAPI:
    router = APIRouter(prefix="/things", tags=["Things"])

    @router.get("/search")
    async def search() -> dict[str, str]:
        return {"route": "search"}

    @router.get("/{thing_id}")
    async def get_thing(thing_id: UUID) -> dict[str, str]:
        return {"route": "get", "id": str(thing_id)}

    @router.get("/{thing_id}/parts/{part}")
    async def get_part(thing_id: str, part: int) -> dict[str, str]:
        return {"route": "part", "part": str(part)}

    @router.post("")
    async def create() -> dict[str, str]:
        return {"route": "create"}

    @router.get("/{thing_id}/file/{rest:path}")  # several segments: the index stops before it
    async def file(thing_id: str, rest: str) -> dict[str, str]:
        return {"route": "file", "rest": rest}

    @router.get("/after/{x}")
    async def after(x: str) -> dict[str, str]:
        return {"route": "after", "x": x}

    app = FastAPI(default_response_class=JSONResponse)
    if indexed:
        add_routes(app.router, router)
        app.router.routes[:0] = [RouteIndex(app.router.routes)]
    else:
        app.include_router(router)
    return app


REQUESTS = [
    ("GET", "/things/search"),
    ("GET", "/things/7c1f8d2e-0c6a-4f4e-9f57-3a3f0f1f2b11"),
    ("GET", "/things/not-a-uuid"),  # the parameter route matches, validation answers 422
    ("GET", "/things/x/parts/3"),
    ("GET", "/things/x/parts/three"),
    ("POST", "/things"),
    ("DELETE", "/things"),  # 405 from the routes behind the index
    ("GET", "/things/"),  # redirect_slashes
    ("GET", "/things/x/file/a/b/c.txt"),
    ("GET", "/things/after/1"),
    ("GET", "/nothing/here"),
    ("GET", "/"),
    ("GET", "/openapi.json"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_index_answers_as_fastapi_does(method: str, path: str) -> None:
    answers = []
    for indexed in (False, True):
        transport = httpx.ASGITransport(app=build(indexed))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.request(method, path, follow_redirects=False)
            answers.append((response.status_code, response.headers.get("location"), response.content))
    assert answers[0] == answers[1]


def test_index_covers_routes_up_to_the_first_it_cannot_place() -> None:
    app = build(indexed=True)
    index = app.router.routes[0]
    assert isinstance(index, RouteIndex)
    paths = [route.path for route in index.routes]
    assert "/things/{thing_id}/parts/{part}" in paths
    assert "/things/{thing_id}/file/{rest:path}" not in paths
    assert "/things/after/{x}" not in paths  # it could only be tried after the :path route


def test_index_declines_a_wrong_method_and_other_lengths() -> None:
    index = build(indexed=True).router.routes[0]
    scope = {"type": "http", "method": "DELETE", "path": "/things", "root_path": ""}
    assert index.matches(scope)[0] is Match.NONE
    scope = {"type": "http", "method": "GET", "path": "/things/a/parts/1/extra", "root_path": ""}
    assert index.matches(scope)[0] is Match.NONE
    scope = {"type": "http", "method": "GET", "path": "/api/things/search", "root_path": "/api"}
    match, child = index.matches(scope)
    assert match is Match.FULL
    assert isinstance(child["route"], APIRoute)
    assert child["route"].path == "/things/search"


def test_server_app_keeps_its_openapi_and_indexes_every_protocol_route() -> None:
    app = create_app(Settings(database_url="postgresql://unused@localhost/unused"), load_config(PROJECT))
    index = next(route for route in app.router.routes if isinstance(route, RouteIndex))
    api_routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert {id(route) for route in api_routes} <= {id(route) for route in index.routes}
    spec = app.openapi()
    assert "/store/items" in spec["paths"]
    assert spec["paths"]["/store/items"]["put"]["tags"] == ["Store"]
    assert "404" in spec["paths"]["/threads/{thread_id}"]["get"]["responses"]


async def request_only(request: Request) -> JSONResponse:
    if request.query_params.get("missing"):
        raise NotFound("nothing here")
    return JSONResponse({"path": request.url.path, "q": request.query_params.get("q")}, status_code=201)


async def with_a_parameter(request: Request, q: str | None = None) -> JSONResponse:
    return JSONResponse({"q": q})


async def returns_a_dict(request: Request) -> dict[str, str]:
    return {"shape": "dict"}


def synchronous(request: Request) -> JSONResponse:
    return JSONResponse({})


def route_for(endpoint: object, **options: object) -> APIRoute:
    router = APIRouter()
    router.add_api_route("/r", endpoint, **options)  # type: ignore[arg-type]
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    return route


async def unresolvable(request: Request) -> NotImportedHere:  # type: ignore[name-defined]  # noqa: F821
    return JSONResponse({})


def test_only_an_endpoint_taking_just_the_request_and_returning_a_response_qualifies() -> None:
    assert takes_only_the_request(route_for(request_only))
    assert not takes_only_the_request(route_for(with_a_parameter))
    assert not takes_only_the_request(route_for(returns_a_dict))
    assert not takes_only_the_request(route_for(synchronous))
    assert not takes_only_the_request(route_for(unresolvable, response_model=None))
    assert not takes_only_the_request(route_for(request_only, dependencies=[Depends(lambda: None)]))


async def test_a_request_only_route_answers_and_raises_as_through_fastapi() -> None:
    router = APIRouter()
    for path, endpoint in (("/lean", request_only), ("/full", with_a_parameter), ("/dict", returns_a_dict)):
        router.add_api_route(path, endpoint)
    app = FastAPI(default_response_class=JSONResponse)
    add_exception_handlers(app)
    add_routes(app.router, router)
    handlers = {route.path: route.get_route_handler().__qualname__
                for route in app.router.routes if isinstance(route, RequestOnlyRoute)}
    assert handlers["/lean"].startswith("RequestOnlyRoute.")
    assert not handlers["/full"].startswith("RequestOnlyRoute.")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        lean = await client.get("/lean", params={"q": "x"})
        assert (lean.status_code, lean.json()) == (201, {"path": "/lean", "q": "x"})
        missing = await client.get("/lean", params={"missing": "1"})
        assert (missing.status_code, missing.json()) == (404, {"detail": "nothing here"})
        assert (await client.get("/full", params={"q": "y"})).json() == {"q": "y"}
        assert (await client.get("/dict")).json() == {"shape": "dict"}
        assert (await client.post("/lean")).status_code == 405


def test_the_store_get_runs_as_a_request_only_route() -> None:
    app = create_app(Settings(database_url="postgresql://unused@localhost/unused"), load_config(PROJECT))
    get_item = next(route for route in app.router.routes
                    if isinstance(route, APIRoute) and route.path == "/store/items" and "GET" in route.methods)
    assert isinstance(get_item, RequestOnlyRoute)
    assert get_item.get_route_handler().__qualname__.startswith("RequestOnlyRoute.")  # not FastAPI's handler
