"""`jr plan TASK`: split a task into subtasks read from a file or stdin, then print the task tree.

Formats (`--format`, default `auto`):
- `lines`: one subtask title per line; blank lines and lines starting with `#` are skipped.
- `yaml` (JSON is YAML too): a list whose items are titles or objects with the fields of a task
  (`title`, `description`, `acceptance_criteria`, `priority`, `queue`, `tags`, nested `subtasks`, ...),
  or an object `{"subtasks": [...]}`.
- `auto`: `yaml` when the text parses as such a list or object, else `lines`.

Every item is checked before anything is created; subtasks take the task's queue and source unless they give
theirs. Each subtask is one request: if the server refuses one, those already created stay (the error lists them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import typer
import yaml
from pydantic import ValidationError

from hub_extensions.cli import render
from hub_extensions.cli.client import ApiFailure, HubClient, describe, without_none
from hub_extensions.cli.context import JsonOption, connect
from hub_extensions.cli.tasks import ByOption, CommentOption, TaskId, as_subtask, task_path
from hub_extensions.models.tasks import TaskFields

PlanFormat = Literal["auto", "lines", "yaml"]


def read_text(file: Path | None) -> str:
    if file is not None and str(file) != "-":
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise typer.BadParameter(f"cannot read {file}: {error}", param_hint="--file") from None
    if sys.stdin.isatty():
        raise typer.BadParameter("give --file PATH, or pipe the subtasks on stdin", param_hint="--file")
    return sys.stdin.read()


def titles(text: str) -> list[Any]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def structured_items(text: str) -> list[Any] | None:
    """The items of a YAML/JSON plan; None if the text is not one."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and set(document) == {"subtasks"} and isinstance(document["subtasks"], list):
        return document["subtasks"]
    return None


def parse_items(text: str, plan_format: str) -> list[Any]:
    if plan_format == "lines":
        return titles(text)
    items = structured_items(text)
    if items is not None:
        return items
    if plan_format == "yaml":
        raise typer.BadParameter('not a YAML/JSON list of subtasks, nor an object {"subtasks": [...]}',
                                 param_hint="--file")
    return titles(text)


def as_fields(item: Any) -> Any:
    """A title stands for `{"title": title}`, in nested `subtasks` lists too."""
    if isinstance(item, str):
        return {"title": item}
    if isinstance(item, dict) and isinstance(item.get("subtasks"), list):
        return {**item, "subtasks": [as_fields(subtask) for subtask in item["subtasks"]]}
    return item


def checked_subtask(number: int, item: Any) -> dict[str, Any]:
    """The item as a create body (only the fields it gives), or a usage error naming it."""
    fields = as_fields(item)
    if not isinstance(fields, dict):
        raise typer.BadParameter(f"subtask {number}: a title or an object, not {type(item).__name__}",
                                 param_hint="--file")
    try:
        subtask = TaskFields.model_validate(fields)
    except ValidationError as error:
        problems = describe([{"loc": issue["loc"], "msg": issue["msg"]} for issue in error.errors()])
        raise typer.BadParameter(f"subtask {number}: {problems}", param_hint="--file") from None
    return subtask.model_dump(mode="json", exclude_unset=True)


def read_plan(file: Path | None, plan_format: str) -> list[dict[str, Any]]:
    subtasks = [checked_subtask(number, item)
                for number, item in enumerate(parse_items(read_text(file), plan_format), start=1)]
    if not subtasks:
        raise typer.BadParameter("the plan has no subtasks", param_hint="--file")
    return subtasks


def task_tree(client: HubClient, task_id: str) -> dict[str, Any]:
    """The task and its subtasks to any depth (each without its history)."""
    task: dict[str, Any] = client.get(task_path(UUID(task_id)))
    task.pop("history", None)
    task["subtasks"] = [task_tree(client, subtask["id"]) for subtask in task["subtasks"]]
    return task


def create_subtasks(client: HubClient, parent: dict[str, Any], subtasks: list[dict[str, Any]],
                    note: dict[str, Any]) -> list[str]:
    created: list[str] = []
    for subtask in subtasks:
        try:
            created.append(client.post("/hub/tasks", as_subtask(parent, {**subtask, **note}))["id"])
        except ApiFailure as failure:
            error = ApiFailure(failure.status, failure.detail, created=created)
            if created:
                error.message += f" (subtasks created before this error: {', '.join(created)})"
            raise error from None
    return created


def plan(
    ctx: typer.Context,
    task_id: TaskId,
    file: Annotated[Path | None, typer.Option("--file", "-f", dir_okay=False,
                                              help="the plan (default: stdin; - is stdin)", show_default=False)] = None,
    plan_format: Annotated[PlanFormat, typer.Option("--format", help="auto: yaml if it parses as a plan, else lines")
                           ] = "auto",
    by: ByOption = None,
    comment: CommentOption = None,
    json_output: JsonOption = False,
) -> None:
    """Split TASK into subtasks from a file or stdin (one title per line, or a YAML/JSON list); print the tree.

    lines: one subtask title per line (blank lines and lines starting with # are skipped).

    yaml (or JSON): a list of titles or of objects with task fields (title, description, acceptance_criteria,
    priority, urgency, complexity, queue, tags, subtasks, ...), or an object with only a "subtasks" list.

    Subtasks take TASK's queue and source unless they give theirs.
    """
    cmd = connect(ctx, json_output)
    subtasks = read_plan(file, plan_format)
    parent = cmd.client.get(task_path(task_id))  # it exists before anything is created
    created = create_subtasks(cmd.client, parent, subtasks, without_none({"changed_by": by, "comment": comment}))
    cmd.out.emit("task_tree", {"task": task_tree(cmd.client, str(task_id)), "created": created}, render.task_tree)
