"""Crons under custom auth (examples/auth.py: each user owns what they create and sees only that).

Another user's cron answers 404 and stays unchanged; search and count never show it; a cron's ticks run as its
creator (the graph sees them in `config.configurable`). The module runs its own app on its own database, with a
scheduler polling every 0.1 s and a graph reporting who it runs for.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import (
    ALICE_DEMO,
    BOB_DEMO,
    ServedApp,
    example_auth_config,
    make_settings,
    project_config,
)
from helpers import assert_error, eventually, tag
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from agent_server.app import create_app
from agent_server.config import GraphSpec
from agent_server.services.auth import SYSTEM
from agent_server.services.crons import creator_actor, with_identity

ALICE, BOB = ALICE_DEMO, BOB_DEMO
EVERY_SECOND = "* * * * * *"
DAILY = "0 9 * * *"


class Who(TypedDict, total=False):
    user_id: str
    identity: str


def report_user(state: Who, config: RunnableConfig) -> dict[str, Any]:
    configurable = config.get("configurable", {})
    return {"user_id": configurable.get("langgraph_auth_user_id"),
            "identity": configurable["langgraph_auth_user"]["identity"]}


whoami_builder = StateGraph(Who)
whoami_builder.add_node("report_user", report_user)
whoami_builder.add_edge(START, "report_user")
whoami_builder.add_edge("report_user", END)
whoami = whoami_builder.compile()


@pytest_asyncio.fixture(scope="module")
async def owner_app(module_database_url: str) -> AsyncIterator[ServedApp]:
    graphs = [*project_config().graphs, GraphSpec(graph_id="whoami", path=f"{Path(__file__).resolve()}:whoami")]
    config = example_auth_config(graphs=graphs)
    app = create_app(make_settings(module_database_url, OPEN_LANGGRAPH_CRON_INTERVAL_SECONDS=0.1), config)
    async with ServedApp(app) as served:
        yield served


@pytest_asyncio.fixture
async def http(owner_app: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=owner_app.url, timeout=30) as client:
        yield client


async def ok(response: Awaitable[httpx.Response]) -> Any:
    answer = await response
    assert answer.status_code == 200, answer.text
    return answer.json()


async def new_thread(http: httpx.AsyncClient, user: dict[str, str]) -> str:
    thread_id: str = (await ok(http.post("/threads", json={}, headers=user)))["thread_id"]
    return thread_id


async def new_cron(http: httpx.AsyncClient, user: dict[str, str], thread_id: str | None = None,
                   **body: Any) -> dict[str, Any]:
    path = f"/threads/{thread_id}/runs/crons" if thread_id else "/runs/crons"
    cron: dict[str, Any] = await ok(http.post(path, json={"assistant_id": "plain", "schedule": DAILY, **body},
                                              headers=user))
    return cron


async def test_anonymous(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/runs/crons", json={"assistant_id": "plain", "schedule": DAILY}), 401)
    assert_error(await http.post("/runs/crons/search", json={}), 401)


async def test_create_writes_the_owner_and_the_creator(http: httpx.AsyncClient) -> None:
    cron = await new_cron(http, ALICE, metadata={"k": "v"})
    assert cron["metadata"] == {"k": "v", "owner": "alice"}
    assert cron["user_id"] == "alice"
    on_thread = await new_cron(http, ALICE, await new_thread(http, ALICE))
    assert (on_thread["metadata"], on_thread["user_id"]) == ({"owner": "alice"}, "alice")
    fetched = await ok(http.get(f"/runs/crons/{cron['cron_id']}", headers=ALICE))
    assert fetched == cron
    for shown in (cron, on_thread, fetched, *(await ok(http.post("/runs/crons/search", json={}, headers=ALICE)))):
        assert "langgraph_auth_user" not in str(shown), "the stored creator stays out of responses"


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"schedule": "0 1 * * *",
                                                                         "metadata": {"owner": "bob"}}),
                                               ("DELETE", None)])
async def test_another_users_cron_is_not_found_and_unchanged(
    http: httpx.AsyncClient, method: str, body: dict[str, Any] | None
) -> None:
    cron = await new_cron(http, ALICE, await new_thread(http, ALICE), metadata={"k": "v"})
    assert_error(await http.request(method, f"/runs/crons/{cron['cron_id']}", json=body, headers=BOB), 404)
    assert await ok(http.get(f"/runs/crons/{cron['cron_id']}", headers=ALICE)) == cron


async def test_search_and_count_show_only_the_users_own(http: httpx.AsyncClient) -> None:
    mark = {"suite": tag()}
    thread_id = await new_thread(http, ALICE)
    alices = {(await new_cron(http, ALICE, metadata=mark))["cron_id"],
              (await new_cron(http, ALICE, thread_id, metadata=mark))["cron_id"]}
    bobs = (await new_cron(http, BOB, metadata=mark))["cron_id"]
    found = await ok(http.post("/runs/crons/search", json={"metadata": mark}, headers=BOB))
    assert [c["cron_id"] for c in found] == [bobs]
    assert await ok(http.post("/runs/crons/count", json={"metadata": mark}, headers=BOB)) == 1
    assert await ok(http.post("/runs/crons/count", json={"metadata": mark}, headers=ALICE)) == 2
    assert await ok(http.post("/runs/crons/search", json={"thread_id": thread_id}, headers=BOB)) == []
    everything = await ok(http.post("/runs/crons/search", json={"limit": 1000}, headers=BOB))
    assert alices.isdisjoint(c["cron_id"] for c in everything)


async def test_a_cron_cannot_use_another_users_thread_or_assistant(http: httpx.AsyncClient) -> None:
    thread_id = await new_thread(http, ALICE)
    assistant = await ok(http.post("/assistants", json={"graph_id": "plain"}, headers=ALICE))
    before = await ok(http.post("/runs/crons/count", json={}, headers=BOB))
    cron = {"assistant_id": "plain", "schedule": DAILY}
    assert_error(await http.post(f"/threads/{thread_id}/runs/crons", json=cron, headers=BOB), 404)
    cron["assistant_id"] = assistant["assistant_id"]
    assert_error(await http.post("/runs/crons", json=cron, headers=BOB), 404)
    assert await ok(http.post("/runs/crons/count", json={}, headers=BOB)) == before
    assert await ok(http.post("/runs/crons/search", json={"thread_id": thread_id}, headers=ALICE)) == []
    assert (await new_cron(http, ALICE, thread_id, assistant_id=assistant["assistant_id"]))["user_id"] == "alice"


async def ticks_on(http: httpx.AsyncClient, user: dict[str, str], thread_id: str) -> list[dict[str, Any]]:
    async def some_run() -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = await ok(http.get(f"/threads/{thread_id}/runs", headers=user))
        return runs or None

    return await eventually(some_run)


async def test_a_tick_runs_as_the_cron_creator(http: httpx.AsyncClient) -> None:
    """Bob's cron runs as Bob even with Alice's user written into its config; Alice's runs as Alice."""
    forged = {"configurable": {"langgraph_auth_user": {"identity": "alice"}, "langgraph_auth_user_id": "alice"}}
    for user, identity, config in ((ALICE, "alice", None), (BOB, "bob", forged)):
        thread_id = await new_thread(http, user)
        extra = {"config": config} if config else {}
        cron = await new_cron(http, user, thread_id, assistant_id="whoami", schedule=EVERY_SECOND, input={},
                              **extra)
        run = (await ticks_on(http, user, thread_id))[-1]
        assert (await http.delete(f"/runs/crons/{cron['cron_id']}", headers=user)).status_code == 204
        assert run["kwargs"]["config"]["configurable"]["langgraph_auth_user_id"] == identity
        await http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join", headers=user)
        state = await ok(http.get(f"/threads/{thread_id}/state", headers=user))
        assert state["values"] == {"user_id": identity, "identity": identity}


