"""Benchmark a running Open LangGraph Server (or any LangGraph Platform API server) through langgraph-sdk.

    python bench/run.py --url http://127.0.0.1:2040 [--quick] [--json out.json] [--server-pid PID]
                        [--db-pid PID [--db-name NAME]] [--procs N] [--only SCENARIO ...] [--concurrency N ...]

The server must serve `bench/langgraph.json` (graphs `trivial` and `tokens`). See bench/README.md.
Server CPU and memory come from /proc/<pid> of the server process: `--server-pid`, else the process found
listening on the URL's port (which needs the bench and the server on the same machine, as the same user).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from langgraph_sdk.client import LangGraphClient

TRIVIAL = "trivial"
TOKENS = "tokens"
TOKENS_PER_RUN = 50
CLK_TCK = os.sysconf("SC_CLK_TCK")

# metric name -> (comparison, target); "le": value must be <= target, "ge": >= target.
TARGETS: dict[str, tuple[str, float]] = {
    "sequential.p50_ms": ("le", 10.0),
    "throughput.c32.runs_per_s": ("ge", 150.0),
    "throughput.c32.errors": ("le", 0.0),
    "stream.first_event_p50_ms": ("le", 5.0),
    "stream.complete_p50_ms": ("le", 25.0),
    "stream_concurrent.events_per_s": ("ge", 3000.0),
    "background.total_s": ("le", 4.0),
    "store.ops_per_s": ("ge", 900.0),
    "store.server_cpu_ms_per_op": ("le", 0.5),
}


@dataclass
class Profile:
    """How much work each scenario does; `--quick` shrinks everything for a smoke run."""

    sequential_runs: int = 300
    throughput_seconds: float = 10.0
    concurrencies: tuple[int, ...] = (1, 8, 32, 128)
    stream_runs: int = 200
    stream_seconds: float = 10.0
    stream_clients: int = 32
    background_threads: int = 100
    background_runs_per_thread: int = 5
    store_seconds: float = 10.0
    store_clients: int = 16
    warmup_runs: int = 20
    shared_pool: bool = False  # the simulated clients share one SDK client (the model before session 9)


QUICK = Profile(sequential_runs=50, throughput_seconds=3.0, stream_runs=40, stream_seconds=3.0,
                store_seconds=3.0, warmup_runs=5)


# --- measuring processes ----------------------------------------------------------------------------------------


def pid_listening_on(port: int) -> int | None:
    """The pid owning the TCP socket that listens on `port` (via /proc/net/tcp* and /proc/*/fd)."""
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                sockets.add(f"socket:[{fields[9]}]")
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in sockets:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may contain spaces


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of a process (and, optionally, of its children it has waited for)."""
    fields = _stat_fields(pid)
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # fields 16 and 17: cutime, cstime
    return ticks / CLK_TCK


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int(_stat_fields(int(proc.name))[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def postgres_cpu_seconds(postmaster: int, database: str | None = None) -> float:
    """The postmaster, its live backends, and the backends it has reaped (their time lands in its cutime).

    With `database`, only the live backends connected to it (a shared server): the server's pools keep their
    connections, so backends that exit are negligible.
    """
    total = 0.0 if database else process_cpu_seconds(postmaster, reaped_children=True)
    for child in children_of(postmaster):
        try:
            if database and f" {database} " not in Path(f"/proc/{child}/cmdline").read_text():
                continue  # the title of a backend: "postgres: user database host(port) state"
            total += process_cpu_seconds(child)
        except OSError:
            continue  # exited meanwhile: its time moves to the postmaster's cutime
    return total


def rss_mb(pid: int, key: str = "VmRSS") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def machine_busy_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) jiffies over all CPUs from /proc/stat; stolen: taken by the hypervisor for others."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, values[7], sum(values)


def python_loop_seconds() -> float:
    """Seconds for a 10-million-iteration empty Python loop, the rough yardstick of earlier FINDINGS (session 8
    found it can read fast while the floor is slow: compare `floor.py`, not this, across machines)."""
    started = time.perf_counter()
    for _ in range(10_000_000):
        pass
    return round(time.perf_counter() - started, 3)


def machine_floor(database_url: str) -> list[dict[str, float]]:
    """`floor.py`'s measurement (the trivial graph in-process on LangGraph's Postgres checkpointer, 300 runs alone
    and at 32), taken while no scenario runs: the machine's speed at that moment, to read the server's numbers
    against (the issue's machine: 5 ms and 224 runs/s)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import floor  # here, not at the top: the client processes import this module without needing it

    return asyncio.run(floor.measure(database_url, 300, [1, 32]))


def package_versions() -> dict[str, str]:
    """Versions of the packages the server's speed depends on, as installed beside this script."""
    names = ("fastapi", "starlette", "uvicorn", "pydantic", "langgraph", "langgraph-checkpoint-postgres",
             "langgraph-sdk", "psycopg", "psycopg-pool", "sqlalchemy", "orjson", "httpx")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str | None:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


@dataclass
class Meter:
    """CPU used during one scenario: by the server, the database, the bench itself, and the whole machine."""

    server_pid: int | None
    db_pid: int | None
    db_name: str | None = None
    _start: dict[str, float] = field(default_factory=dict)
    _end: dict[str, float] | None = None

    def _sample(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, stolen, total = machine_busy_ticks()
        sample = {"wall": time.perf_counter(), "bench": usage.ru_utime + usage.ru_stime,
                  "machine_busy": busy, "machine_stolen": stolen, "machine_total": total}
        if self.server_pid is not None:
            sample["server"] = process_cpu_seconds(self.server_pid)
        if self.db_pid is not None:
            sample["db"] = postgres_cpu_seconds(self.db_pid, self.db_name)
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._end = None

    def finish(self) -> None:
        """The work is over: what follows (client processes exiting) must not count."""
        self._end = self._sample()

    def stop(self, units: int) -> dict[str, Any]:
        """CPU per unit of work (runs, ops) in ms, and utilisation in % of one core (machine: of all cores)."""
        end = self._end or self._sample()
        wall = end["wall"] - self._start["wall"]
        result: dict[str, Any] = {}
        for name in ("server", "db", "bench"):
            if name in end:
                used = end[name] - self._start[name]
                result[f"{name}_cpu_pct"] = round(100 * used / wall, 1)
                result[f"{name}_cpu_ms_per_op"] = round(1000 * used / units, 3) if units else None
        ticks = end["machine_total"] - self._start["machine_total"]
        busy = end["machine_busy"] - self._start["machine_busy"]
        result["machine_cpu_pct"] = round(100 * busy / ticks, 1) if ticks else None
        stolen = end["machine_stolen"] - self._start["machine_stolen"]
        result["machine_steal_pct"] = round(100 * stolen / ticks, 1) if ticks else None
        return result


# --- helpers ----------------------------------------------------------------------------------------------------


def make_client(url: str, connections: int) -> LangGraphClient:
    """An SDK client whose connection pool fits `connections` concurrent requests (the SDK default allows 100)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = httpx.AsyncClient(base_url=url, transport=httpx.AsyncHTTPTransport(limits=limits),
                             timeout=httpx.Timeout(120.0, connect=10.0, pool=120.0))
    return LangGraphClient(http)


@asynccontextmanager
async def sdk_clients(url: str, count: int, shared_pool: bool) -> AsyncIterator[list[LangGraphClient]]:
    """One SDK client, with one connection, per simulated client, as that many users would have.

    With `shared_pool`, all of them use one SDK client whose pool holds `count` connections: httpcore then checks
    every idle connection of the pool (a `poll` system call each) for every request, so the client's CPU per
    request grows with `count` (2-3x the single-connection client's at 32; bench/FINDINGS.md, session 9).
    """
    async with AsyncExitStack() as stack:
        if shared_pool:
            yield [await stack.enter_async_context(make_client(url, count))] * count
        else:
            yield [await stack.enter_async_context(make_client(url, 1)) for _ in range(count)]


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 2)


def latency_summary(prefix: str, samples: Sequence[float]) -> dict[str, float | None]:
    return {f"{prefix}p50_ms": ms(percentile(samples, 50)), f"{prefix}p95_ms": ms(percentile(samples, 95)),
            f"{prefix}p99_ms": ms(percentile(samples, 99))}


@dataclass
class Errors:
    count: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, error: BaseException | str) -> None:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(error if isinstance(error, str) else f"{type(error).__name__}: {error}"[:300])


async def create_and_wait(client: LangGraphClient, n: int) -> tuple[float, float]:
    """One create-thread + wait on `trivial`; returns (thread create, wait) seconds; raises on a wrong answer."""
    start = time.perf_counter()
    thread = await client.threads.create()
    created = time.perf_counter()
    output = await client.runs.wait(thread["thread_id"], TRIVIAL, input={"n": n})
    done = time.perf_counter()
    if not isinstance(output, dict) or output.get("result") != 2 * n:
        raise AssertionError(f"unexpected output {output!r}")
    return created - start, done - created


def message_text(data: Any) -> str:
    """The text of a messages-tuple event (`[message, metadata]`); LangChain ends a stream with an empty chunk."""
    message = data[0] if isinstance(data, list) and data else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


@dataclass
class StreamTiming:
    first_event: float
    first_token: float | None
    last_event: float
    complete: float
    events: int
    tokens: int


async def stream_tokens(client: LangGraphClient, thread_id: str) -> StreamTiming:
    """Stream one `tokens` run in messages-tuple mode; times are from sending the request.

    Events: `metadata`, 50 `messages` with one token each, and the closing empty chunk LangChain adds (52).
    `complete` is when the SDK's iterator ends: after the last event, the SDK asks for the run (GET) when the
    stream closed without an `end` event and the response carried a `Location` header, to tell a finished run
    from a cut connection.
    """
    start = time.perf_counter()
    first_event: float | None = None
    first_token: float | None = None
    last_event = 0.0
    events = tokens = 0
    prompt: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
    async for part in client.runs.stream(thread_id, TOKENS, input=prompt, stream_mode="messages-tuple"):
        now = time.perf_counter() - start
        if part.event == "error":
            raise RuntimeError(f"error event: {part.data}")
        events += 1
        if first_event is None:
            first_event = now
        if part.event == "messages" and message_text(part.data):
            tokens += 1
            if first_token is None:
                first_token = now
        last_event = now
    complete = time.perf_counter() - start
    if tokens != TOKENS_PER_RUN:
        raise AssertionError(f"expected {TOKENS_PER_RUN} token events, got {tokens} ({events} events)")
    first = first_event if first_event is not None else complete
    return StreamTiming(first, first_token, last_event or complete, complete, events, tokens)


# --- closed-loop load: N clients, each looping one unit of work until the time is up -------------------------------


@dataclass
class LoadResult:
    """What some clients did; results of several client processes add up with `merge`."""

    units: int = 0  # runs, events or store ops
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Errors = field(default_factory=Errors)
    tokens: int = 0
    client_cpu: float = 0.0  # CPU seconds the client process(es) used

    def merge(self, other: LoadResult) -> None:
        self.units += other.units
        self.elapsed = max(self.elapsed, other.elapsed)
        self.latencies += other.latencies
        self.tokens += other.tokens
        self.client_cpu += other.client_cpu
        self.errors.count += other.errors.count
        self.errors.samples += other.errors.samples[: max(0, 5 - len(self.errors.samples))]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load(kind: str, url: str, clients: int, seconds: float, offset: int = 0,
               start_at: float | None = None, shared_pool: bool = False) -> LoadResult:
    """`clients` concurrent loops of one kind of work ("runs", "streams" or "store") for `seconds`.

    `offset` numbers this process's clients after those of other processes; `start_at` (time.time()) lines up
    the start of several processes.
    """
    result = LoadResult()
    async with sdk_clients(url, clients, shared_pool) as sdks:
        threads: list[str] = []
        if kind == "streams":
            threads = [(await sdk.threads.create())["thread_id"] for sdk in sdks]
        prefix = uuid.uuid4().hex[:8]

        async def unit(c: int, i: int) -> int:
            client = sdks[c]
            if kind == "runs":
                create, wait = await create_and_wait(client, i)
                result.latencies.append(create + wait)
                return 1
            if kind == "streams":
                timing = await stream_tokens(client, threads[c])
                result.latencies.append(timing.complete)
                result.tokens += timing.tokens
                return timing.events
            namespace = ["bench", prefix, f"c{offset + c}"]
            key = f"k{i % 100}"
            begin = time.perf_counter()
            await client.store.put_item(namespace, key, {"i": i, "text": "benchmark item"})
            middle = time.perf_counter()
            item = await client.store.get_item(namespace, key)
            result.latencies.extend((middle - begin, time.perf_counter() - middle))
            if item is None or item["value"]["i"] != i:
                raise AssertionError(f"read {item!r} after writing i={i}")
            return 2

        async def loop(c: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                try:
                    units = await unit(c, i)  # not `result.units += await ...`: that reads before awaiting
                    result.units += units
                except Exception as exc:
                    result.errors.add(exc)
                i += 1

        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu = own_cpu()
        begin = time.perf_counter()
        deadline = begin + seconds
        await asyncio.gather(*(loop(c) for c in range(clients)))
        result.elapsed = time.perf_counter() - begin
        result.client_cpu = own_cpu() - cpu
    return result


def load_in_process(kind: str, url: str, clients: int, seconds: float, offset: int, start_at: float,
                    shared_pool: bool) -> LoadResult:
    """Entry point of a client process (`--procs`)."""
    return asyncio.run(load(kind, url, clients, seconds, offset, start_at, shared_pool))


async def spread_load(kind: str, url: str, clients: int, seconds: float, procs: int, meter: Meter,
                      shared_pool: bool = False) -> LoadResult:
    """The clients in this process, or split over `procs` client processes started together.

    `meter` measures the load only: from the common start (not while the processes start) to the last result.
    """
    if procs <= 1:
        meter.start()
        result = await load(kind, url, clients, seconds, shared_pool=shared_pool)
        meter.finish()
        return result
    shares = [clients // procs + (1 if p < clients % procs else 0) for p in range(procs)]
    start_at = time.time() + 3.0  # time for the processes to import and connect
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            loop.run_in_executor(pool, load_in_process, kind, url, share, seconds, sum(shares[:p]), start_at,
                                 shared_pool)
            for p, share in enumerate(shares) if share
        ]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        meter.start()
        parts = await asyncio.gather(*futures)
        meter.finish()
    total = LoadResult()
    for part in parts:
        total.merge(part)
    return total


BACKGROUND_IN_FLIGHT = 64  # with a shared pool: requests in flight in the background scenario, over all processes


@dataclass
class BackgroundResult:
    """One client process's share of the background scenario; shares started together add up with `merge`."""

    runs: int = 0
    enqueue_s: float = 0.0  # from the common start until this share's last run was created
    total_s: float = 0.0  # from the common start until this share's last run was done
    statuses: dict[str, int] = field(default_factory=dict)
    errors: Errors = field(default_factory=Errors)
    client_cpu: float = 0.0

    def merge(self, other: BackgroundResult) -> None:
        self.runs += other.runs
        self.enqueue_s = max(self.enqueue_s, other.enqueue_s)
        self.total_s = max(self.total_s, other.total_s)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.client_cpu += other.client_cpu
        self.errors.count += other.errors.count
        self.errors.samples += other.errors.samples[: max(0, 5 - len(self.errors.samples))]


async def background_share(url: str, n_threads: int, per_thread: int, in_flight: int, start_at: float,
                           shared_pool: bool = False) -> BackgroundResult:
    """Make `n_threads` threads, then at `start_at` enqueue `per_thread` runs on each and join them all.

    Each thread has a client of its own that creates its runs one after the other, then joins them; with
    `shared_pool`, one client with `in_flight` connections creates them all, `in_flight` at a time, then joins them.
    """
    result = BackgroundResult()
    async with sdk_clients(url, in_flight if shared_pool else n_threads, shared_pool) as sdks:
        client_of: dict[str, LangGraphClient] = {}
        for i in range(n_threads):
            sdk = sdks[i % len(sdks)]
            client_of[(await sdk.threads.create())["thread_id"]] = sdk
        if time.time() > start_at:  # its times would count from a start it missed
            result.errors.add(f"a client process was ready {time.time() - start_at:.2f} s after the common start")
        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu = own_cpu()
        if shared_pool:
            runs = await enqueue_then_join_shared(client_of, per_thread, in_flight, start_at, result)
        else:
            runs = await enqueue_then_join_per_thread(client_of, per_thread, start_at, result)
        result.total_s = time.time() - start_at
        result.client_cpu = own_cpu() - cpu
        result.runs = len(runs)
        for thread_id, client in client_of.items():
            for run in await client.runs.list(thread_id, limit=per_thread + 5):
                result.statuses[run["status"]] = result.statuses.get(run["status"], 0) + 1
    return result


async def enqueue_run(client: LangGraphClient, thread_id: str, n: int, result: BackgroundResult) -> str | None:
    """A run queued on the thread, or None with the error counted."""
    try:
        run = await client.runs.create(thread_id, TRIVIAL, input={"n": n}, multitask_strategy="enqueue")
    except Exception as exc:
        result.errors.add(exc)
        return None
    return str(run["run_id"])


async def join_run(client: LangGraphClient, thread_id: str, run_id: str, result: BackgroundResult) -> None:
    try:
        await client.runs.join(thread_id, run_id)
    except Exception as exc:
        result.errors.add(exc)


async def enqueue_then_join_per_thread(client_of: dict[str, LangGraphClient], per_thread: int, start_at: float,
                                       result: BackgroundResult) -> list[str]:
    async def one_thread(thread_id: str, client: LangGraphClient) -> list[str]:
        run_ids = [await enqueue_run(client, thread_id, n, result) for n in range(per_thread)]
        result.enqueue_s = max(result.enqueue_s, time.time() - start_at)
        created = [run_id for run_id in run_ids if run_id is not None]
        for run_id in created:
            await join_run(client, thread_id, run_id, result)
        return created

    per_thread_runs = await asyncio.gather(*(one_thread(t, c) for t, c in client_of.items()))
    return [run_id for run_ids in per_thread_runs for run_id in run_ids]


async def enqueue_then_join_shared(client_of: dict[str, LangGraphClient], per_thread: int, in_flight: int,
                                   start_at: float, result: BackgroundResult) -> list[str]:
    limit = asyncio.Semaphore(in_flight)

    async def enqueue(thread_id: str, n: int) -> tuple[str, str | None]:
        async with limit:
            return thread_id, await enqueue_run(client_of[thread_id], thread_id, n, result)

    async def join(thread_id: str, run_id: str) -> None:
        async with limit:
            await join_run(client_of[thread_id], thread_id, run_id, result)

    created = await asyncio.gather(*(enqueue(t, r) for r in range(per_thread) for t in client_of))
    result.enqueue_s = time.time() - start_at
    runs = [(thread_id, run_id) for thread_id, run_id in created if run_id is not None]
    await asyncio.gather(*(join(t, r) for t, r in runs))
    return [run_id for _, run_id in runs]


def background_in_process(url: str, n_threads: int, per_thread: int, in_flight: int, start_at: float,
                          shared_pool: bool) -> BackgroundResult:
    """Entry point of a background client process."""
    return asyncio.run(background_share(url, n_threads, per_thread, in_flight, start_at, shared_pool))


def load_summary(result: LoadResult, usage: dict[str, Any]) -> dict[str, Any]:
    """Rates, latencies and CPU; the bench's own CPU is the client processes' (a client-bound run shows here)."""
    elapsed = result.elapsed or 1e-9
    usage = dict(usage)
    usage["bench_cpu_pct"] = round(100 * result.client_cpu / elapsed, 1)
    usage["bench_cpu_ms_per_op"] = round(1000 * result.client_cpu / result.units, 3) if result.units else None
    per_op = usage.get("server_cpu_ms_per_op")
    if per_op:  # what one fully used server core would sustain at this CPU cost
        usage["server_core_capacity_per_s"] = round(1000 / per_op)
    return {"seconds": round(elapsed, 2), "errors": result.errors.count, **latency_summary("", result.latencies),
            **usage, "error_samples": result.errors.samples}


# --- scenarios --------------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, url: str, profile: Profile, server_pid: int | None, db_pid: int | None,
                 db_name: str | None = None, procs: int = 1) -> None:
        self.url = url
        self.profile = profile
        self.server_pid = server_pid
        self.db_pid = db_pid
        self.db_name = db_name
        self.procs = procs
        self.results: dict[str, dict[str, Any]] = {}

    def meter(self) -> Meter:
        meter = Meter(self.server_pid, self.db_pid, self.db_name)
        meter.start()
        return meter

    def record(self, name: str, values: dict[str, Any]) -> None:
        values = {"loadavg_1m": round(os.getloadavg()[0], 2), **values}
        self.results[name] = values
        shown = {k: v for k, v in values.items() if k != "error_samples"}
        print(f"  {name}: {json.dumps(shown)}", file=sys.stderr, flush=True)
        for sample in values.get("error_samples", []):
            print(f"    error: {sample}", file=sys.stderr, flush=True)

    async def check_graphs(self, client: LangGraphClient) -> None:
        found = {a["graph_id"] for a in await client.assistants.search(limit=100)}
        missing = {TRIVIAL, TOKENS} - found
        if missing:
            raise SystemExit(f"the server has no graph {sorted(missing)}: start it with --config bench/langgraph.json")

    async def warm_up(self, client: LangGraphClient) -> None:
        for i in range(self.profile.warmup_runs):
            await create_and_wait(client, i)
        for _ in range(max(1, self.profile.warmup_runs // 4)):
            thread = await client.threads.create()
            await stream_tokens(client, thread["thread_id"])
        await client.store.put_item(["bench", "warmup"], "k", {"v": 1})
        await client.store.get_item(["bench", "warmup"], "k")

    async def sequential(self, client: LangGraphClient) -> None:
        totals: list[float] = []
        creates: list[float] = []
        waits: list[float] = []
        meter = self.meter()
        for i in range(self.profile.sequential_runs):
            create, wait = await create_and_wait(client, i)
            creates.append(create)
            waits.append(wait)
            totals.append(create + wait)
        self.record("sequential", {
            "runs": len(totals), **latency_summary("", totals),
            "thread_create_p50_ms": ms(percentile(creates, 50)), "wait_p50_ms": ms(percentile(waits, 50)),
            **meter.stop(len(totals)),
        })

    async def throughput(self, concurrency: int) -> None:
        meter = self.meter()
        result = await spread_load("runs", self.url, concurrency, self.profile.throughput_seconds, self.procs, meter,
                                   self.profile.shared_pool)
        usage = meter.stop(result.units)
        self.record(f"throughput.c{concurrency}", {
            "clients": concurrency, "runs": result.units, "runs_per_s": round(result.units / result.elapsed, 1),
            **load_summary(result, usage),
        })

    async def stream_latency(self, client: LangGraphClient) -> None:
        timings: list[StreamTiming] = []
        meter = self.meter()
        for _ in range(self.profile.stream_runs):
            thread = await client.threads.create()
            timings.append(await stream_tokens(client, thread["thread_id"]))
        tokens = [t.first_token for t in timings if t.first_token is not None]
        self.record("stream", {
            "runs": len(timings), "events_per_run": timings[-1].events if timings else None,
            **latency_summary("first_event_", [t.first_event for t in timings]),
            "first_token_p50_ms": ms(percentile(tokens, 50)),
            "last_event_p50_ms": ms(percentile([t.last_event for t in timings], 50)),
            **latency_summary("complete_", [t.complete for t in timings]),
            **meter.stop(len(timings)),
        })

    async def stream_concurrent(self) -> None:
        clients = self.profile.stream_clients
        meter = self.meter()
        result = await spread_load("streams", self.url, clients, self.profile.stream_seconds, self.procs, meter,
                                   self.profile.shared_pool)
        usage = meter.stop(result.units)
        summary = load_summary(result, usage)
        self.record("stream_concurrent", {
            "clients": clients, "events": result.units, "events_per_s": round(result.units / result.elapsed, 1),
            "tokens_per_s": round(result.tokens / result.elapsed, 1), "runs": len(result.latencies),
            **{k.replace("_per_op", "_per_event").replace("p50_ms", "complete_p50_ms")
               .replace("p95_ms", "complete_p95_ms").replace("p99_ms", "complete_p99_ms"): v
               for k, v in summary.items()},
        })

    async def background(self) -> None:
        n_threads = self.profile.background_threads
        shares = [n_threads // self.procs + (1 if p < n_threads % self.procs else 0) for p in range(self.procs)]
        in_flight = BACKGROUND_IN_FLIGHT // len(shares)
        start_at = time.time() + 5.0  # time to start the client processes and for them to make their threads
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(self.procs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [loop.run_in_executor(pool, background_in_process, self.url, share,
                                            self.profile.background_runs_per_thread, in_flight, start_at,
                                            self.profile.shared_pool)
                       for share in shares if share]
            await asyncio.sleep(max(0.0, start_at - time.time()))
            meter = self.meter()
            parts: list[BackgroundResult] = await asyncio.gather(*futures)
            meter.finish()
        total = BackgroundResult()
        for part in parts:
            total.merge(part)
        usage = meter.stop(total.runs)
        usage["bench_cpu_pct"] = round(100 * total.client_cpu / total.total_s, 1) if total.total_s else None
        usage["bench_cpu_ms_per_op"] = round(1000 * total.client_cpu / total.runs, 3) if total.runs else None
        errors = total.errors
        for status, count in total.statuses.items():
            if status != "success":
                errors.add(f"{count} runs ended {status}")
        self.record("background", {
            "threads": n_threads, "runs": total.runs, "client_processes": len(parts),
            "in_flight": in_flight * len(parts) if self.profile.shared_pool else n_threads,
            "client_model": "shared pool" if self.profile.shared_pool else "a client per thread",
            "enqueue_s": round(total.enqueue_s, 3), "total_s": round(total.total_s, 3),
            "runs_per_s": round(total.runs / total.total_s, 1) if total.total_s else None,
            "statuses": total.statuses, "errors": errors.count, **usage, "error_samples": errors.samples,
        })

    async def store(self) -> None:
        clients = self.profile.store_clients
        meter = self.meter()
        result = await spread_load("store", self.url, clients, self.profile.store_seconds, self.procs, meter,
                                   self.profile.shared_pool)
        usage = meter.stop(result.units)
        self.record("store", {
            "clients": clients, "ops": result.units, "ops_per_s": round(result.units / result.elapsed, 1),
            **load_summary(result, usage),
        })

    def memory(self, name: str) -> None:
        if self.server_pid is None:
            return
        self.record(name, {"rss_mb": rss_mb(self.server_pid), "peak_rss_mb": rss_mb(self.server_pid, "VmHWM")})

    async def run(self, scenarios: set[str]) -> None:
        self.memory("memory.idle")
        async with make_client(self.url, 4) as client:
            await self.check_graphs(client)
            await self.warm_up(client)
            self.memory("memory.warm")
            if "sequential" in scenarios:
                await self.sequential(client)
            if "stream" in scenarios:
                await self.stream_latency(client)
        if "throughput" in scenarios:
            for concurrency in self.profile.concurrencies:
                await self.throughput(concurrency)
        if "stream_concurrent" in scenarios:
            await self.stream_concurrent()
        if "background" in scenarios:
            await self.background()
        if "store" in scenarios:
            await self.store()
        await asyncio.sleep(1.0)
        self.memory("memory.after")


SCENARIOS = ("sequential", "stream", "throughput", "stream_concurrent", "background", "store")


# --- report -----------------------------------------------------------------------------------------------------


def lookup(results: dict[str, dict[str, Any]], metric: str) -> Any:
    scenario, _, key = metric.rpartition(".")
    return results.get(scenario, {}).get(key)


def verdict(metric: str, value: Any) -> str:
    if metric not in TARGETS or value is None:
        return ""
    kind, target = TARGETS[metric]
    ok = value <= target if kind == "le" else value >= target
    return "ok" if ok else "MISS"


def target_text(metric: str) -> str:
    if metric not in TARGETS:
        return ""
    kind, target = TARGETS[metric]
    return f"{'<=' if kind == 'le' else '>='} {target:g}"


def table_rows(results: dict[str, dict[str, Any]], profile: Profile) -> list[tuple[str, str]]:
    """(label, metric) pairs; a metric is `scenario.key`."""
    rows = [
        ("sequential create-thread+wait p50 ms", "sequential.p50_ms"),
        ("  p99 ms", "sequential.p99_ms"),
        ("  thread create p50 ms", "sequential.thread_create_p50_ms"),
        ("  wait p50 ms", "sequential.wait_p50_ms"),
        ("  server CPU ms/run", "sequential.server_cpu_ms_per_op"),
        ("  db CPU ms/run", "sequential.db_cpu_ms_per_op"),
    ]
    for c in profile.concurrencies:
        rows += [
            (f"throughput c={c} runs/s", f"throughput.c{c}.runs_per_s"),
            ("  errors", f"throughput.c{c}.errors"),
            ("  runs/s one server core would sustain", f"throughput.c{c}.server_core_capacity_per_s"),
            ("  p50 / p99 ms", f"throughput.c{c}.p50_ms|throughput.c{c}.p99_ms"),
            ("  server CPU ms/run, server %", f"throughput.c{c}.server_cpu_ms_per_op|throughput.c{c}.server_cpu_pct"),
            ("  client CPU %, machine CPU %", f"throughput.c{c}.bench_cpu_pct|throughput.c{c}.machine_cpu_pct"),
        ]
    rows += [
        ("stream first event p50 ms", "stream.first_event_p50_ms"),
        ("stream first token p50 ms", "stream.first_token_p50_ms"),
        ("stream 50 tokens complete p50 ms", "stream.complete_p50_ms"),
        ("  last event received p50 ms", "stream.last_event_p50_ms"),
        ("  complete p99 ms", "stream.complete_p99_ms"),
        (f"stream events/s, {profile.stream_clients} streams", "stream_concurrent.events_per_s"),
        ("  errors", "stream_concurrent.errors"),
        ("  server CPU ms/event, server %",
         "stream_concurrent.server_cpu_ms_per_event|stream_concurrent.server_cpu_pct"),
        ("  client CPU %, machine CPU %", "stream_concurrent.bench_cpu_pct|stream_concurrent.machine_cpu_pct"),
        (f"{profile.background_threads * profile.background_runs_per_thread} background runs / "
         f"{profile.background_threads} threads s", "background.total_s"),
        ("  enqueue s", "background.enqueue_s"),
        ("  errors", "background.errors"),
        (f"store put+get ops/s, {profile.store_clients} clients", "store.ops_per_s"),
        ("  errors", "store.errors"),
        ("  server CPU ms/op", "store.server_cpu_ms_per_op"),
        ("  db CPU ms/op", "store.db_cpu_ms_per_op"),
        ("  client CPU ms/op, client %", "store.bench_cpu_ms_per_op|store.bench_cpu_pct"),
        ("  ops/s one server core would sustain", "store.server_core_capacity_per_s"),
        ("server RSS idle MB", "memory.idle.rss_mb"),
        ("server RSS after load MB (peak)", "memory.after.rss_mb|memory.after.peak_rss_mb"),
    ]
    return rows


def render(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def print_table(results: dict[str, dict[str, Any]], profile: Profile) -> None:
    lines = [("metric", "value", "target", "")]
    for label, metrics in table_rows(results, profile):
        names = metrics.split("|")
        values = [lookup(results, m) for m in names]
        if all(v is None for v in values):
            continue
        lines.append((label, " / ".join(render(v) for v in values), target_text(names[0]),
                      verdict(names[0], values[0])))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for i, line in enumerate(lines):
        print(f"{line[0]:<{widths[0]}}  {line[1]:>{widths[1]}}  {line[2]:<{widths[2]}}  {line[3]}")
        if i == 0:
            print("-" * (sum(widths) + 6))
    for name, result in results.items():
        for sample in result.get("error_samples", []):
            print(f"error in {name}: {sample}")


# --- CLI --------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:2040", help="server URL (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not a measurement")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--server-pid", type=int, help="server process (default: the one listening on the port)")
    parser.add_argument("--db-pid", type=int, help="PostgreSQL postmaster pid, to report database CPU too")
    parser.add_argument("--db-name", help="with --db-pid on a shared server: count only this database's backends")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--concurrency", type=int, nargs="+", help="throughput client counts (default 1 8 32 128)")
    parser.add_argument("--procs", type=int, default=1,
                        help="client processes for the load scenarios and the background one "
                             "(one Python client saturates a core)")
    parser.add_argument("--label", default="", help="free text stored in the JSON (e.g. embedded / pg15)")
    parser.add_argument("--floor-db", metavar="URL",
                        help="a scratch PostgreSQL database: measure the machine's floor (floor.py) before and after")
    parser.add_argument("--shared-pool", action="store_true",
                        help="simulated clients share one SDK client and its connection pool (the client model of "
                             "results before session 9; costs the client 2-3x the CPU per request)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    profile = QUICK if args.quick else Profile()
    if args.concurrency:
        profile = replace(profile, concurrencies=tuple(args.concurrency))
    if args.shared_pool:
        profile = replace(profile, shared_pool=True)
    server_pid = args.server_pid
    host, port = urlsplit(args.url).hostname, urlsplit(args.url).port
    if server_pid is None and host in ("127.0.0.1", "localhost", "::1") and port is not None:
        server_pid = pid_listening_on(port)
    if server_pid is None:
        print("server pid unknown: CPU and RSS are not reported (give --server-pid)", file=sys.stderr)
    bench = Bench(args.url, profile, server_pid, args.db_pid, args.db_name, args.procs)
    print(f"benchmarking {args.url} (server pid {server_pid}, db pid {args.db_pid}, "
          f"{'quick' if args.quick else 'full'})", file=sys.stderr)
    started = time.time()
    floor_before = machine_floor(args.floor_db) if args.floor_db else None
    loop_before = python_loop_seconds()
    asyncio.run(bench.run(set(args.only or SCENARIOS)))
    loop_after = python_loop_seconds()
    floor_after = machine_floor(args.floor_db) if args.floor_db else None
    print(f"machine: 10 M-iteration Python loop {loop_before} s before, {loop_after} s after", file=sys.stderr)
    for when, rows in (("before", floor_before), ("after", floor_after)):
        for row in rows or ():
            print(f"machine floor {when}: {json.dumps(row)}", file=sys.stderr)
    print()
    print_table(bench.results, profile)
    if args.json:
        report = {
            "label": args.label, "url": args.url, "quick": args.quick, "started": started, "procs": args.procs,
            "server_pid": server_pid, "db_pid": args.db_pid, "cpus": os.cpu_count(), "shared_pool": args.shared_pool,
            "python": platform.python_version(), "loadavg_after": os.getloadavg(), "cpu_model": cpu_model(),
            "python_loop_s": [loop_before, loop_after], "floor": {"before": floor_before, "after": floor_after},
            "packages": package_versions(),
            "results": bench.results,
            "verdicts": {m: verdict(m, lookup(bench.results, m)) for m in TARGETS},
        }
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
