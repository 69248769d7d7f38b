"""The floor on this machine: the benchmark's `trivial` graph run in-process against PostgreSQL, no server.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_olg python bench/floor.py [--runs 600] [--concurrency 1 32]

Each run is `graph.ainvoke` on a new thread with LangGraph's `AsyncPostgresSaver` (the checkpointer the server
uses), so it pays what any LangGraph deployment pays per run: the graph and its checkpoint writes. Prints latency
p50, runs/s, and this process's CPU per run. The issue's "5 ms and 224 runs/s" is this measurement on its machine;
comparing the server's numbers with this script's on the same machine removes the machine's speed from the picture.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from uuid import uuid4

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graphs import trivial_builder


async def run_many(graph: object, runs: int, concurrency: int) -> tuple[float, float, list[float]]:
    """(wall s, process CPU s, per-run latencies ms) of `runs` invocations, `concurrency` at a time."""
    latencies: list[float] = []
    left = iter(range(runs))

    async def client() -> None:
        for _ in left:
            started = time.perf_counter()
            await graph.ainvoke({"n": 3}, {"configurable": {"thread_id": str(uuid4())}})  # type: ignore[attr-defined]
            latencies.append((time.perf_counter() - started) * 1000)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu, latencies


async def measure(url: str, runs: int, levels: list[int]) -> list[dict[str, float]]:
    """For each concurrency level: p50 latency ms, runs/s and this process's CPU ms per run."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    results: list[dict[str, float]] = []
    async with AsyncConnectionPool(conninfo, min_size=10, max_size=10, kwargs=kwargs, open=False) as pool:
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        await saver.setup()
        graph = trivial_builder.compile(checkpointer=saver)
        await run_many(graph, 50, 4)  # warm-up: imports, prepared plans, pool connections
        for concurrency in levels:
            wall, cpu, latencies = await run_many(graph, runs, concurrency)
            results.append({"concurrency": concurrency, "p50_ms": round(statistics.median(latencies), 2),
                            "runs_per_s": round(runs / wall, 1), "cpu_ms_per_run": round(cpu * 1000 / runs, 2)})
    return results


async def main(url: str, runs: int, levels: list[int]) -> None:
    print(f"{'concurrency':>11} {'p50 ms':>8} {'runs/s':>8} {'CPU ms/run':>11}")
    for row in await measure(url, runs, levels):
        print(f"{row['concurrency']:>11} {row['p50_ms']:>8.2f} {row['runs_per_s']:>8.1f} "
              f"{row['cpu_ms_per_run']:>11.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    asyncio.run(main(os.environ["DATABASE_URL"], args.runs, args.concurrency))
