"""The broker seam: workers publish a run's events, any API process subscribes (and resumes by id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol
from uuid import UUID

from agent_server.streaming.events import StreamEvent


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def next_seq(self, run_id: UUID) -> int:
        """The first free sequence number of a run (a retried run continues its numbering)."""
        ...

    async def publish(self, run_id: UUID, seq: int, event: str, data: bytes) -> None: ...

    async def flush(self) -> None:
        """Return once every event published so far is stored where other processes can read it."""
        ...

    async def close(self, run_id: UUID, seq: int) -> None:
        """Mark the end of a run's stream; subscribers drain and stop."""
        ...

    def subscribe(self, run_id: UUID, after: int | None = None) -> AsyncIterator[StreamEvent]:
        """Events with seq > `after` (all when None), live until the end marker."""
        ...

    async def is_closed(self, run_id: UUID) -> bool:
        """True when the run's stream ended and is still retained."""
        ...
