"""Real OS processes on one database: two API processes (`serve --n-jobs-per-worker 0`) and one `worker`.

Streams cross processes through the Postgres broker. Leases are short, so that a killed worker's run is
recovered in seconds. The processes are shared by the module; a test that stops the worker starts another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from conftest import PROJECT_DIR, free_port, scratch_database
from helpers import Frame, sse_frames
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from agent_server.repositories.runs import WORKER_LOST

pytestmark = pytest.mark.xdist_group("processes")  # one set of server processes, on one xdist worker

CLI = Path(sys.executable).with_name("open-langgraph")
CONFIG = PROJECT_DIR / "langgraph.json"
START_TIMEOUT = 90.0
SETTLE_TIMEOUT = 60.0
# Short leases and sweeps: a lost run is re-queued about three seconds after its worker died.
PROCESS_ENV = {
    "OPEN_LANGGRAPH_BROKER": "postgres",
    "OPEN_LANGGRAPH_LEASE_SECONDS": "3",
    "OPEN_LANGGRAPH_HEARTBEAT_SECONDS": "0.25",
    "OPEN_LANGGRAPH_SWEEP_INTERVAL_SECONDS": "0.25",
    "OPEN_LANGGRAPH_POLL_INTERVAL_SECONDS": "0.25",
    "OPEN_LANGGRAPH_DB_POOL_SIZE": "4",
    "COLUMNS": "200",
}
SLOW_MODES = ["custom", "values"]


# --- processes --------------------------------------------------------------------------------------------------


class Process:
    """One `open-langgraph` command in its own process, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen([str(CLI), *args, "--config", str(CONFIG)], stdout=out,
                                          stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        raise NotImplementedError

    def check_alive(self) -> None:
        if not self.alive():
            pytest.fail(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")

    def send(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=30)


class ApiProcess(Process):
    def __init__(self, name: str, env: dict[str, str], log: Path, n_jobs: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(name, ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--allow-no-auth",
                                "--n-jobs-per-worker", str(n_jobs)], env, log)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ok", timeout=1).json() == {"ok": True}
        except httpx.HTTPError:
            return False


class WorkerProcess(Process):
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        super().__init__(name, ["worker", "--n-jobs-per-worker", "4"], env, log)

    def ready(self) -> bool:
        return " ready: " in self.output()


def wait_until_ready(processes: list[Process], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(processes)
    while waiting and time.monotonic() < deadline:
        for process in list(waiting):
            process.check_alive()
            if process.ready():
                waiting.remove(process)
        time.sleep(0.05)
    if waiting:
        pytest.fail(f"{waiting[0].name} not ready in {timeout}s:\n{waiting[0].output()}")


def stop_all(processes: list[Process]) -> None:
    """SIGTERM everyone at once, then SIGKILL whoever is still there: no process outlives the module."""
    for process in processes:
        if process.alive():
            process.send(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        process.kill()


@dataclass
class Cluster:
    database_url: str
    folder: Path
    apis: list[ApiProcess] = field(default_factory=list)
    worker: WorkerProcess | None = None
    started: list[Process] = field(default_factory=list)

    def env(self, **overrides: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith("OPEN_LANGGRAPH_") and k not in ("DATABASE_URL", "REDIS_URL")}
        return {**inherited, **PROCESS_ENV, "DATABASE_URL": self.database_url, **overrides}

    def log(self, name: str) -> Path:
        return self.folder / f"{len(self.started)}-{name}.log"

    def start(self) -> None:
        """Both API processes and the worker, started together."""
        self.apis = [ApiProcess(name, self.env(), self.log(name)) for name in ("api-1", "api-2")]
        self.started.extend(self.apis)
        self.worker = self._new_worker({})
        wait_until_ready([*self.apis, self.worker])

    def start_worker(self, **env: str) -> WorkerProcess:
        self.worker = self._new_worker(env)
        wait_until_ready([self.worker])
        return self.worker

    def _new_worker(self, env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(f"worker-{len(self.started)}", self.env(**env), self.log("worker"))
        self.started.append(worker)
        return worker

    def live_worker(self) -> WorkerProcess:
        """The one worker for the next test: a stopped one is replaced, strays of a failed test are stopped."""
        for api in self.apis:
            api.check_alive()
        stop_all([p for p in self.started if isinstance(p, WorkerProcess) and p is not self.worker and p.alive()])
        if self.worker is None or not self.worker.alive():
            return self.start_worker()
        return self.worker


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with scratch_database("olg_test_proc") as url:
        processes = Cluster(url, tmp_path_factory.mktemp("processes"))
        try:
            processes.start()
            yield processes
        finally:
            stop_all(processes.started)
            assert not [p.name for p in processes.started if p.alive()]


@pytest.fixture
def worker(cluster: Cluster) -> WorkerProcess:
    """The worker process of the test, alive (a previous test may have stopped the last one)."""
    return cluster.live_worker()


@pytest_asyncio.fixture
async def api1(cluster: Cluster) -> AsyncIterator[LangGraphClient]:
    async with sdk(cluster.apis[0].url) as client:
        yield client


@pytest_asyncio.fixture
async def api2(cluster: Cluster) -> AsyncIterator[LangGraphClient]:
    async with sdk(cluster.apis[1].url) as client:
        yield client


@asynccontextmanager
async def sdk(url: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=url, api_key=None)
    try:
        yield client
    finally:
        await client.aclose()


# --- helpers ----------------------------------------------------------------------------------------------------


async def read_frames(url: str, path: str, *, after: int | None = None, limit: int | None = None) -> list[Frame]:
    """SSE frames of a joined stream (from `after` when given), until it ends or `limit` frames arrived."""
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    async with httpx.AsyncClient(base_url=url, timeout=SETTLE_TIMEOUT) as http, \
            http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        return await sse_frames(response, limit)


def stream_path(thread_id: str, run_id: str) -> str:
    return f"/threads/{thread_id}/runs/{run_id}/stream"


async def wait_for_status(client: LangGraphClient, thread_id: str, run_id: str, statuses: set[str],
                          timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = dict(await client.runs.get(thread_id, run_id))
        if run["status"] in statuses:
            return run
        await asyncio.sleep(0.05)
    pytest.fail(f"run {run_id} not {statuses} in {timeout}s: {run['status']}")


async def start_slow_run(client: LangGraphClient, tag: str, seconds: float) -> tuple[str, str]:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"tag": tag, "seconds": seconds},
                                   stream_mode=SLOW_MODES, stream_resumable=True)
    return thread["thread_id"], run["run_id"]


async def owner_pid(cluster: Cluster, run_id: str) -> int:
    """The pid of the worker process that holds the run (worker ids read `host:pid:suffix`)."""
    async with await psycopg.AsyncConnection.connect(cluster.database_url) as conn:
        row = await (await conn.execute("SELECT worker_id FROM runs WHERE run_id = %s", (run_id,))).fetchone()
    assert row is not None
    assert row[0] is not None
    return int(row[0].split(":")[1])


def assert_numbered(frames: list[Frame]) -> None:
    """Ids 1..n with no gap and no repeat: nothing lost, nothing duplicated."""
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))


def attempts(frames: list[Frame]) -> list[int]:
    return [f.data["attempt"] for f in frames if f.event == "metadata"]


# --- streams, wait and cancel across processes -------------------------------------------------------------------


async def test_a_run_created_on_one_api_streams_whole_from_the_other(
    cluster: Cluster, worker: WorkerProcess, api1: LangGraphClient, api2: LangGraphClient
) -> None:
    thread_id, run_id = await start_slow_run(api1, "s", 0.6)
    path = stream_path(thread_id, run_id)
    from_two, from_one = await asyncio.gather(read_frames(cluster.apis[1].url, path),
                                              read_frames(cluster.apis[0].url, path))
    assert from_two == from_one
    assert_numbered(from_two)
    assert from_two[0].event == "metadata"
    assert from_two[0].data["run_id"] == run_id
    ticks = [f.data["tick"] for f in from_two if f.event == "custom"]
    assert len(ticks) >= 3
    assert ticks == list(range(len(ticks)))
    assert {f.event for f in from_two} == {"metadata", "custom", "values"}
    assert from_two[-1] == Frame(from_two[-1].id, "values", {"tag": "s", "seconds": 0.6, "log": ["s"]})
    assert await api2.runs.join(thread_id, run_id) == {"tag": "s", "seconds": 0.6, "log": ["s"]}
    assert (await api2.runs.get(thread_id, run_id))["status"] == "success"
    assert (await api1.threads.get(thread_id))["status"] == "idle"


async def test_wait_on_the_other_api_returns_the_output(worker: WorkerProcess, api1: LangGraphClient,
                                                        api2: LangGraphClient) -> None:
    thread = await api1.threads.create()
    result = await api2.runs.wait(thread["thread_id"], "plain", input={"value": "w"})
    assert result == {"value": "w", "steps": ["a", "b", "c"]}


async def test_cancel_from_the_other_api_interrupts_the_run_in_the_worker(
    worker: WorkerProcess, api1: LangGraphClient, api2: LangGraphClient
) -> None:
    thread_id, run_id = await start_slow_run(api1, "c", 30)
    await wait_for_status(api2, thread_id, run_id, {"running"})
    started = time.monotonic()
    await api2.runs.cancel(thread_id, run_id, wait=True)
    assert time.monotonic() - started < 10
    assert (await api1.runs.get(thread_id, run_id))["status"] == "interrupted"
    assert (await api1.threads.get(thread_id))["status"] != "busy"
    assert worker.alive()


async def test_resume_on_the_other_api_with_last_event_id_loses_and_repeats_nothing(
    cluster: Cluster, worker: WorkerProcess, api1: LangGraphClient
) -> None:
    thread_id, run_id = await start_slow_run(api1, "r", 1.0)
    path = stream_path(thread_id, run_id)
    first = await read_frames(cluster.apis[0].url, path, limit=3)
    assert (await api1.runs.get(thread_id, run_id))["status"] == "running", "the reconnection is mid-stream"
    rest = await read_frames(cluster.apis[1].url, path, after=first[-1].id)
    assert len(rest) >= 5
    assert_numbered(first + rest)
    assert rest[-1].event == "values"
    assert rest[-1].data["log"] == ["r"]


# --- losing the worker ------------------------------------------------------------------------------------------


async def test_sigterm_hands_the_run_back_and_another_worker_finishes_it(
    cluster: Cluster, worker: WorkerProcess, api1: LangGraphClient, api2: LangGraphClient
) -> None:
    thread_id, run_id = await start_slow_run(api1, "t", 1.0)
    await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id), limit=3)
    worker.send(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait) == 0, worker.output()
    assert "handing back 1 run" in worker.output()
    assert (await api2.runs.get(thread_id, run_id))["status"] == "pending"
    assert (await api2.threads.get(thread_id))["status"] == "busy"

    await asyncio.to_thread(cluster.start_worker)
    assert await api2.runs.join(thread_id, run_id) == {"tag": "t", "seconds": 1.0, "log": ["t"]}
    assert (await api2.runs.get(thread_id, run_id))["status"] == "success"
    assert (await api1.threads.get(thread_id))["status"] == "idle"
    frames = await read_frames(cluster.apis[0].url, stream_path(thread_id, run_id))
    assert attempts(frames) == [1, 2]
    assert_numbered(frames)


