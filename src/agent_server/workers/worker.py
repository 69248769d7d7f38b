"""The run worker: claims pending runs (SKIP LOCKED), executes them in N slots, holds leases, honours cancels.

Any number of workers, in API processes or in `open-langgraph worker` processes, share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any
from uuid import UUID

from psycopg.errors import UniqueViolation

from agent_server.repositories import runs as repo
from agent_server.services.runs.execute import CancelRequest, execute_run
from agent_server.services.threads import sweep_expired_threads
from agent_server.state import AppState
from agent_server.streaming.listener import CANCEL_CHANNEL, RUNS_CHANNEL
from agent_server.streaming.publisher import Publisher
from agent_server.workers.crons import cron_loop

logger = logging.getLogger(__name__)


class Slot:
    """One of a worker's slots, reserved by `create_run` for a run it inserts already claimed.

    `start` launches the run once its transaction committed; `release` frees the slot when it did not (or when
    the run had to queue). Whichever comes first wins; the other does nothing.
    """

    def __init__(self, worker: Worker) -> None:
        self._worker: Worker | None = worker
        self.worker_id = worker.worker_id

    def start(self, run: dict[str, Any], assistant: dict[str, Any] | None) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker._reserved -= 1
            worker._adopt(run, assistant)

    def release(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker._reserved -= 1


class Worker:
    def __init__(self, state: AppState, n_jobs: int) -> None:
        self.state = state
        self.n_jobs = n_jobs
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.settings = state.settings
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        self._cancels: dict[UUID, CancelRequest] = {}
        self._wakeup = asyncio.Event()
        # More runs may be claimable than we had slots for: a finishing run wakes the claim loop.
        self._backlog = False
        self._reserved = 0  # slots held by runs being created in this process (see Slot) and by a claim under way
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        self.state.listener.on(RUNS_CHANNEL, lambda _payload: self.poke())
        self.state.listener.on(CANCEL_CHANNEL, self._on_cancel_notification)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="worker-claim"),
            asyncio.create_task(self._heartbeat_loop(), name="worker-heartbeat"),
            asyncio.create_task(self._sweep_loop(), name="worker-sweep"),
            asyncio.create_task(cron_loop(self.state), name="worker-crons"),
        ]
        ttl = self.state.config.checkpointer.ttl
        if ttl is not None and ttl.default_ttl:
            self._loops.append(asyncio.create_task(self._thread_ttl_loop(ttl.sweep_interval_minutes or 5.0)))

    def poke(self) -> None:
        self._wakeup.set()

    @property
    def running(self) -> list[UUID]:
        return list(self._tasks)

    async def stop(self) -> None:
        """Graceful shutdown: runs in flight go back to the queue and resume from their last checkpoint."""
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        for run_id, task in list(self._tasks.items()):
            self._cancels[run_id].action = "shutdown"
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    def cancel(self, run_id: UUID, action: str) -> bool:
        task = self._tasks.get(run_id)
        if task is None or self._cancels[run_id].action is not None:
            return task is not None
        self._cancels[run_id].action = action
        task.cancel()
        return True

    def _on_cancel_notification(self, payload: str) -> None:
        run_id, _, action = payload.partition(":")
        with contextlib.suppress(ValueError):
            self.cancel(UUID(run_id), action or "interrupt")

    @property
    def free_slots(self) -> int:
        return 0 if self._stopping else self.n_jobs - len(self._tasks) - self._reserved

    def reserve(self) -> Slot | None:
        """A free slot for a run about to be created in this process, or None when every slot is taken."""
        if self.free_slots <= 0:
            self._backlog = True  # the run goes to the queue: look for it when a slot frees
            return None
        self._reserved += 1
        return Slot(self)

    def _adopt(self, run: dict[str, Any], assistant: dict[str, Any] | None) -> None:
        """Start a run created in this process already claimed by us (its transaction just committed)."""
        if self._stopping:
            self.state.background(self._hand_back(run["run_id"]))
            return
        self._launch(run, assistant)

    async def _claim_loop(self) -> None:
        """One claim per wake-up (a new run's NOTIFY, a finished run with work queued behind it, or the poll)."""
        while not self._stopping:
            self._wakeup.clear()
            free = self.free_slots
            self._backlog = free <= 0
            if free > 0:
                self._reserved += free  # runs created while the claim is out must not take these slots too
                try:
                    claimed = await self._claim(free)
                finally:
                    self._reserved -= free
                self._backlog = len(claimed) == free
                for run, assistant in claimed:
                    self._launch(run, assistant)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.settings.poll_interval_seconds)

    async def _claim(self, limit: int) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        for _ in range(5):
            try:
                return await repo.claim(self.state.pool, self.worker_id, self.settings.lease_seconds, limit)
            except UniqueViolation:
                continue  # another worker started a run on the same thread first; look again
            except Exception:
                logger.exception("claiming a run failed")
                await asyncio.sleep(self.settings.poll_interval_seconds)
                return []
        return []

    def _launch(self, run: dict[str, Any], assistant: dict[str, Any] | None) -> None:
        run_id = run["run_id"]
        self._cancels[run_id] = CancelRequest()
        self._tasks[run_id] = asyncio.create_task(self._execute(run, assistant), name=f"run-{run_id}")

    async def _execute(self, run: dict[str, Any], assistant: dict[str, Any] | None) -> None:
        run_id = run["run_id"]
        more = True
        try:
            more = await execute_run(self.state, run, self.worker_id, self._cancels[run_id], assistant)
        except asyncio.CancelledError:
            await self._hand_back(run_id)
        except Exception:
            logger.exception("run %s crashed in the worker", run_id)
        finally:
            self._tasks.pop(run_id, None)
            self._cancels.pop(run_id, None)
            if more or self._backlog:
                self.poke()

    async def _hand_back(self, run_id: UUID) -> None:
        """Back to the queue, after its events are stored: the next attempt continues their numbering."""
        with contextlib.suppress(Exception):
            await self.state.broker.flush()
            async with self.state.sessionmaker.begin() as session:
                await repo.release(session, run_id, self.worker_id)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                async with self.state.sessionmaker.begin() as session:
                    owned = await repo.renew_leases(session, self.worker_id, self.running, self.settings.lease_seconds)
            except Exception:
                logger.exception("lease renewal failed")
                continue
            for run_id, action in owned:
                if action:
                    self.cancel(run_id, action)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval_seconds)
            with contextlib.suppress(Exception):
                await sweep_lapsed_runs(self.state)
                self.poke()


    async def _thread_ttl_loop(self, interval_minutes: float) -> None:
        while True:
            try:
                removed = await sweep_expired_threads(self.state)
                if removed:
                    logger.info("checkpointer.ttl removed %d idle threads", removed)
            except Exception:
                logger.exception("thread TTL sweep failed")
            await asyncio.sleep(interval_minutes * 60)


async def sweep_lapsed_runs(state: AppState) -> None:
    """Re-queue runs whose worker stopped renewing its lease; fail those out of attempts."""
    async with state.sessionmaker.begin() as session:
        requeued, failed = await repo.requeue_lapsed(session, state.settings.max_attempts)
        for run in failed:
            await repo.fail_thread(session, run["thread_id"])
    for run in requeued:
        logger.warning("run %s lost its worker; re-queued", run["run_id"])
    for run in failed:
        logger.error("run %s lost its worker too often; marked error", run["run_id"])
        publisher = await Publisher.open(state.broker, run["run_id"])
        await publisher.send("error", repo.WORKER_LOST)
        await publisher.end("error", {"__error__": repo.WORKER_LOST}, repo.WORKER_LOST)
    sweep = getattr(state.broker, "sweep", None)
    if sweep is not None:
        await sweep()