async def test_a_stateless_tick_keeps_its_thread_for_the_creator(http: httpx.AsyncClient) -> None:
    assistant = await ok(http.post("/assistants", json={"graph_id": "whoami"}, headers=ALICE))
    cron = await new_cron(http, ALICE, assistant_id=assistant["assistant_id"], schedule=EVERY_SECOND, input={},
                          on_run_completed="keep")
    mine = {"metadata": {"assistant_id": assistant["assistant_id"]}}

    async def kept_threads() -> list[dict[str, Any]] | None:
        return await ok(http.post("/threads/search", json=mine, headers=ALICE)) or None

    thread = (await eventually(kept_threads))[0]
    assert (await http.delete(f"/runs/crons/{cron['cron_id']}", headers=ALICE)).status_code == 204
    assert thread["metadata"]["owner"] == "alice"
    assert await ok(http.post("/threads/search", json=mine, headers=BOB)) == []


def test_a_client_cannot_choose_who_ticks_run_as() -> None:
    """Auth keys a client writes into a cron's config are dropped; only the creator the server stores counts."""
    cron_id = uuid.uuid4()
    forged = {"config": {"configurable": {"langgraph_auth_user": {"identity": "mallory"}, "x": 1,
                                          "langgraph_auth_user_id": "mallory"}}}
    stored = with_identity(forged, uuid.uuid4(), cron_id, None)
    assert stored["config"]["configurable"] == {"x": 1, "cron_id": str(cron_id)}
    assert creator_actor(None, {"payload": stored}) is SYSTEM
    alice = {"identity": "alice", "permissions": []}
    ticks_as = creator_actor(None, {"payload": with_identity(forged, uuid.uuid4(), cron_id, alice)})
    assert (ticks_as.identity, ticks_as.engine) == ("alice", None)