async def test_kill_9_of_a_worker_another_worker_requeues_and_finishes_the_run(
    cluster: Cluster, worker: WorkerProcess, api1: LangGraphClient, api2: LangGraphClient
) -> None:
    standby = await asyncio.to_thread(cluster.start_worker)
    thread_id, run_id = await start_slow_run(api1, "k", 1.0)
    await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id), limit=3)  # attempt 1 is under way
    owner, survivor = (worker, standby) if await owner_pid(cluster, run_id) == worker.popen.pid else (standby, worker)
    killed_at = time.monotonic()
    owner.kill()
    assert owner.popen.returncode == -signal.SIGKILL
    cluster.worker = survivor
    final = await wait_for_status(api2, thread_id, run_id, {"success", "error", "interrupted"})
    recovery = time.monotonic() - killed_at
    print(f"kill -9: the run finished {recovery:.1f}s after its worker died (lease 3 s, run 1 s)")
    assert final["status"] == "success"
    assert recovery < 20
    assert (await api1.threads.get(thread_id))["status"] == "idle"
    assert await api2.runs.join(thread_id, run_id) == {"tag": "k", "seconds": 1.0, "log": ["k"]}
    frames = await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id))
    assert attempts(frames) == [1, 2]
    assert_numbered(frames)
    assert frames[-1].data["log"] == ["k"]
    assert "lost its worker; re-queued" in survivor.output()


