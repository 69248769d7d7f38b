"""The user's own `http.app` routes under auth: open by default, authenticated with `enable_custom_route_auth`,
and then `request.user` is the authenticated user."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from conftest import PROJECT_DIR, ServedApp, make_settings, owner_project_config
from helpers import assert_error

from agent_server.app import create_app
from agent_server.config import HttpConfig


@pytest_asyncio.fixture(scope="module", params=[False, True], ids=["open-custom-routes", "custom-route-auth"])
async def served(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[tuple[ServedApp, bool]]:
    enforced = bool(request.param)
    http = HttpConfig(app=str(PROJECT_DIR / "custom_app.py") + ":app", enable_custom_route_auth=enforced)
    config = owner_project_config(http=http)
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)
    async with ServedApp(app) as served_app:
        yield served_app, enforced


async def test_custom_routes_follow_enable_custom_route_auth(served: tuple[ServedApp, bool]) -> None:
    app, enforced = served
    async with httpx.AsyncClient(base_url=app.url) as http:
        anonymous = await http.get("/custom/whoami")
        signed_in = await http.get("/custom/whoami", headers={"Authorization": "Bearer carol"})
        if enforced:
            assert_error(anonymous, 401)
            assert signed_in.json() == {"identity": "carol"}
        else:
            assert anonymous.json() == {"identity": None}
        assert_error(await http.post("/threads/search", json={}), 401)
