"""`open-langgraph worker`: the app state with its workers and no HTTP, until SIGTERM or SIGINT.

Stopping is graceful: the runs in flight go back to the queue (Worker.stop) and another worker resumes them
from their last checkpoint. A worker killed outright is covered by the lease: its runs are re-queued by the
sweeper of any other worker once their lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

from agent_server.app import close_app_state, open_app_state
from agent_server.config import ProjectConfig
from agent_server.gc_tuning import freeze_startup_heap
from agent_server.settings import Settings
from agent_server.state import AppState

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_workers(settings: Settings, config: ProjectConfig) -> None:
    """Execute runs until a stop signal arrives, then hand the runs in flight back and return."""
    if settings.n_jobs_per_worker < 1:
        raise ValueError("a worker process needs n_jobs_per_worker >= 1")
    stop = asyncio.Event()
    with stop_on_signals(stop):
        state = await open_unless_stopped(settings, config, stop)
        if state is None:
            logger.info("stopped during start-up")
            return
        if settings.gc_tuning:
            freeze_startup_heap()
        try:
            await serve_until(state, stop)
        finally:
            await close_app_state(state)
    logger.info("worker stopped")


async def serve_until(state: AppState, stop: asyncio.Event) -> None:
    worker = state.worker
    assert worker is not None  # open_app_state(host_workers=True) with n_jobs_per_worker >= 1
    logger.info("worker %s ready: %d jobs at once, %s broker", worker.worker_id, worker.n_jobs,
                state.settings.stream_broker)
    await stop.wait()
    logger.info("stopping: handing back %d run(s)", len(worker.running))


async def open_unless_stopped(settings: Settings, config: ProjectConfig, stop: asyncio.Event) -> AppState | None:
    """The app state with its workers started, or None when a stop signal comes first (a slow database...)."""
    opening = asyncio.create_task(open_app_state(settings, config, host_workers=True))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if opening.done():
        return opening.result()  # raises what start-up raised
    opening.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await opening
    return None


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (a repeated signal changes nothing: shutdown is already under way)."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            logger.info("received %s", sig.name)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