async def test_kill_9_of_an_api_process_whose_worker_took_the_run_at_creation(
    cluster: Cluster, worker: WorkerProcess, api2: LangGraphClient
) -> None:
    """A process with its own worker starts a run at creation (inserted claimed); killed, the run is recovered."""
    serving = ApiProcess("api-with-worker", cluster.env(), cluster.log("api-with-worker"), n_jobs=2)
    cluster.started.append(serving)
    await asyncio.to_thread(wait_until_ready, [serving])
    async with sdk(serving.url) as own:
        thread_id, run_id = await start_slow_run(own, "h", 1.0)
    assert await owner_pid(cluster, run_id) == serving.popen.pid  # no claim: it never was pending
    await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id), limit=3)
    serving.kill()
    final = await wait_for_status(api2, thread_id, run_id, {"success", "error", "interrupted"})
    assert final["status"] == "success"
    assert await owner_pid(cluster, run_id) == worker.popen.pid
    assert (await api2.threads.get(thread_id))["status"] == "idle"
    frames = await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id))
    assert attempts(frames) == [1, 2]
    assert_numbered(frames)
    assert frames[-1].data["log"] == ["h"]


async def test_kill_9_out_of_attempts_marks_the_run_and_thread_error(
    cluster: Cluster, worker: WorkerProcess, api1: LangGraphClient, api2: LangGraphClient
) -> None:
    thread_id, run_id = await start_slow_run(api1, "e", 30)
    await read_frames(cluster.apis[1].url, stream_path(thread_id, run_id), limit=3)
    worker.kill()
    await asyncio.to_thread(cluster.start_worker, OPEN_LANGGRAPH_MAX_ATTEMPTS="1")  # attempt 1 was the last
    final = await wait_for_status(api2, thread_id, run_id, {"success", "error", "interrupted"})
    assert final["status"] == "error"
    assert (await api1.threads.get(thread_id))["status"] == "error"
    assert await api2.runs.join(thread_id, run_id) == {"__error__": WORKER_LOST}
    frames = await read_frames(cluster.apis[0].url, stream_path(thread_id, run_id))
    assert frames[-1] == Frame(frames[-1].id, "error", WORKER_LOST)
    assert attempts(frames) == [1]
    assert_numbered(frames)

