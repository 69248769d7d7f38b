"""The hub's status: open tasks per queue and the server's queued and running runs."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QueueDepth(BaseModel):
    pending: int = Field(description="pending tasks, ready or not")
    ready: int = Field(description="pending tasks that a claim can take now (not deferred, no open blocker)")
    in_progress: int
    review: int


class RunCounts(BaseModel):
    pending: int = Field(description="runs waiting for a worker (queued, or due later)")
    running: int


class HubStatus(BaseModel):
    tasks: dict[str, QueueDepth] = Field(
        description="by queue name; only queues holding a pending, in_progress or review task")
    runs: RunCounts = Field(description="all runs of the server (every thread and user)")
