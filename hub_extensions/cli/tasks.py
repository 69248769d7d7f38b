"""`jr tasks ...`: list, add, show, update, done, reopen, claim and ready, over /hub/tasks."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, get_args
from uuid import UUID

import typer

from hub_extensions.cli import render
from hub_extensions.cli.client import without_none
from hub_extensions.cli.context import JsonOption, connect
from hub_extensions.models.tasks import Complexity, Level, SortOrder, Source, TaskSortBy, TaskStatus

app = typer.Typer(help="The hub's tasks: list, add, show, update, done, reopen, claim, ready.",
                  no_args_is_help=True)

INHERITED = ("queue", "source")


def choices(name: str, literal: Any) -> type[Enum]:
    """A str Enum of a Literal's values: Typer takes repeatable choices only as an Enum."""
    return Enum(name, {value: value for value in get_args(literal)}, type=str)  # type: ignore[return-value]


StatusChoice = choices("StatusChoice", TaskStatus)
LevelChoice = choices("LevelChoice", Level)


def values(chosen: list[Any] | None) -> list[str] | None:
    return [choice.value for choice in chosen] if chosen else None


LevelOption = Annotated[Level | None, typer.Option(show_default=False)]
QueueOption = Annotated[str | None, typer.Option(help="e.g. default, host-agent, local-agent", show_default=False)]
TextOption = Annotated[str | None, typer.Option(show_default=False)]
DescriptionOption = Annotated[str | None, typer.Option("--description", "-d", show_default=False)]
CriteriaOption = Annotated[str | None, typer.Option("--acceptance-criteria", "--criteria", show_default=False)]
TimeOption = Annotated[str | None, typer.Option(help="ISO 8601 time (UTC without an offset)", show_default=False)]
AssignOption = Annotated[str | None, typer.Option(help="assign to this agent", show_default=False)]
ByOption = Annotated[str | None, typer.Option("--by", help="who makes the change (default: the signed-in user)",
                                              show_default=False)]
CommentOption = Annotated[str | None, typer.Option(help="why: kept with the change in the task's history",
                                                   show_default=False)]
TaskId = Annotated[UUID, typer.Argument(help="the task's id", show_default=False)]


def task_path(task_id: UUID) -> str:
    return f"/hub/tasks/{task_id}"


