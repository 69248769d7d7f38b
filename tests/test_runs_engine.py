"""The run engine's fast paths keep the queue's guarantees.

A run created in a process whose worker has a free slot starts at commit, inserted already claimed; one that must
wait (thread busy, `after_seconds`, no free slot) stays pending for any worker. A claim takes up to the free slots
in one statement, never two runs of one thread.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config, scratch_database
from helpers import assert_error
from langgraph_sdk.client import LangGraphClient
from psycopg_pool import AsyncConnectionPool

from agent_server.app import create_app
from agent_server.db.engine import open_langgraph_pool
from agent_server.db.migrate import upgrade_schema_async
from agent_server.models.runs import RunCreate
from agent_server.repositories import runs as repo
from agent_server.services.auth import SYSTEM
from agent_server.services.runs.create import create_run
from agent_server.workers.worker import Worker

SLOTS = 2


@pytest_asyncio.fixture(scope="module")
async def served_engine(module_database_url: str) -> AsyncIterator[ServedApp]:
    settings = make_settings(module_database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=SLOTS,
                             OPEN_LANGGRAPH_POLL_INTERVAL_SECONDS=5)  # the poll would hide a missed wake-up
    async with ServedApp(create_app(settings, project_config())) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def server_url(served_engine: ServedApp) -> str:
    """This module's app (overrides the session's): the conftest `client` and `http` fixtures talk to it."""
    return served_engine.url


@pytest.fixture
def worker(served_engine: ServedApp) -> Worker:
    worker: Worker | None = served_engine.app.state.olg.worker
    assert worker is not None
    return worker


def slow(tag: str, seconds: float) -> dict[str, Any]:
    return {"tag": tag, "seconds": seconds}


async def settled(worker: Worker) -> None:
    """Every slot free again (runs finished and nothing reserved)."""
    for _ in range(200):
        if worker.free_slots == SLOTS:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"slots still taken: {worker.running}, free {worker.free_slots}")


async def test_a_run_on_an_idle_thread_starts_at_creation_and_the_next_one_queues(
    client: LangGraphClient, worker: Worker
) -> None:
    await settled(worker)
    t = await client.threads.create()
    first = await client.runs.create(t["thread_id"], "slow", input=slow("1", 1.0))
    second = await client.runs.create(t["thread_id"], "slow", input=slow("2", 0))
    assert first["status"] == "running"  # inserted claimed, started at commit
    assert second["status"] == "pending"  # behind `first` on its thread
    # `first` finishing sees `second` queued on its thread and wakes the claim loop (the poll is 5 s).
    await asyncio.wait_for(client.runs.join(t["thread_id"], second["run_id"]), timeout=4)
    assert (await client.threads.get_state(t["thread_id"]))["values"]["log"] == ["1", "2"]
    assert (await client.threads.get(t["thread_id"]))["status"] == "idle"


async def test_after_seconds_is_left_to_the_queue(client: LangGraphClient, worker: Worker) -> None:
    await settled(worker)
    t = await client.threads.create()
    run = await client.runs.create(t["thread_id"], "slow", input=slow("later", 0), after_seconds=0.8)
    assert run["status"] == "pending"
    await asyncio.sleep(0.4)
    assert (await client.runs.get(t["thread_id"], run["run_id"]))["status"] == "pending"
    await client.runs.join(t["thread_id"], run["run_id"])
    assert (await client.runs.get(t["thread_id"], run["run_id"]))["status"] == "success"


async def test_with_every_slot_taken_a_run_waits_and_starts_when_one_frees(
    client: LangGraphClient, worker: Worker
) -> None:
    await settled(worker)
    threads = [await client.threads.create() for _ in range(SLOTS + 1)]
    runs = [await client.runs.create(t["thread_id"], "slow", input=slow(str(i), 1.0))
            for i, t in enumerate(threads)]
    assert [r["status"] for r in runs] == ["running"] * SLOTS + ["pending"]
    # The last run is claimed when a slot frees (the finishing run wakes the claim loop, not the 5 s poll).
    result = await asyncio.wait_for(client.runs.join(threads[-1]["thread_id"], runs[-1]["run_id"]), timeout=4)
    assert result["log"] == [str(SLOTS)]


async def test_a_batch_that_fails_releases_its_slots_and_starts_nothing(
    client: LangGraphClient, http: httpx.AsyncClient, worker: Worker
) -> None:
    await settled(worker)
    marker = uuid.uuid4().hex
    response = await http.post("/runs/batch", json=[
        {"assistant_id": "slow", "input": slow(marker, 0), "on_completion": "keep"},
        {"assistant_id": str(uuid.uuid4())},
    ])
    assert_error(response, 404)
    assert worker.free_slots == SLOTS
    assert worker.running == []
    found = await client.threads.search(values={"tag": marker})
    assert found == []


async def test_cancelling_a_run_just_created_interrupts_it(client: LangGraphClient, worker: Worker) -> None:
    await settled(worker)
    t = await client.threads.create()
    run = await client.runs.create(t["thread_id"], "slow", input=slow("c", 30))
    assert run["status"] == "running"
    await client.runs.cancel(t["thread_id"], run["run_id"], wait=True)
    assert (await client.runs.get(t["thread_id"], run["run_id"]))["status"] == "interrupted"
    assert (await client.threads.get(t["thread_id"]))["status"] != "busy"
    await settled(worker)


async def test_a_run_created_within_a_larger_unit_of_work_is_undone_with_it(
    client: LangGraphClient, served_engine: ServedApp, worker: Worker
) -> None:
    """Only a caller that owns its unit of work (`alone`) may have the run committed by itself."""
    await settled(worker)
    state = served_engine.app.state.olg
    t = await client.threads.create()
    async with state.sessionmaker() as session:
        run = await create_run(session, state, SYSTEM, RunCreate(assistant_id="slow", input=slow("u", 0)),
                               uuid.UUID(t["thread_id"]))
        assert run["status"] == "running"  # inserted claimed, to start at commit
        await session.rollback()
    assert await client.runs.list(t["thread_id"]) == []
    assert (await client.threads.get(t["thread_id"]))["status"] == "idle"
    assert worker.free_slots == SLOTS  # the reserved slot went back with the rollback


async def test_a_stateless_wait_runs_and_removes_its_thread(http: httpx.AsyncClient, worker: Worker) -> None:
    await settled(worker)
    response = await http.post("/runs/wait", json={"assistant_id": "plain", "input": {"value": "s"}})
    assert response.json() == {"value": "s", "steps": ["a", "b", "c"]}
    thread_id = response.headers["content-location"].split("/")[2]
    assert (await http.get(f"/threads/{thread_id}")).status_code == 404
    await settled(worker)


# --- the claim statement, on a database no worker uses -----------------------------------------------------------


@pytest_asyncio.fixture
async def idle_pool() -> AsyncIterator[AsyncConnectionPool]:
    with scratch_database("olg_test_claim") as url:
        await upgrade_schema_async(url)
        pool = await open_langgraph_pool(url, max_size=2)
        try:
            yield pool
        finally:
            await pool.close()


async def add_runs(conn: psycopg.AsyncConnection[Any], thread_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """`count` pending runs on the thread, inserted in one transaction (so with equal `created_at`)."""
    run_ids = [uuid.uuid4() for _ in range(count)]
    async with conn.transaction():
        for run_id in run_ids:
            await conn.execute("INSERT INTO runs (run_id, thread_id, assistant_id) VALUES (%s, %s, %s)",
                               (run_id, thread_id, uuid.uuid4()))
    return run_ids


async def test_a_claim_takes_the_oldest_run_of_each_thread_and_never_two(idle_pool: AsyncConnectionPool) -> None:
    threads = [uuid.uuid4() for _ in range(3)]
    async with idle_pool.connection() as conn:
        for thread_id in threads:
            await conn.execute("INSERT INTO threads (thread_id) VALUES (%s)", (thread_id,))
        older = await add_runs(conn, threads[0], 1)
        await add_runs(conn, threads[0], 1)  # newer, same thread
        tied = await add_runs(conn, threads[1], 3)  # one transaction: equal created_at
        blocked = await add_runs(conn, threads[2], 1)
        await conn.execute("UPDATE runs SET status = 'running' WHERE run_id = %s", (blocked[0],))
        await add_runs(conn, threads[2], 1)  # behind a running run

    claimed = await repo.claim(idle_pool, "test-worker", 30, 10)
    assert sorted(run["run_id"] for run, _ in claimed) == sorted([older[0], min(tied)])
    assert all(run["status"] == "running" and run["attempt"] == 1 for run, _ in claimed)
    assert all(assistant is None for _, assistant in claimed)  # those assistants do not exist
    assert await repo.claim(idle_pool, "test-worker", 30, 10) == []  # each thread has a running run now


async def test_a_claim_takes_no_more_runs_than_asked(idle_pool: AsyncConnectionPool) -> None:
    async with idle_pool.connection() as conn:
        for _ in range(5):
            thread_id = uuid.uuid4()
            await conn.execute("INSERT INTO threads (thread_id) VALUES (%s)", (thread_id,))
            await add_runs(conn, thread_id, 1)
    assert len(await repo.claim(idle_pool, "w", 30, 3)) == 3
    assert len(await repo.claim(idle_pool, "w", 30, 3)) == 2
    assert await repo.claim(idle_pool, "w", 30, 3) == []


async def test_concurrent_claims_share_the_runs(idle_pool: AsyncConnectionPool) -> None:
    async with idle_pool.connection() as conn:
        for _ in range(6):
            thread_id = uuid.uuid4()
            await conn.execute("INSERT INTO threads (thread_id) VALUES (%s)", (thread_id,))
            await add_runs(conn, thread_id, 2)
    first, second = await asyncio.gather(repo.claim(idle_pool, "a", 30, 10), repo.claim(idle_pool, "b", 30, 10))
    ids = [run["run_id"] for run, _ in first + second]
    threads = [run["thread_id"] for run, _ in first + second]
    assert len(ids) == len(set(ids)) == 6
    assert len(set(threads)) == 6



# --- finishing a run (one pipelined transaction) ------------------------------------------------------------------


async def running_run(pool: AsyncConnectionPool, worker_id: str) -> dict[str, Any]:
    """A thread with one run that `worker_id` is running."""
    thread_id = uuid.uuid4()
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO threads (thread_id, status) VALUES (%s, 'busy')", (thread_id,))
        [run_id] = await add_runs(conn, thread_id, 1)
        await conn.execute("UPDATE runs SET status = 'running', worker_id = %s WHERE run_id = %s", (worker_id, run_id))
    return {"run_id": run_id, "thread_id": thread_id}


async def run_and_thread_status(pool: AsyncConnectionPool, run: dict[str, Any]) -> tuple[str, str]:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT r.status AS run, t.status AS thread FROM runs r JOIN threads t USING (thread_id) "
            "WHERE r.run_id = %s", (run["run_id"],))).fetchone()
    assert row is not None
    return row["run"], row["thread"]


async def test_finish_records_the_outcome_and_settles_the_thread(idle_pool: AsyncConnectionPool) -> None:
    run = await running_run(idle_pool, "w")
    assert await repo.finish(idle_pool, run, "other-worker", "success", None, thread_status="idle",
                             values={"n": 1}, interrupts={}) == (False, False)  # not its run: nothing changes
    assert await run_and_thread_status(idle_pool, run) == ("running", "busy")
    assert await repo.finish(idle_pool, run, "w", "success", None, thread_status="idle",
                             values={"n": 1}, interrupts={}) == (True, False)
    assert await run_and_thread_status(idle_pool, run) == ("success", "idle")


async def test_a_finish_that_fails_changes_nothing_and_leaves_the_thread_unlocked(
        idle_pool: AsyncConnectionPool) -> None:
    run = await running_run(idle_pool, "w")
    with pytest.raises(psycopg.errors.CheckViolation):
        await repo.finish(idle_pool, run, "w", "no-such-status", None, thread_status="idle", values=None,
                          interrupts=None)
    assert await run_and_thread_status(idle_pool, run) == ("running", "busy")
    async with idle_pool.connection() as conn:  # the transaction was rolled back: its lock is gone
        await conn.execute("SET lock_timeout = '1s'")
        await conn.execute("SELECT 1 FROM threads WHERE thread_id = %s FOR UPDATE", (run["thread_id"],))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert await repo.finish(idle_pool, run, "w", "error", None, thread_status="error", values=None,
                             interrupts=None) == (True, False)
    assert await run_and_thread_status(idle_pool, run) == ("error", "error")


# --- enqueueing a run in a transaction of its own (one pipeline) ------------------------------------------------------


async def assistant_and_thread(pool: AsyncConnectionPool) -> tuple[uuid.UUID, uuid.UUID]:
    assistant_id, thread_id = uuid.uuid4(), uuid.uuid4()
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO assistants (assistant_id, graph_id, name) VALUES (%s, 'g', 'a')",
                           (assistant_id,))
        await conn.execute("INSERT INTO threads (thread_id, metadata) VALUES (%s, '{\"k\": 1}')", (thread_id,))
    return assistant_id, thread_id


def run_values(assistant_id: uuid.UUID, thread_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    return {"run_id": uuid.uuid4(), "thread_id": thread_id, "assistant_id": assistant_id, "metadata": {},
            "kwargs": {}, "multitask_strategy": "enqueue", "after_seconds": 0, **changes}


async def thread_row(pool: AsyncConnectionPool, thread_id: uuid.UUID) -> tuple[str, dict[str, Any], int]:
    """(status, metadata, number of runs) of a thread."""
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT status, metadata, (SELECT count(*) FROM runs WHERE thread_id = %s) AS runs FROM threads "
            "WHERE thread_id = %s", (thread_id, thread_id))).fetchone()
    assert row is not None
    return row["status"], row["metadata"], row["runs"]


async def test_enqueue_committed_inserts_the_run_claimed_and_marks_the_thread(idle_pool: AsyncConnectionPool) -> None:
    assistant_id, thread_id = await assistant_and_thread(idle_pool)
    assistant, exists, run = await repo.enqueue_committed(idle_pool, run_values(assistant_id, thread_id), "w", 30)
    assert assistant is not None
    assert (assistant["graph_id"], exists) == ("g", True)
    assert run is not None
    assert run["status"] == "running"  # a free thread: taken by the offering worker
    status, metadata, count = await thread_row(idle_pool, thread_id)  # committed: another connection sees it
    assert (status, metadata, count) == ("busy", {"k": 1, "graph_id": "g", "assistant_id": str(assistant_id)}, 1)
    _, _, queued = await repo.enqueue_committed(idle_pool, run_values(assistant_id, thread_id), "w", 30)
    assert queued is not None
    assert queued["status"] == "pending"  # behind the running one


async def test_enqueue_committed_inserts_nothing_without_the_assistant_or_the_thread(
        idle_pool: AsyncConnectionPool) -> None:
    assistant_id, thread_id = await assistant_and_thread(idle_pool)
    assert await repo.enqueue_committed(idle_pool, run_values(uuid.uuid4(), thread_id), "w", 30) == (None, False, None)
    assert await thread_row(idle_pool, thread_id) == ("idle", {"k": 1}, 0)
    assistant, exists, run = await repo.enqueue_committed(idle_pool, run_values(assistant_id, uuid.uuid4()), None, 0)
    assert assistant is not None
    assert (exists, run) == (False, None)


async def test_an_enqueue_that_fails_changes_nothing_and_leaves_the_thread_unlocked(
        idle_pool: AsyncConnectionPool) -> None:
    assistant_id, thread_id = await assistant_and_thread(idle_pool)
    with pytest.raises(psycopg.errors.DataError):  # an interval past PostgreSQL's range
        await repo.enqueue_committed(idle_pool, run_values(assistant_id, thread_id, after_seconds=1e300), "w", 30)
    assert await thread_row(idle_pool, thread_id) == ("idle", {"k": 1}, 0)
    async with idle_pool.connection() as conn:  # the transaction was rolled back: its lock is gone
        await conn.execute("SET lock_timeout = '1s'")
        await conn.execute("SELECT 1 FROM threads WHERE thread_id = %s FOR UPDATE", (thread_id,))
    _, _, run = await repo.enqueue_committed(idle_pool, run_values(assistant_id, thread_id), "w", 30)
    assert run is not None
    assert run["status"] == "running"


async def test_concurrent_enqueues_on_one_thread_start_exactly_one_run(idle_pool: AsyncConnectionPool) -> None:
    """The thread lock orders them: only the first finds the thread free (without it two can both start one, and
    the one-running-run-per-thread index fails the second)."""
    wide = AsyncConnectionPool(idle_pool.conninfo, min_size=8, max_size=8, kwargs=idle_pool.kwargs, open=False)
    await wide.open(wait=True)
    try:
        for _ in range(10):
            assistant_id, thread_id = await assistant_and_thread(wide)
            results = await asyncio.gather(*(
                repo.enqueue_committed(wide, run_values(assistant_id, thread_id), "w", 30) for _ in range(8)))
            statuses = sorted(run["status"] for _, _, run in results if run is not None)
            assert statuses == ["pending"] * 7 + ["running"]
            assert await thread_row(wide, thread_id) == (
                "busy", {"k": 1, "graph_id": "g", "assistant_id": str(assistant_id)}, 8)
    finally:
        await wide.close()
