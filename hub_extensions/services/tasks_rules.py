"""The task manager's rules: status transitions, completing a parent, dependency edges and parents without
cycles, and the history entries every change writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.utils.uuid import uuid7
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import Conflict, NotFound, Unprocessable
from agent_server.services.auth import Actor
from hub_extensions.models.tasks import ChangeNote, DependencyEdge
from hub_extensions.services import tasks_queries as q

CLOSED = q.CLOSED_STATUSES
# Where a status may go by PATCH. A closed task (done, cancelled) goes nowhere: only POST .../reopen (-> pending).
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "review", "done", "cancelled"}),
    "in_progress": frozenset({"pending", "review", "done", "cancelled"}),
    "review": frozenset({"pending", "in_progress", "done", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}
EVENT_OF_FIELD = {
    "status": "status_change", "queue": "queue_change", "priority": "priority_change",
    "urgency": "urgency_change", "complexity": "complexity_change", "assigned_agent": "assignment",
}


def task_not_found(task_id: UUID) -> NotFound:
    return NotFound(f"Task '{task_id}' not found")


def author(note: ChangeNote, actor: Actor) -> str:
    """Who a change is recorded as: the body's `changed_by`, else the authenticated user, else 'api'."""
    return note.changed_by or actor.identity or "api"


def as_text(value: Any) -> str | None:
    """A field's value as the history keeps it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def tags_text(names: Sequence[str]) -> str:
    return ", ".join(sorted(names))


def edges_text(edges: dict[UUID, str]) -> str:
    return ", ".join(f"{kind}:{target}" for target, kind in sorted(edges.items(), key=lambda edge: str(edge[0])))


@dataclass
class History:
    """The entries one request writes for one task, each with the request's author and comment."""

    task_id: UUID
    changed_by: str
    comment: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event_type: str, *, field_name: str | None = None, previous: Any = None, new: Any = None,
            agent: str | None = None) -> None:
        self.entries.append({
            "id": uuid7(), "task_id": self.task_id, "event_type": event_type, "field": field_name,
            "previous_value": as_text(previous), "new_value": as_text(new), "assigned_agent": agent,
            "changed_by": self.changed_by, "comment": self.comment,
        })

    def change(self, name: str, previous: Any, new: Any) -> None:
        """A field's change, under its typed event (status_change, assignment, ...) or as a field_change."""
        agent = new if name == "assigned_agent" else None
        self.add(EVENT_OF_FIELD.get(name, "field_change"), field_name=name, previous=previous, new=new, agent=agent)

    async def write(self, session: AsyncSession) -> None:
        await q.insert_history(session, self.entries)
        self.entries = []


def check_transition(task: dict[str, Any], new_status: str) -> None:
    current = task["status"]
    if new_status in TRANSITIONS[current]:
        return
    if current in CLOSED:
        raise Conflict(f"Task '{task['id']}' is {current}: reopen it first (POST /hub/tasks/{task['id']}/reopen)")
    raise Conflict(f"status: a task cannot go from {current} to {new_status}")


async def check_subtasks_done(session: AsyncSession, task_id: UUID) -> None:
    """A parent is done only after each of its subtasks is done or cancelled."""
    still_open = await q.open_subtasks(session, task_id)
    if still_open:
        listed = ", ".join(f"{sub['id']} ({sub['status']})" for sub in still_open)
        raise Conflict(f"status: task '{task_id}' cannot be done while subtasks are open: {listed}")


def unique_tags(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def edge_map(edges: Sequence[DependencyEdge]) -> dict[UUID, str]:
    found: dict[UUID, str] = {}
    for edge in edges:
        if edge.task_id in found and found[edge.task_id] != edge.kind:
            raise Unprocessable(f"dependencies: task '{edge.task_id}' is listed with two kinds")
        found[edge.task_id] = edge.kind
    return found


def _cycle(path: list[UUID]) -> str:
    return " -> ".join(str(task_id) for task_id in [path[-1], *path])


async def check_edges(session: AsyncSession, task_id: UUID, edges: dict[UUID, str]) -> None:
    """Edges from `task_id` to existing other tasks, whose `blocks` edges close no cycle of waits."""
    if task_id in edges:
        raise Unprocessable("dependencies: a task cannot depend on itself")
    missing = set(edges) - await q.existing_task_ids(session, edges)
    if missing:
        listed = ", ".join(sorted(f"'{task}'" for task in missing))
        raise Unprocessable(f"dependencies: no task {listed}")
    blockers = [target for target, kind in edges.items() if kind == "blocks"]
    if not blockers:
        return
    await q.lock_task_graph(session)
    path = await q.waiting_path(session, blockers, task_id)
    if path is not None:
        raise Conflict(
            f"dependencies: task '{task_id}' cannot be blocked by '{path[0]}', which already waits for it "
            f"(a task waits for its blockers and its subtasks); the cycle would be {_cycle(path)}"
        )


async def check_parent(session: AsyncSession, task_id: UUID, parent_id: UUID) -> None:
    """An existing parent that does not (through subtasks or blockers) already wait for the task."""
    if parent_id == task_id:
        raise Unprocessable("parent_task_id: a task cannot be its own parent")
    if not await q.existing_task_ids(session, [parent_id]):
        raise Unprocessable(f"parent_task_id: no task '{parent_id}'")
    await q.lock_task_graph(session)
    path = await q.waiting_path(session, [task_id], parent_id)
    if path is not None:
        raise Conflict(
            f"parent_task_id: task '{parent_id}' cannot be the parent of '{task_id}', which already waits for it "
            f"(a task waits for its blockers and its subtasks); the cycle would be {_cycle(path)}"
        )
