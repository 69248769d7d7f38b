"""Where a run's server CPU goes, phase by phase, without HTTP: the server's own services called in-process.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_olg python bench/micro.py [--runs 200]

It opens the application state as the server does (no worker: it plays the worker itself), then for each run
times, with process CPU time, and counts the database round trips (psycopg waits) of:

  thread.create -> run.create (POST /runs body) -> run.claim -> run.execute (graph + checkpoints + settle)

(a server whose worker has a free slot skips run.claim: the run is inserted claimed and starts at commit)

plus alternatives that show what a change would save (`alt.*`). Use a scratch database: it writes runs.
Compare with `bench/run.py`'s "server CPU ms/run": the difference is HTTP, FastAPI and the wait/stream plumbing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig

BENCH_DIR = Path(__file__).resolve().parent
os.environ.setdefault("OPEN_LANGGRAPH_CONFIG", str(BENCH_DIR / "langgraph.json"))
os.environ["OPEN_LANGGRAPH_N_JOBS_PER_WORKER"] = "0"

from agent_server.app import close_app_state, open_app_state  # noqa: E402  (after the environment is set)
from agent_server.config import load_config  # noqa: E402
from agent_server.db.unit_of_work import commit  # noqa: E402
from agent_server.models.runs import RunCreate  # noqa: E402
from agent_server.models.threads import ThreadCreate  # noqa: E402
from agent_server.repositories import runs as runs_repo  # noqa: E402
from agent_server.services import threads as threads_service  # noqa: E402
from agent_server.services.auth import SYSTEM  # noqa: E402
from agent_server.services.runs.create import create_run  # noqa: E402
from agent_server.services.runs.execute import (  # noqa: E402
    CancelRequest,
    Outcome,
    execute_run,
    final_output,
    output_only,
    read_final_state,
    run_config,
    run_context,
    state_from_stream,
    stream_graph,
    thread_status,
)
from agent_server.settings import Settings  # noqa: E402
from agent_server.state import AppState  # noqa: E402
from agent_server.streaming.publisher import Publisher  # noqa: E402

ROUND_TRIPS = 0
_original_wait = psycopg.AsyncConnection.wait


async def _counting_wait(self: psycopg.AsyncConnection[Any], *args: Any, **kwargs: Any) -> Any:
    """Every exchange with the server (a query, BEGIN, COMMIT) goes through `AsyncConnection.wait`."""
    global ROUND_TRIPS
    ROUND_TRIPS += 1
    return await _original_wait(self, *args, **kwargs)


psycopg.AsyncConnection.wait = _counting_wait  # type: ignore[method-assign]

class Phases:
    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.trips: dict[str, list[int]] = defaultdict(list)

    @asynccontextmanager
    async def measure(self, name: str) -> AsyncIterator[None]:
        trips = ROUND_TRIPS
        start = time.process_time()
        yield
        self.cpu[name].append(time.process_time() - start)
        self.trips[name].append(ROUND_TRIPS - trips)

    def report(self) -> None:
        print(f"{'phase':<24} {'cpu ms p50':>10} {'cpu ms mean':>11} {'round trips':>11}")
        for name, values in self.cpu.items():
            print(f"{name:<24} {1000 * statistics.median(values):>10.2f} {1000 * statistics.fmean(values):>11.2f} "
                  f"{statistics.median(self.trips[name]):>11.0f}")
        pipeline = [n for n in self.cpu if not n.startswith("alt.")]
        total = sum(statistics.fmean(self.cpu[n]) for n in pipeline)
        trips = sum(statistics.median(self.trips[n]) for n in pipeline)
        print(f"{'total (no alt.*)':<24} {'':>10} {1000 * total:>11.2f} {trips:>11.0f}")


async def execute_in_steps(state: AppState, phases: Phases, run: dict[str, Any], worker_id: str,
                           assistant: dict[str, Any] | None) -> None:
    """services.runs.execute.execute_run for a successful run, one measured step at a time (keep in step)."""
    async with phases.measure("exec.publisher_open"):
        publisher = await Publisher.open(state.broker, run["run_id"])
        await publisher.send("metadata", {"run_id": str(run["run_id"]), "attempt": run.get("attempt", 1)})
    assert assistant is not None  # read with the claim
    async with phases.measure("exec.build_graph"):
        config = run_config(assistant, run)
        graph = await state.graphs.build(assistant["graph_id"], config)
    async with phases.measure("exec.stream_graph"):
        streamed = await stream_graph(graph, run, config, run_context(assistant, run["kwargs"]), publisher)
    outcome = Outcome()
    async with phases.measure("exec.final_state"):
        fields = state_from_stream(outcome, streamed)
        if fields is None:
            await read_final_state(graph, config, outcome)
        else:
            outcome.thread = fields
    async with phases.measure("exec.settle_db"):
        outcome.output = final_output(output_only(graph, streamed.last_values), outcome)
        await runs_repo.finish(state.pool, run, worker_id, outcome.status, outcome.error,
                               thread_status=thread_status(outcome), values=outcome.thread["values"],
                               interrupts=outcome.thread["interrupts"])
    async with phases.measure("exec.publisher_end"):
        await publisher.end(outcome.status, outcome.output, outcome.error)


async def one_run(state: AppState, phases: Phases, worker_id: str, n: int, breakdown: bool = False) -> None:
    async with phases.measure("thread.create"):
        thread = await threads_service.create_thread(state, SYSTEM, ThreadCreate())
    async with phases.measure("run.create"), state.sessionmaker() as session:
        body = RunCreate(assistant_id="trivial", input={"n": n})
        await create_run(session, state, SYSTEM, body, thread["thread_id"], alone=True)
        await commit(session)
    async with phases.measure("run.claim"):
        claimed = await runs_repo.claim(state.pool, worker_id, state.settings.lease_seconds, 1)
    if not claimed:
        raise RuntimeError("nothing to claim: is another worker using this database?")
    run, assistant = claimed[0]
    if breakdown:
        await execute_in_steps(state, phases, run, worker_id, assistant)
    else:
        async with phases.measure("run.execute"):
            await execute_run(state, run, worker_id, CancelRequest(), assistant)
    async with phases.measure("alt.claim_empty"):
        await runs_repo.claim(state.pool, worker_id, state.settings.lease_seconds, 10)


async def main(runs: int, breakdown: bool) -> None:
    settings = Settings()
    state = await open_app_state(settings, load_config(settings.config_path), host_workers=False)
    worker_id = f"micro:{uuid.uuid4().hex[:8]}"
    try:
        warm = Phases()
        for n in range(10):
            await one_run(state, warm, worker_id, n)
        phases = Phases()
        for n in range(runs):
            await one_run(state, phases, worker_id, n, breakdown)
        graph = await state.graphs.build("trivial", {"configurable": {"thread_id": str(uuid.uuid4())}})
        for n in range(runs):
            config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
            async with phases.measure("alt.graph_ainvoke_pg"):
                await graph.ainvoke({"n": n}, config)
        phases.report()
    finally:
        await close_app_state(state)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--breakdown", action="store_true", help="time execute_run's steps one by one")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.breakdown))
