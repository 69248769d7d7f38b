"""A run's stream event and its SSE framing."""

from __future__ import annotations

from dataclasses import dataclass

END = "__end__"  # internal marker closing a run's stream; never sent to clients
SUMMARY = "__summary__"  # internal event with a run's outcome (status, output, error); never sent to clients


@dataclass(frozen=True, slots=True)
class StreamEvent:
    seq: int
    event: str
    data: bytes  # JSON

    @property
    def is_end(self) -> bool:
        return self.event == END


def sse_frame(event: StreamEvent) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.event.encode(), event.data)


def sse_message(event: str, data: bytes) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (event.encode(), data)


KEEPALIVE = b": heartbeat\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    """`Last-Event-ID` as a sequence number; raises ValueError on anything else."""
    if value is None or value.strip() == "":
        return None
    seq = int(value.strip())
    if seq < 0:
        raise ValueError("negative event id")
    return seq
