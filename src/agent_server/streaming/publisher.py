"""Publishing one run's events: numbering (continued across attempts) and the closing summary."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agent_server.responses import dumps
from agent_server.streaming.broker import Broker
from agent_server.streaming.events import SUMMARY


class Publisher:
    def __init__(self, broker: Broker, run_id: UUID, first_seq: int) -> None:
        self._broker = broker
        self._run_id = run_id
        self._seq = first_seq

    @classmethod
    async def open(cls, broker: Broker, run_id: UUID) -> Publisher:
        return cls(broker, run_id, await broker.next_seq(run_id))

    async def send(self, event: str, payload: Any) -> None:
        await self._broker.publish(self._run_id, self._seq, event, dumps(payload))
        self._seq += 1

    async def end(self, status: str, output: Any, error: dict[str, Any] | None) -> None:
        """Publish the outcome (read by wait/join, never sent to clients) and close the stream."""
        await self.send(SUMMARY, {"status": status, "output": output, "error": error})
        await self._broker.close(self._run_id, self._seq)
