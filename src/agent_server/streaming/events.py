"""A run's stream event and its SSE framing."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_SEQ = 1  # a run's first event (its `metadata`) has this id
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


MAX_EVENT_ID = 2**63 - 1  # event ids are Postgres bigints


def parse_last_event_id(value: str | None) -> int | None:
    """`Last-Event-ID` as a sequence number: ASCII digits up to MAX_EVENT_ID; raises ValueError on anything else
    (int() alone would take "+5", "1_0", non-ASCII digits and numbers no event id reaches)."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_EVENT_ID:
        raise ValueError("not an event id")
    return int(text)
