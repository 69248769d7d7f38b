"""Crons through langgraph-sdk and httpx: CRUD, search, errors, ticks that create runs, and one tick per schedulers.

The module runs its own app (on its own database) whose scheduler polls every 0.1 s, so per-second schedules fire
within the test; the exactly-once tests start further instances on a shared database.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import psycopg
import pytest
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config, scratch_database
from helpers import assert_error, eventually, tag
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from agent_server.app import create_app
from agent_server.services.graphs import default_assistant_id
from agent_server.state import AppState
from agent_server.workers.crons import fire_due_crons

EVERY_SECOND = "* * * * * *"
FAST_CRONS = {"OPEN_LANGGRAPH_CRON_INTERVAL_SECONDS": 0.1}
PLAIN_ID = str(default_assistant_id("plain"))


@pytest_asyncio.fixture(scope="module")
async def server_url(module_database_url: str) -> AsyncIterator[str]:
    """This module's app (overrides the session's): the conftest `client` and `http` fixtures talk to it."""
    async with ServedApp(create_app(make_settings(module_database_url, **FAST_CRONS), project_config())) as served:
        yield served.url


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def runs_on(client: LangGraphClient, thread_id: str) -> list[dict[str, Any]]:
    return list(await client.runs.list(thread_id, limit=100))


async def at_least_runs(client: LangGraphClient, thread_id: str, n: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        runs = await runs_on(client, thread_id)
        return runs if len(runs) >= n else None

    return await eventually(enough)


class WebhookSink:
    """A local HTTP server that records every webhook body it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        self.bodies.append(orjson.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> WebhookSink:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    def from_cron(self, cron_id: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b["kwargs"]["config"]["configurable"].get("cron_id") == cron_id]


async def test_info_reports_crons(http: httpx.AsyncClient) -> None:
    assert (await http.get("/info")).json()["flags"]["crons"] is True


async def test_create_thread_cron_and_get_it(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    before = datetime.now(UTC)
    cron = await client.crons.create_for_thread(
        thread["thread_id"], "echo", schedule="*/5 * * * *", input={"messages": []}, metadata={"owner": "me"},
        multitask_strategy="enqueue",
    )
    assert set(cron) == {
        "cron_id", "assistant_id", "thread_id", "user_id", "end_time", "schedule", "timezone", "payload",
        "next_run_date", "metadata", "on_run_completed", "enabled", "created_at", "updated_at",
    }
    assert cron["assistant_id"] == str(default_assistant_id("echo"))
    assert cron["thread_id"] == thread["thread_id"]
    assert (cron["schedule"], cron["timezone"], cron["end_time"], cron["user_id"]) == ("*/5 * * * *", None, None, None)
    assert (cron["enabled"], cron["on_run_completed"], cron["metadata"]) == (True, None, {"owner": "me"})
    next_run = when(cron["next_run_date"])
    assert (next_run.minute % 5, next_run.second) == (0, 0)
    assert before < next_run <= before + timedelta(minutes=5)
    assert cron["payload"]["input"] == {"messages": []}
    assert cron["payload"]["assistant_id"] == cron["assistant_id"]
    assert cron["payload"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
    assert (await http.get(f"/runs/crons/{cron['cron_id']}")).json() == cron


async def test_stateless_cron_defaults_and_timezone(client: LangGraphClient) -> None:
    cron = await client.crons.create("echo", schedule="0 9 * * *", timezone=ZoneInfo("America/New_York"))
    assert (cron["thread_id"], cron["on_run_completed"], cron["timezone"]) == (None, "delete", "America/New_York")
    local = when(cron["next_run_date"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)
    assert when(cron["next_run_date"]) - datetime.now(UTC) <= timedelta(days=1)
    kept = await client.crons.create("echo", schedule="0 0 1 1 *", on_run_completed="keep", enabled=False)
    assert (kept["on_run_completed"], kept["enabled"]) == ("keep", False)
    assert when(kept["next_run_date"]).strftime("%m-%d %H:%M") == "01-01 00:00"


async def test_search_count_filters_sort_select_and_pages(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    mark = {"suite": tag()}
    thread = await client.threads.create()
    on_thread = await client.crons.create_for_thread(thread["thread_id"], "plain", schedule="0 3 * * *", metadata=mark)
    daily = await client.crons.create("plain", schedule="0 1 * * *", metadata=mark)
    off = await client.crons.create("echo", schedule="0 2 * * *", metadata=mark, enabled=False)

    found = await client.crons.search(metadata=mark)
    assert [c["cron_id"] for c in found] == [off["cron_id"], daily["cron_id"], on_thread["cron_id"]]
    assert [c["cron_id"] for c in await client.crons.search(thread_id=thread["thread_id"])] == [on_thread["cron_id"]]
    assert [c["cron_id"] for c in await client.crons.search(metadata=mark, enabled=False)] == [off["cron_id"]]
    by_plain = await client.crons.search(metadata=mark, assistant_id=PLAIN_ID)
    assert {c["cron_id"] for c in by_plain} == {on_thread["cron_id"], daily["cron_id"]}
    by_next = await client.crons.search(metadata=mark, sort_by="next_run_date", sort_order="asc")
    assert [c["next_run_date"] for c in by_next] == sorted(c["next_run_date"] for c in found)
    picked = await client.crons.search(metadata=mark, select=["cron_id", "schedule"], limit=1)
    assert picked == [{"cron_id": off["cron_id"], "schedule": "0 2 * * *"}]

    page = await http.post("/runs/crons/search", json={"metadata": mark, "limit": 2, "offset": 1})
    assert [c["cron_id"] for c in page.json()] == [daily["cron_id"], on_thread["cron_id"]]
    assert page.headers["X-Pagination-Total"] == "3"
    first = await http.post("/runs/crons/search", json={"metadata": mark, "limit": 2})
    assert first.headers["X-Pagination-Next"] == "2"

    assert await client.crons.count(metadata=mark) == 3
    assert await client.crons.count(thread_id=thread["thread_id"]) == 1
    assert await client.crons.count(metadata=mark, assistant_id=PLAIN_ID) == 2


async def test_update_cron(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    cron = await client.crons.create("plain", schedule="0 9 * * *", metadata={"a": 1}, input={"value": "v"})
    end = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    updated = await client.crons.update(
        cron["cron_id"], schedule="30 7 * * *", timezone="Europe/Paris", metadata={"b": 2}, end_time=end,
        enabled=False, on_run_completed="keep", input={"value": "w"},
    )
    assert (updated["schedule"], updated["timezone"], updated["enabled"]) == ("30 7 * * *", "Europe/Paris", False)
    assert updated["metadata"] == {"a": 1, "b": 2}
    assert when(updated["end_time"]) == end
    assert updated["on_run_completed"] == "keep"
    local = when(updated["next_run_date"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (7, 30)
    assert updated["payload"]["input"] == {"value": "w"}
    assert updated["payload"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
    assert updated["payload"]["assistant_id"] == PLAIN_ID
    assert updated["created_at"] == cron["created_at"]
    assert when(updated["updated_at"]) > when(cron["updated_at"])

    cleared = await client.crons.update(cron["cron_id"], end_time=None)
    assert cleared["end_time"] is None
    assert cleared["next_run_date"] == updated["next_run_date"]
    assert (await http.get(f"/runs/crons/{cron['cron_id']}")).json() == cleared


async def test_enabling_again_skips_the_ticks_missed_while_disabled(client: LangGraphClient) -> None:
    cron = await client.crons.create("plain", schedule=EVERY_SECOND, enabled=False)
    await asyncio.sleep(1.2)
    enabled = await client.crons.update(cron["cron_id"], enabled=True)
    assert when(enabled["next_run_date"]) > when(cron["next_run_date"])
    await client.crons.delete(cron["cron_id"])


async def test_delete_cron(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    cron = await client.crons.create("plain", schedule="0 9 * * *")
    total = await client.crons.count()
    await client.crons.delete(cron["cron_id"])
    assert await client.crons.count() == total - 1
    assert_error(await http.get(f"/runs/crons/{cron['cron_id']}"), 404)
    with pytest.raises(NotFoundError):
        await client.crons.delete(cron["cron_id"])


async def test_deleting_the_thread_deletes_its_crons(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], "plain", schedule="0 9 * * *")
    await client.threads.delete(thread["thread_id"])
    assert_error(await http.get(f"/runs/crons/{cron['cron_id']}"), 404)


async def test_bad_requests_change_nothing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], "plain", schedule="0 9 * * *")
    total = await client.crons.count()
    good = {"assistant_id": "plain", "schedule": "0 9 * * *"}
    for path in ("/runs/crons", f"/threads/{thread['thread_id']}/runs/crons"):
        for body, status in [
            ({**good, "schedule": "not a cron"}, 422),
            ({**good, "schedule": "61 * * * *"}, 422),
            ({**good, "schedule": "0 0 31 2 *"}, 422),  # valid syntax, but February never has a 31st
            ({**good, "timezone": "Mars/Olympus"}, 422),
            ({**good, "end_time": "soon"}, 422),
            ({**good, "webhook": "ftp://example.com/hook"}, 422),
            ({**good, "multitask_strategy": "sometimes"}, 422),
            ({"assistant_id": "plain"}, 422),
            ({**good, "assistant_id": str(uuid.uuid4())}, 404),
            ({**good, "assistant_id": "no-such-graph"}, 404),
        ]:
            assert_error(await http.post(path, json=body), status)
    assert_error(await http.post(f"/threads/{uuid.uuid4()}/runs/crons", json=good), 404)
    assert_error(await http.post("/threads/not-a-uuid/runs/crons", json=good), 422)

    for body in [{"limit": -1}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"sort_by": "schedule"},
                 {"sort_order": "up"}, {"select": ["nope"]}, {"assistant_id": "plain"}, {"thread_id": "x"}]:
        assert_error(await http.post("/runs/crons/search", json=body), 422)
    for body in [{"assistant_id": "plain"}, {"thread_id": "x"}, {"metadata": "x"}]:
        assert_error(await http.post("/runs/crons/count", json=body), 422)

    path = f"/runs/crons/{cron['cron_id']}"
    for body, status in [({}, 400), ({"schedule": "bad"}, 422), ({"timezone": "X/Y"}, 422),
                         ({"end_time": "later"}, 422), ({"enabled": "maybe"}, 422),
                         ({"webhook": "ftp://example.com/hook"}, 422)]:
        assert_error(await http.patch(path, json=body), status)
    assert_error(await http.patch(f"/runs/crons/{uuid.uuid4()}", json={"enabled": False}), 404)
    for method in ("GET", "PATCH", "DELETE"):
        assert_error(await http.request(method, "/runs/crons/not-a-uuid", json={"enabled": False}), 422)
    assert_error(await http.get(f"/runs/crons/{uuid.uuid4()}"), 404)
    assert_error(await http.delete(f"/runs/crons/{uuid.uuid4()}"), 404)

    assert await client.crons.count() == total
    assert (await http.get(path)).json() == cron


async def test_per_second_thread_cron_creates_runs_until_deleted(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(
        thread["thread_id"], "plain", schedule=EVERY_SECOND, input={"value": "tick"}, metadata={"from": "cron"},
    )
    runs = await at_least_runs(client, thread["thread_id"], 2)
    await client.crons.delete(cron["cron_id"])
    runs = await runs_on(client, thread["thread_id"])
    for run in runs:
        assert run["assistant_id"] == PLAIN_ID
        assert run["metadata"]["from"] == "cron"
        assert run["kwargs"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
        assert run["kwargs"]["input"] == {"value": "tick"}
    await client.runs.join(thread["thread_id"], runs[0]["run_id"])
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["value"] == "tick"
    await asyncio.sleep(1.5)
    assert len(await runs_on(client, thread["thread_id"])) == len(runs)


async def test_end_time_disabled_and_past_crons_do_not_fire(client: LangGraphClient) -> None:
    ending, disabled, ended = [await client.threads.create() for _ in range(3)]
    end_time = datetime.now(UTC) + timedelta(seconds=1.5)
    await client.crons.create_for_thread(ending["thread_id"], "plain", schedule=EVERY_SECOND, end_time=end_time)
    await client.crons.create_for_thread(disabled["thread_id"], "plain", schedule=EVERY_SECOND, enabled=False)
    await client.crons.create_for_thread(ended["thread_id"], "plain", schedule=EVERY_SECOND,
                                         end_time=datetime.now(UTC) - timedelta(seconds=1))
    await asyncio.sleep(3)
    runs = await runs_on(client, ending["thread_id"])
    assert 1 <= len(runs) <= 2
    assert all(when(r["created_at"]) <= end_time for r in runs)
    assert await runs_on(client, disabled["thread_id"]) == []
    assert await runs_on(client, ended["thread_id"]) == []


async def test_a_tick_the_thread_rejects_is_skipped(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    busy = await client.runs.create(thread["thread_id"], "slow", input={"tag": "busy", "seconds": 30})
    cron = await client.crons.create_for_thread(thread["thread_id"], "plain", schedule=EVERY_SECOND,
                                                multitask_strategy="reject")
    await asyncio.sleep(2.2)
    moved = await client.crons.search(thread_id=thread["thread_id"])
    await client.crons.delete(cron["cron_id"])
    assert when(moved[0]["next_run_date"]) > when(cron["next_run_date"])
    assert [r["run_id"] for r in await runs_on(client, thread["thread_id"])] == [busy["run_id"]]
    await client.runs.cancel(thread["thread_id"], busy["run_id"], wait=True)


async def test_stateless_cron_runs_each_tick_on_a_new_thread(client: LangGraphClient) -> None:
    async with WebhookSink() as sink:
        kept = await client.crons.create("plain", schedule=EVERY_SECOND, input={"value": "k"}, webhook=sink.url,
                                         on_run_completed="keep")
        deleted = await client.crons.create("plain", schedule=EVERY_SECOND, input={"value": "d"}, webhook=sink.url)

        async def two_ticks_each() -> bool:
            return all(len(sink.from_cron(c["cron_id"])) >= 2 for c in (kept, deleted))

        await eventually(two_ticks_each)
        await client.crons.delete(kept["cron_id"])
        await client.crons.delete(deleted["cron_id"])
    for cron, on_completion in ((kept, "keep"), (deleted, "delete")):
        hooks = sink.from_cron(cron["cron_id"])
        assert len({h["thread_id"] for h in hooks}) == len(hooks)
        assert all(h["status"] == "success" and h["kwargs"]["on_completion"] == on_completion for h in hooks)
    for hook in sink.from_cron(kept["cron_id"]):
        assert (await client.threads.get_state(hook["thread_id"]))["values"]["value"] == "k"
    for hook in sink.from_cron(deleted["cron_id"]):
        with pytest.raises(NotFoundError):
            await client.threads.get(hook["thread_id"])


# Several schedulers on one database.


@pytest.fixture
def shared_database() -> Iterator[str]:
    with scratch_database("olg_test_crons_shared") as url:
        yield url


def app_state(served: ServedApp) -> AppState:
    state: AppState = served.app.state.olg
    return state


async def make_all_due(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("UPDATE crons SET next_run_date = now() - interval '1 minute'")


async def test_concurrent_schedulers_fire_each_due_tick_once(shared_database: str) -> None:
    """Eight claimers in two app instances (whose own schedulers are off) race for ten due crons."""
    api_only = make_settings(shared_database, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0)
    async with ServedApp(create_app(api_only, project_config())) as one, \
            ServedApp(create_app(api_only, project_config())) as two:
        client = get_client(url=one.url)
        threads = [await client.threads.create() for _ in range(10)]
        crons = [await client.crons.create_for_thread(t["thread_id"], "plain", schedule="0 0 1 1 *")
                 for t in threads]
        await make_all_due(shared_database)
        fired = await asyncio.gather(*(fire_due_crons(app_state(s)) for s in (one, two) * 4))
        assert sum(fired) == 10
        assert [len(await runs_on(client, t["thread_id"])) for t in threads] == [1] * 10
        assert sum(await asyncio.gather(*(fire_due_crons(app_state(s)) for s in (one, two)))) == 0
        for cron in await client.crons.search(limit=100):
            assert when(cron["next_run_date"]).strftime("%m-%d %H:%M:%S") == "01-01 00:00:00"
        assert {c["cron_id"] for c in crons} == {c["cron_id"] for c in await client.crons.search(limit=100)}
        await client.aclose()


async def test_two_running_workers_fire_each_per_second_tick_once(shared_database: str) -> None:
    """Two instances, each with a worker polling every 0.1 s: one run per second of schedule, never two."""
    settings = make_settings(shared_database, **FAST_CRONS)
    async with ServedApp(create_app(settings, project_config())) as one, \
            ServedApp(create_app(settings, project_config())):
        client = get_client(url=one.url)
        thread = await client.threads.create()
        cron = await client.crons.create_for_thread(thread["thread_id"], "plain", schedule=EVERY_SECOND,
                                                    input={"value": "x"})
        await asyncio.sleep(4.2)
        await client.crons.delete(cron["cron_id"])
        runs = await runs_on(client, thread["thread_id"])
        ticks = [math.floor(when(r["created_at"]).timestamp()) for r in runs]
        assert len(runs) >= 3
        assert len(set(ticks)) == len(ticks), sorted(ticks)
        await client.aclose()
