"""Human renderings of the hub's answers (Rich). User text is printed as text, never as Rich markup."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

STATUS_STYLE = {"pending": "yellow", "in_progress": "cyan", "review": "magenta", "done": "green",
                "cancelled": "dim"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def task_line(task: dict[str, Any]) -> Text:
    """`[status] title  (priority, queue, @agent)  id`."""
    line = Text("[").append_text(status_text(task["status"])).append("] ").append(task["title"], style="bold")
    line.append(f"  ({task['priority']}, {task['queue']}", style="dim")
    if task.get("assigned_agent"):
        line.append(f", @{task['assigned_agent']}", style="dim")
    return line.append(")  ", style="dim").append(task["id"], style="dim")


def tasks_table(console: Console, tasks: list[dict[str, Any]], *, empty: str = "No tasks.") -> None:
    """One line per task (the id last, so that titles keep the width)."""
    if not tasks:
        console.print(empty, markup=False)
    for task in tasks:
        console.print(task_line(task))


def task_page(console: Console, page: dict[str, Any]) -> None:
    tasks_table(console, page["tasks"])
    shown = len(page["tasks"])
    if page["total"] > shown:
        console.print(f"{shown} of {page['total']} (offset {page['offset']}; --limit/--offset for more)",
                      style="dim")


def ready_tasks(console: Console, tasks: list[dict[str, Any]]) -> None:
    tasks_table(console, tasks, empty="No task is ready.")


def field(console: Console, name: str, value: Any) -> None:
    if value not in (None, "", []):
        console.print(Text(f"{name}: ", style="bold").append(", ".join(value) if isinstance(value, list)
                                                               else str(value)))


def section(console: Console, name: str, text: str | None) -> None:
    if text:
        console.print(Text(name, style="bold underline"))
        console.print(text, markup=False)


def task_detail(console: Console, task: dict[str, Any]) -> None:
    console.print(task_line(task))
    for name in ("assigned_agent", "urgency", "complexity", "source", "parent_task_id", "external_ref", "tags",
                 "due_date", "defer_until", "completed_at", "created_at", "updated_at"):
        field(console, name, task.get(name))
    section(console, "Description", task.get("description"))
    section(console, "Acceptance criteria", task.get("acceptance_criteria"))
    section(console, "Result", task.get("result_summary"))
    if task.get("subtasks"):
        console.print(Text("Subtasks", style="bold underline"))
        for subtask in task["subtasks"]:
            console.print(task_line(subtask))
    for name in ("dependencies", "dependents"):
        if task.get(name):
            console.print(Text(name.capitalize(), style="bold underline"))
            for edge in task[name]:
                console.print(Text(f"{edge['kind']}: ").append_text(status_text(edge["status"]))
                              .append(f" {edge['title']}  {edge['task_id']}"))
    if task.get("history"):
        console.print(Text("History", style="bold underline"))
        for entry in task["history"]:
            console.print(history_line(entry))


def history_line(entry: dict[str, Any]) -> Text:
    line = Text(f"{entry['created_at']}  {entry['changed_by']}  {entry['event_type']}", style="")
    if entry.get("field") and entry["event_type"] != "created":
        line.append(f" {entry['field']}: {entry.get('previous_value')} -> {entry.get('new_value')}")
    elif entry["event_type"] == "created":
        line.append(f" ({entry.get('new_value')})")
    if entry.get("comment"):
        line.append(f"  # {entry['comment']}", style="italic")
    return line


def claimed_task(console: Console, task: dict[str, Any] | None) -> None:
    if task is None:
        console.print("No task is ready in this queue.", markup=False)
    else:
        task_detail(console, task)


def _tree_branch(branch: Tree, task: dict[str, Any]) -> None:
    for subtask in task.get("subtasks", []):
        _tree_branch(branch.add(task_line(subtask)), subtask)


def task_tree(console: Console, plan: dict[str, Any]) -> None:
    root = Tree(task_line(plan["task"]))
    _tree_branch(root, plan["task"])
    console.print(root)
    console.print(f"{len(plan['created'])} subtask(s) created.", style="dim")


def server_status(console: Console, status: dict[str, Any]) -> None:
    info = status["info"]
    console.print(Text("server: ", style="bold").append(f"{status['url']} ok  ")
                  .append(f"{info.get('server', '?')} {info.get('version', '?')}, "
                          f"graphs: {', '.join(info.get('graphs', [])) or '-'}", style="dim"))
    hub = status["hub"]
    if hub is None:
        console.print("hub: not mounted on this server (no /hub/status)", markup=False)
        return
    console.print(Text("runs: ", style="bold").append(f"{hub['runs']['pending']} pending, "
                                                       f"{hub['runs']['running']} running"))
    if not hub["tasks"]:
        console.print(Text("tasks: ", style="bold").append("no open tasks"))
        return
    table = Table("queue", "pending", "ready", "in_progress", "review", box=None, pad_edge=False)
    for queue, depth in hub["tasks"].items():
        table.add_row(Text(queue), *(str(depth[name]) for name in ("pending", "ready", "in_progress", "review")))
    console.print(table)


def model_list(console: Console, models: list[dict[str, Any]]) -> None:
    """One line per model: `name  provider/model_name  (type[, inactive])  capabilities`."""
    if not models:
        console.print("No models.", markup=False)
    for model in models:
        line = Text(model["name"], style="bold").append(f"  {model['provider']}/{model['model_name']}")
        line.append(f"  ({model['model_type']}{'' if model['is_active'] else ', inactive'})", style="dim")
        if model["capabilities"]:
            line.append(f"  {', '.join(model['capabilities'])}")
        console.print(line)


def resolution(console: Console, resolved: dict[str, Any]) -> None:
    """The candidates in calling order; their args are left out (they may hold resolved secrets: see --json)."""
    console.print(Text(f"{resolved['kind']} {resolved['name']}", style="bold"))
    for number, candidate in enumerate(resolved["candidates"], start=1):
        line = Text(f"{number}. ").append(f"{candidate['alias'] or '-'} -> ").append(candidate["model"], style="bold")
        line.append(f"  {candidate['provider']}/{candidate['model_name']}")
        if candidate["params"]:
            line.append(f"  params {json.dumps(candidate['params'], ensure_ascii=False)}", style="dim")
        if candidate["missing_env"]:
            line.append(f"  missing env: {', '.join(candidate['missing_env'])}", style="yellow")
        console.print(line)
    for skipped in resolved["skipped"]:
        console.print(Text(f"skipped {skipped['alias'] or '-'} -> {skipped['model']}: {skipped['reason']}",
                           style="dim"))


def run_event(console: Console, part: dict[str, Any]) -> None:
    console.print(Text(f"{part['event']}: ", style="bold cyan")
                  .append(json.dumps(part["data"], ensure_ascii=False, default=str)))
