"""Config keys that shape the app: http.app (user routes beside ours), http.cors, checkpointer.ttl."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from conftest import PROJECT_DIR, ServedApp, make_settings, project_config

from agent_server.app import create_app
from agent_server.config import CorsConfig, HttpConfig, TTLConfig
from agent_server.services.threads import sweep_expired_threads


@pytest_asyncio.fixture(scope="module")
async def served(module_database_url: str) -> AsyncIterator[ServedApp]:
    base = project_config()
    config = base.model_copy(update={
        "http": HttpConfig(app=str(PROJECT_DIR / "custom_app.py") + ":app",
                           cors=CorsConfig(allow_origins=["https://ui.example"])),
        "checkpointer": base.checkpointer.model_copy(update={"ttl": TTLConfig(default_ttl=0.001)}),
    })
    app = create_app(make_settings(module_database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)
    async with ServedApp(app) as served_app:
        yield served_app


async def test_user_routes_are_served_beside_ours(served: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        assert (await http.get("/custom/hello")).json() == {"hello": "world"}
        assert (await http.get("/ok")).json() == {"ok": True}
        document = (await http.get("/openapi.json")).json()
        assert document["info"]["title"] == "Open LangGraph Server"  # not the user app's own document
        assert {"/custom/hello", "/threads", "/runs/wait"} <= set(document["paths"])


async def test_cors_allows_only_the_configured_origin(served: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        allowed = await http.options("/threads", headers={"Origin": "https://ui.example",
                                                          "Access-Control-Request-Method": "POST"})
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
        other = await http.get("/ok", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_thread_ttl_sweep_removes_idle_threads(served: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        thread = (await http.post("/threads", json={"graph_id": "plain", "supersteps": [
            {"updates": [{"values": {"value": "v"}, "as_node": "a"}]}]})).json()
        assert (await http.get(f"/threads/{thread['thread_id']}/state")).json()["values"] == {"value": "v",
                                                                                               "steps": []}
        await asyncio.sleep(0.2)
        removed = await sweep_expired_threads(served.app.state.olg)
        assert removed >= 1
        assert (await http.get(f"/threads/{thread['thread_id']}")).status_code == 404
        state = served.app.state.olg
        assert await state.checkpointer.aget_tuple({"configurable": {"thread_id": thread["thread_id"]}}) is None
