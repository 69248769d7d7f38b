"""One LISTEN connection per process, dispatching Postgres notifications to in-process callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable

import psycopg

from agent_server.settings import to_libpq_url

logger = logging.getLogger(__name__)

Callback = Callable[[str], None]

RUNS_CHANNEL = "olg_runs"  # payload: run id of a new pending run (wakes workers)
CANCEL_CHANNEL = "olg_cancel"  # payload: run id whose cancellation was requested
EVENTS_CHANNEL = "olg_run_events"  # payload: run id that has new stream events


class PgListener:
    def __init__(self, database_url: str, channels: tuple[str, ...]) -> None:
        self._url = to_libpq_url(database_url)
        self._channels = channels
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def on(self, channel: str, callback: Callback) -> None:
        self._callbacks[channel].append(callback)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            for channel in self._channels:
                await conn.execute(f"LISTEN {channel}")
            self._ready.set()
            # A reconnect may have missed notifications: wake everyone once so they re-check.
            for channel, callbacks in self._callbacks.items():
                for callback in callbacks:
                    callback("")
                del channel
            async for notify in conn.notifies():
                for callback in self._callbacks.get(notify.channel, ()):
                    try:
                        callback(notify.payload)
                    except Exception:
                        logger.exception("notification callback failed")
