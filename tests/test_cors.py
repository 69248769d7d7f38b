"""CORS: `http.cors` allows exactly its origins; without it `serve` sends no CORS headers and `dev` allows any."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import ServedApp, free_port, make_settings, project_config
from typer.testing import CliRunner

from agent_server.app import create_app
from agent_server.cli import app as cli
from agent_server.config import CorsConfig, HttpConfig
from agent_server.settings import Settings

ALLOWED = "https://app.example.com"
STRANGER = "https://evil.example.net"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
ALLOW_ORIGIN = "access-control-allow-origin"
JWT_SECRET = "jwt-secret-for-the-cors-tests-0123456789"


@asynccontextmanager
async def serving(database_url: str, cors: CorsConfig | None = None, **settings: Any) -> AsyncIterator[ServedApp]:
    config = project_config(http=HttpConfig(cors=cors)) if cors is not None else project_config()
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0, **settings), config)
    async with ServedApp(app) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def configured(database_url: str) -> AsyncIterator[ServedApp]:
    async with serving(database_url, CorsConfig(allow_origins=[ALLOWED])) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def configured_with_auth(database_url: str) -> AsyncIterator[ServedApp]:
    async with serving(database_url, CorsConfig(allow_origins=[ALLOWED]), jwt={"secret": JWT_SECRET}) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def serve_mode(database_url: str) -> AsyncIterator[ServedApp]:
    async with serving(database_url) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def dev_mode(database_url: str) -> AsyncIterator[ServedApp]:
    async with serving(database_url, OPEN_LANGGRAPH_DEV_CORS=True) as served:
        yield served


async def preflight(served: ServedApp, origin: str, path: str = "/threads") -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as http:
        return await http.options(path, headers={"Origin": origin, **PREFLIGHT})


async def get_ok(served: ServedApp, origin: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as http:
        return await http.get("/ok", headers={"Origin": origin})


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_a_listed_origin_is_allowed(configured: ServedApp) -> None:
    answer = await preflight(configured, ALLOWED)
    assert answer.status_code == 200
    assert answer.headers[ALLOW_ORIGIN] == ALLOWED
    assert "POST" in answer.headers["access-control-allow-methods"]
    simple = await get_ok(configured, ALLOWED)
    assert simple.status_code == 200
    assert simple.headers[ALLOW_ORIGIN] == ALLOWED


async def test_an_unlisted_origin_gets_no_allow_origin(configured: ServedApp) -> None:
    answer = await preflight(configured, STRANGER)
    assert answer.status_code == 400
    assert ALLOW_ORIGIN not in answer.headers
    simple = await get_ok(configured, STRANGER)
    assert simple.status_code == 200
    assert ALLOW_ORIGIN not in simple.headers


async def test_preflight_needs_no_credentials_and_a_401_carries_cors(configured_with_auth: ServedApp) -> None:
    answer = await preflight(configured_with_auth, ALLOWED)
    assert answer.status_code == 200
    assert answer.headers[ALLOW_ORIGIN] == ALLOWED
    async with httpx.AsyncClient(base_url=configured_with_auth.url) as http:
        refused = await http.post("/threads", json={}, headers={"Origin": ALLOWED})
    assert refused.status_code == 401
    assert refused.headers[ALLOW_ORIGIN] == ALLOWED, "the browser must be able to read why it was refused"


async def test_serve_without_http_cors_sends_no_cors_headers(serve_mode: ServedApp) -> None:
    for origin in (ALLOWED, STRANGER):
        answer = await preflight(serve_mode, origin)
        assert cors_headers(answer) == {}
        assert cors_headers(await get_ok(serve_mode, origin)) == {}


async def test_dev_without_http_cors_allows_any_origin(dev_mode: ServedApp) -> None:
    answer = await preflight(dev_mode, STRANGER)
    assert answer.status_code == 200
    assert answer.headers[ALLOW_ORIGIN] == "*"
    simple = await get_ok(dev_mode, STRANGER)
    assert simple.headers[ALLOW_ORIGIN] == "*"
    assert "x-pagination-total" in simple.headers["access-control-expose-headers"].lower()


# --- which mode each command asks for ----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "dev_cors"), [
    (["dev", "--no-reload"], True), (["serve", "--allow-no-auth"], False),
])
def test_dev_asks_for_dev_cors_and_serve_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], dev_cors: bool
) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr("agent_server.cli.uvicorn.run", lambda *args, **kwargs: seen.append(Settings()))
    monkeypatch.setattr("agent_server.cli.require_free_address", lambda host, port: None)  # nothing binds
    config = tmp_path / "open_langgraph.json"
    config.write_text(json.dumps({"graphs": {}}))
    # Every variable the commands export is listed, so that CliRunner restores it afterwards.
    env = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", "OPEN_LANGGRAPH_DEV_CORS": None,
           "OPEN_LANGGRAPH_CONFIG": None, "OPEN_LANGGRAPH_N_JOBS_PER_WORKER": None, "OPEN_LANGGRAPH_BROKER": None,
           "OPEN_LANGGRAPH_DATA_DIR": None, "OPEN_LANGGRAPH_JWT_SECRET": None}
    result = CliRunner().invoke(cli, [*command, "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    assert [settings.dev_cors for settings in seen] == [dev_cors]