def as_subtask(parent: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A subtask takes its parent's queue and source unless given, as subtasks created with their parent do."""
    return {**{name: parent[name] for name in INHERITED}, **body, "parent_task_id": parent["id"]}


@app.command("list")
def list_tasks(
    ctx: typer.Context,
    status: Annotated[list[StatusChoice] | None, typer.Option(  # type: ignore[valid-type]
        "--status", "-s", help="repeatable: any of them", show_default=False)] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="repeatable", show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="has any of them (repeatable)",
                                                  show_default=False)] = None,
    priority: Annotated[list[LevelChoice] | None, typer.Option(  # type: ignore[valid-type]
        help="repeatable", show_default=False)] = None,
    parent: Annotated[UUID | None, typer.Option(help="subtasks of this task", show_default=False)] = None,
    top_level: Annotated[bool, typer.Option(help="only tasks without a parent")] = False,
    agent: Annotated[str | None, typer.Option(help="assigned to this agent", show_default=False)] = None,
    search: Annotated[str | None, typer.Option(help="text in title, description, criteria, result",
                                               show_default=False)] = None,
    sort_by: Annotated[TaskSortBy, typer.Option()] = "created_at",
    order: Annotated[SortOrder | None, typer.Option(help="default: desc (asc for due_date)",
                                                    show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json_output: JsonOption = False,
) -> None:
    """List and search tasks (newest first)."""
    cmd = connect(ctx, json_output)
    page = cmd.client.get("/hub/tasks", status=values(status), queue=queue, tag=tag, priority=values(priority),
                          parent_task_id=parent, top_level=top_level or None, assigned_agent=agent, q=search,
                          sort_by=sort_by, sort_order=order, limit=limit, offset=offset)
    cmd.out.emit("task_page", page, render.task_page)


@app.command("add")
def add_task(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(show_default=False)],
    description: DescriptionOption = None,
    acceptance_criteria: CriteriaOption = None,
    priority: LevelOption = None,
    urgency: LevelOption = None,
    complexity: Annotated[Complexity | None, typer.Option(show_default=False)] = None,
    queue: QueueOption = None,
    source: Annotated[Source | None, typer.Option(help="who asked for it", show_default=False)] = None,
    parent: Annotated[UUID | None, typer.Option(help="make it a subtask (inherits queue and source)",
                                                show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="repeatable", show_default=False)] = None,
    depends_on: Annotated[list[UUID] | None, typer.Option(help="blocked by this task (repeatable)",
                                                          show_default=False)] = None,
    external_ref: TextOption = None,
    due: TimeOption = None,
    defer_until: TimeOption = None,
    assign: AssignOption = None,
    by: ByOption = None,
    comment: CommentOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a task."""
    cmd = connect(ctx, json_output)
    body = without_none({
        "title": title, "description": description, "acceptance_criteria": acceptance_criteria,
        "priority": priority, "urgency": urgency, "complexity": complexity, "queue": queue, "source": source,
        "tags": tag, "external_ref": external_ref, "due_date": due, "defer_until": defer_until,
        "assigned_agent": assign, "changed_by": by, "comment": comment,
        "dependencies": [{"task_id": str(task_id), "kind": "blocks"} for task_id in depends_on or []],
    })
    if parent is not None:
        body = as_subtask(cmd.client.get(task_path(parent)), body)
    cmd.out.emit("task", cmd.client.post("/hub/tasks", body), render.task_detail)


@app.command("show")
def show_task(ctx: typer.Context, task_id: TaskId, json_output: JsonOption = False) -> None:
    """A task with its subtasks, dependencies and history."""
    cmd = connect(ctx, json_output)
    cmd.out.emit("task", cmd.client.get(task_path(task_id)), render.task_detail)


@app.command("update")
def update_task(
    ctx: typer.Context,
    task_id: TaskId,
    title: TextOption = None,
    description: DescriptionOption = None,
    acceptance_criteria: CriteriaOption = None,
    status: Annotated[TaskStatus | None, typer.Option(show_default=False)] = None,
    priority: LevelOption = None,
    urgency: LevelOption = None,
    complexity: Annotated[Complexity | None, typer.Option(show_default=False)] = None,
    queue: QueueOption = None,
    summary: Annotated[str | None, typer.Option(help="the result so far (result_summary)", show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="replaces all tags (repeatable)",
                                                  show_default=False)] = None,
    external_ref: TextOption = None,
    due: TimeOption = None,
    defer_until: TimeOption = None,
    assign: AssignOption = None,
    unassign: Annotated[bool, typer.Option(help="clear the assignment")] = False,
    by: ByOption = None,
    comment: CommentOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change a task; each change goes to its history with --comment (a comment needs a change to go with)."""
    if assign is not None and unassign:
        raise typer.BadParameter("give --assign or --unassign, not both", param_hint="--unassign")
    cmd = connect(ctx, json_output)
    body = without_none({
        "title": title, "description": description, "acceptance_criteria": acceptance_criteria, "status": status,
        "priority": priority, "urgency": urgency, "complexity": complexity, "queue": queue,
        "result_summary": summary, "tags": tag, "external_ref": external_ref, "due_date": due,
        "defer_until": defer_until, "assigned_agent": assign, "changed_by": by, "comment": comment,
    })
    if unassign:
        body["assigned_agent"] = None
    cmd.out.emit("task", cmd.client.patch(task_path(task_id), body), render.task_detail)


@app.command("done")
def finish_task(
    ctx: typer.Context,
    task_id: TaskId,
    summary: Annotated[str, typer.Option(help="what was done: the task's result_summary", show_default=False)],
    by: ByOption = None,
    comment: CommentOption = None,
    json_output: JsonOption = False,
) -> None:
    """Mark a task done with its result summary (its subtasks must be done or cancelled first)."""
    cmd = connect(ctx, json_output)
    body = without_none({"status": "done", "result_summary": summary, "changed_by": by, "comment": comment})
    cmd.out.emit("task", cmd.client.patch(task_path(task_id), body), render.task_detail)


@app.command("reopen")
def reopen_task(ctx: typer.Context, task_id: TaskId, by: ByOption = None, comment: CommentOption = None,
                json_output: JsonOption = False) -> None:
    """Put a done or cancelled task back to pending."""
    cmd = connect(ctx, json_output)
    body = without_none({"changed_by": by, "comment": comment})
    cmd.out.emit("task", cmd.client.post(f"{task_path(task_id)}/reopen", body), render.task_detail)


@app.command("claim")
def claim_task(
    ctx: typer.Context,
    agent: Annotated[str, typer.Option(envvar="JR_AGENT", help="who claims it (your agent name)",
                                       show_default=False)],
    queue: Annotated[str, typer.Option(help="the queue to take from")] = "default",
    json_output: JsonOption = False,
) -> None:
    """Take the queue's next ready task: it becomes in_progress and assigned to you.

    Nothing ready is not an error: exit 0 and "No task is ready" (with --json: data null).
    """
    cmd = connect(ctx, json_output)
    task = cmd.client.post("/hub/tasks/claim", {"queue": queue, "agent": agent})
    cmd.out.emit("task", task, render.claimed_task)


@app.command("ready")
def ready_tasks(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Option(help="one queue (default: all)", show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_output: JsonOption = False,
) -> None:
    """Tasks a claim can take now (pending, not deferred, not blocked), in claim order."""
    cmd = connect(ctx, json_output)
    cmd.out.emit("task_list", cmd.client.get("/hub/tasks/ready", queue=queue, limit=limit), render.ready_tasks)
