"""`jr` end to end against a served app with the hub mounted and real Postgres, and GET /hub/status.

The CLI runs through Typer's CliRunner in a thread (its sync httpx calls the server that runs in this event loop),
with JR_URL pointing at the server; two tests run the installed `jr` console script in a subprocess.

Every test works in a queue (and with titles) of its own: the tests share one database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import ServedApp, free_port, hub_config, make_settings
from typer.testing import CliRunner

from agent_server.app import create_app
from agent_server.config import load_config
from hub_extensions.cli.main import app

AUTH_PROJECT = Path(__file__).parent / "auth_project" / "langgraph.json"
JR_SCRIPT = Path(sys.executable).parent / "jr"


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def envelopes(self) -> list[dict[str, Any]]:
        """Every stdout line is one envelope {kind, version: 1, data}; nothing else is on stdout."""
        lines = self.stdout.splitlines()
        assert lines, (self.exit_code, self.stdout, self.stderr)
        documents = [json.loads(line) for line in lines]
        for document in documents:
            assert set(document) == {"kind", "version", "data"}, document
            assert document["version"] == 1
        return documents

    def envelope(self, kind: str) -> Any:
        """The data of the one envelope, which must be of this kind."""
        assert self.exit_code == 0, (self.exit_code, self.stderr)
        (document,) = self.envelopes()
        assert document["kind"] == kind, document
        return document["data"]

    def error(self, exit_code: int) -> dict[str, Any]:
        """A --json failure: stdout empty, one error envelope on stderr."""
        assert self.exit_code == exit_code, (self.exit_code, self.stdout, self.stderr)
        assert self.stdout == ""
        document = json.loads(self.stderr)
        assert (document["kind"], document["version"]) == ("error", 1), document
        assert document["data"]["exit_code"] == exit_code
        data: dict[str, Any] = document["data"]
        return data


def invoke(args: list[str], env: dict[str, str | None], stdin: str | None) -> Outcome:
    result = CliRunner().invoke(app, args, input=stdin, env=env, catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


async def run_jr(url: str, *args: str, stdin: str | None = None, **env: str) -> Outcome:
    variables: dict[str, str | None] = {"JR_URL": url, "JR_TOKEN": None, "JR_AGENT": None, **env}
    return await asyncio.to_thread(invoke, list(args), variables, stdin)


@pytest_asyncio.fixture
async def url(hub_served: ServedApp) -> str:
    return hub_served.url


async def jr(url: str, *args: str, stdin: str | None = None, **env: str) -> Outcome:
    return await run_jr(url, *args, stdin=stdin, **env)


async def jr_json(url: str, kind: str, *args: str, stdin: str | None = None) -> Any:
    return (await jr(url, *args, "--json", stdin=stdin)).envelope(kind)


async def add(url: str, title: str, queue: str, *options: str) -> dict[str, Any]:
    task: dict[str, Any] = await jr_json(url, "task", "tasks", "add", title, "--queue", queue, *options)
    return task


# --- status ------------------------------------------------------------------------------------------------------

async def test_status_reports_health_queue_depths_and_runs(url: str, hub: httpx.AsyncClient) -> None:
    queue = unique()
    blocker = await add(url, "blocker", queue)
    await add(url, "blocked", queue, "--depends-on", blocker["id"])
    await add(url, "deferred", queue, "--defer-until", "2999-01-01T00:00:00Z")
    await add(url, "plain", queue)
    review = await add(url, "to review", queue)
    await jr_json(url, "task", "tasks", "update", review["id"], "--status", "review")
    await jr_json(url, "task", "tasks", "claim", "--queue", queue, "--agent", "worker-1")  # takes `blocker`

    status = await jr_json(url, "status", "status")
    assert status["url"] == url
    assert status["ok"] is True
    assert status["info"]["server"] == "open-langgraph-server"
    assert status["hub"]["tasks"][queue] == {"pending": 3, "ready": 1, "in_progress": 1, "review": 1}
    assert set(status["hub"]["runs"]) == {"pending", "running"}

    human = await jr(url, "status")
    assert human.exit_code == 0, human.stderr
    assert queue in human.stdout
    assert "ok" in human.stdout
    assert human.stderr == ""
    assert (await jr(url, "--json", "status")).envelope("status")["hub"]["tasks"][queue]["ready"] == 1


async def test_hub_status_counts_running_runs(url: str, hub: httpx.AsyncClient) -> None:
    response = await hub.post("/runs", json={"assistant_id": "slow", "input": {"seconds": 3}})
    assert response.status_code == 200, response.text
    run = response.json()
    for _ in range(100):
        current = (await hub.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}")).json()
        if current["status"] == "running":
            break
        await asyncio.sleep(0.05)
    assert current["status"] == "running"
    status = await hub.get("/hub/status")
    assert status.status_code == 200, status.text
    assert status.json()["runs"]["running"] >= 1
    await hub.get(f"/threads/{run['thread_id']}/runs/{run['run_id']}/join")


async def test_hub_status_leaves_out_queues_without_open_tasks(url: str, hub: httpx.AsyncClient) -> None:
    queue = unique()
    task = await add(url, "finished at once", queue)
    await jr_json(url, "task", "tasks", "done", task["id"], "--summary", "nothing to do")
    status = (await hub.get("/hub/status")).json()
    assert queue not in status["tasks"]


# --- tasks -------------------------------------------------------------------------------------------------------

async def test_add_show_update_done_round_trip(url: str) -> None:
    queue = unique()
    task = await add(url, "Write the CLI", queue, "-d", "Typer + Rich", "--criteria", "tests pass", "--priority",
                     "high", "--tag", "cli", "--tag", "hub", "--source", "host_agent", "--assign", "planner",
                     "--by", "ann", "--comment", "from the issue")
    assert (task["title"], task["description"], task["acceptance_criteria"]) == (
        "Write the CLI", "Typer + Rich", "tests pass")
    assert (task["priority"], task["queue"], task["source"], task["assigned_agent"]) == (
        "high", queue, "host_agent", "planner")
    assert task["tags"] == ["cli", "hub"]
    assert task["history"][0]["changed_by"] == "ann"
    assert task["history"][0]["comment"] == "from the issue"

    shown = await jr_json(url, "task", "tasks", "show", task["id"])
    assert shown["id"] == task["id"]
    assert shown["history"] == task["history"]

    updated = await jr_json(url, "task", "tasks", "update", task["id"], "--status", "in_progress", "--summary",
                            "client written", "--comment", "halfway", "--by", "claude")
    assert (updated["status"], updated["result_summary"]) == ("in_progress", "client written")
    latest = updated["history"][-1]
    assert (latest["changed_by"], latest["comment"]) == ("claude", "halfway")

    unassigned = await jr_json(url, "task", "tasks", "update", task["id"], "--unassign", "--tag", "only")
    assert unassigned["assigned_agent"] is None
    assert unassigned["tags"] == ["only"]

    done = await jr_json(url, "task", "tasks", "done", task["id"], "--summary", "shipped", "--comment", "merged")
    assert (done["status"], done["result_summary"]) == ("done", "shipped")
    assert done["completed_at"] is not None
    assert done["history"][-1]["comment"] == "merged"

    reopened = await jr_json(url, "task", "tasks", "reopen", task["id"], "--comment", "regression")
    assert reopened["status"] == "pending"
    assert reopened["completed_at"] is None


async def test_human_output_names_the_task(url: str) -> None:
    queue = unique()
    task = await add(url, "Readable title", queue, "-d", "Some [bold]markup[/bold] stays text")
    shown = await jr(url, "tasks", "show", task["id"])
    assert shown.exit_code == 0
    assert shown.stderr == ""
    assert "Readable title" in shown.stdout
    assert task["id"] in shown.stdout
    assert "Some [bold]markup[/bold] stays text" in shown.stdout
    listed = await jr(url, "tasks", "list", "--queue", queue)
    assert "Readable title" in listed.stdout
    assert task["id"] in listed.stdout


async def test_add_with_parent_takes_the_parents_queue_and_source(url: str) -> None:
    queue = unique()
    parent = await add(url, "parent", queue, "--source", "gateway")
    child = await jr_json(url, "task", "tasks", "add", "child", "--parent", parent["id"])
    assert (child["parent_task_id"], child["queue"], child["source"]) == (parent["id"], queue, "gateway")
    other = await jr_json(url, "task", "tasks", "add", "elsewhere", "--parent", parent["id"], "--queue", "other")
    assert other["queue"] == "other"


async def test_list_filters_and_pages(url: str) -> None:
    queue = unique()
    first = await add(url, "first", queue, "--priority", "low")
    second = await add(url, "second", queue, "--priority", "critical", "--tag", unique("tag"))
    page = await jr_json(url, "task_page", "tasks", "list", "--queue", queue, "--sort-by", "priority")
    assert [task["id"] for task in page["tasks"]] == [second["id"], first["id"]]
    assert page["total"] == 2
    page = await jr_json(url, "task_page", "tasks", "list", "--queue", queue, "--priority", "low", "--priority",
                         "normal", "--limit", "1")
    assert [task["id"] for task in page["tasks"]] == [first["id"]]
    page = await jr_json(url, "task_page", "tasks", "list", "--queue", queue, "--search", "secon")
    assert [task["id"] for task in page["tasks"]] == [second["id"]]
    page = await jr_json(url, "task_page", "tasks", "list", "--queue", queue, "-s", "done")
    assert page == {"tasks": [], "total": 0, "limit": 50, "offset": 0}


async def test_ready_and_claim(url: str) -> None:
    queue = unique()
    low = await add(url, "low", queue, "--priority", "low")
    urgent = await add(url, "urgent", queue, "--priority", "critical")
    ready = await jr_json(url, "task_list", "tasks", "ready", "--queue", queue)
    assert [task["id"] for task in ready] == [urgent["id"], low["id"]]

    claimed = await jr_json(url, "task", "tasks", "claim", "--queue", queue, "--agent", "claude")
    assert (claimed["id"], claimed["status"], claimed["assigned_agent"]) == (urgent["id"], "in_progress", "claude")
    human = await jr(url, "tasks", "claim", "--queue", queue, JR_AGENT="gemini")
    assert human.exit_code == 0
    assert "low" in human.stdout
    assert "@gemini" in human.stdout

    nothing = await jr(url, "tasks", "claim", "--queue", queue, "--agent", "claude", "--json")
    assert nothing.envelope("task") is None
    nothing = await jr(url, "tasks", "claim", "--queue", queue, "--agent", "claude")
    assert (nothing.exit_code, nothing.stdout.strip()) == (0, "No task is ready in this queue.")
    assert await jr_json(url, "task_list", "tasks", "ready", "--queue", queue) == []


# --- plan --------------------------------------------------------------------------------------------------------

def tree_titles(node: dict[str, Any]) -> list[Any]:
    return [node["title"], [tree_titles(subtask) for subtask in node["subtasks"]]]


async def test_plan_from_stdin_one_title_per_line(url: str) -> None:
    queue = unique()
    task = await add(url, "Ship it", queue, "--source", "host_agent")
    plan = await jr_json(url, "task_tree", "plan", task["id"], "--comment", "split",
                         stdin="Write client\n\n# a comment line\n  Write tests  \n")
    assert tree_titles(plan["task"]) == ["Ship it", [["Write client", []], ["Write tests", []]]]
    assert len(plan["created"]) == 2
    subtasks = plan["task"]["subtasks"]
    assert [subtask["id"] for subtask in subtasks] == plan["created"]
    assert {(s["queue"], s["source"], s["parent_task_id"]) for s in subtasks} == {(queue, "host_agent", task["id"])}
    history = (await jr_json(url, "task", "tasks", "show", plan["created"][0]))["history"]
    assert history[0]["comment"] == "split"

    human = await jr(url, "plan", task["id"], stdin="Third\n")
    assert human.exit_code == 0
    assert "Third" in human.stdout
    assert "Write client" in human.stdout


async def test_plan_from_a_yaml_file_with_nested_subtasks(url: str, tmp_path: Path) -> None:
    queue = unique()
    task = await add(url, "Document", queue)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(
        "- title: Write docs\n"
        "  description: README and SKILL.md\n"
        "  acceptance_criteria: examples run\n"
        "  priority: high\n"
        "  tags: [docs]\n"
        "  subtasks:\n"
        "    - README section\n"
        "    - title: SKILL.md\n"
        "      queue: elsewhere\n"
        "- Review\n"
    )
    plan = await jr_json(url, "task_tree", "plan", task["id"], "--file", str(plan_file))
    assert tree_titles(plan["task"]) == [
        "Document", [["Write docs", [["README section", []], ["SKILL.md", []]]], ["Review", []]]]
    docs = plan["task"]["subtasks"][0]
    assert (docs["description"], docs["acceptance_criteria"], docs["priority"], docs["tags"]) == (
        "README and SKILL.md", "examples run", "high", ["docs"])
    assert [subtask["queue"] for subtask in docs["subtasks"]] == [queue, "elsewhere"]


async def test_plan_from_a_json_file(url: str, tmp_path: Path) -> None:
    task = await add(url, "JSON plan", unique())
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"subtasks": [{"title": "one", "complexity": "complex"}, "two"]}))
    plan = await jr_json(url, "task_tree", "plan", task["id"], "-f", str(plan_file), "--format", "yaml")
    assert tree_titles(plan["task"]) == ["JSON plan", [["one", []], ["two", []]]]
    assert plan["task"]["subtasks"][0]["complexity"] == "complex"


async def test_plan_lines_format_takes_yaml_looking_text_as_titles(url: str) -> None:
    task = await add(url, "Literal", unique())
    plan = await jr_json(url, "task_tree", "plan", task["id"], "--format", "lines", stdin="- [ ] check: this\n")
    assert tree_titles(plan["task"]) == ["Literal", [["- [ ] check: this", []]]]


@pytest.mark.parametrize(("plan_text", "message"), [
    ("- title: fine\n- title: bad\n  colour: red\n", "subtask 2: colour: Extra inputs are not permitted"),
    ("- title: ok\n- priority: high\n", "subtask 2: title: Field required"),
    ("- [nested, list]\n", "subtask 1: a title or an object"),
    ("\n# only comments\n", "the plan has no subtasks"),
])
async def test_a_bad_plan_is_a_usage_error_and_creates_nothing(url: str, plan_text: str, message: str) -> None:
    task = await add(url, "Untouched", unique())
    outcome = await jr(url, "plan", task["id"], "--json", stdin=plan_text)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert message in outcome.stderr
    assert (await jr_json(url, "task", "tasks", "show", task["id"]))["subtasks"] == []


async def test_plan_for_a_missing_task_creates_nothing(url: str) -> None:
    missing = str(uuid.uuid4())
    error = (await jr(url, "plan", missing, "--json", stdin="orphan\n")).error(1)
    assert error["status"] == 404
    assert missing in error["detail"]
    page = await jr_json(url, "task_page", "tasks", "list", "--search", "orphan")
    assert all(task["title"] != "orphan" for task in page["tasks"])


async def test_plan_reports_the_subtasks_created_before_a_refusal(url: str) -> None:
    task = await add(url, "Partly planned", unique())
    plan_text = json.dumps([{"title": "made"}, {"title": "refused", "dependencies": [{"task_id": str(uuid.uuid4())}]}])
    error = (await jr(url, "plan", task["id"], "--json", stdin=plan_text)).error(1)
    assert error["status"] == 422
    subtasks = (await jr_json(url, "task", "tasks", "show", task["id"]))["subtasks"]
    assert [subtask["title"] for subtask in subtasks] == ["made"]
    assert error["created"] == [subtasks[0]["id"]]


# --- run ---------------------------------------------------------------------------------------------------------

async def test_run_streams_the_echo_graph_to_the_end(url: str) -> None:
    outcome = await jr(url, "run", "echo", "--message", "hello", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    events = outcome.envelopes()
    assert {document["kind"] for document in events} == {"run_event"}
    names = [document["data"]["event"] for document in events]
    assert names[0] == "metadata"
    assert "values" in names
    assert "error" not in names
    final = [document["data"]["data"] for document in events if document["data"]["event"] == "values"][-1]
    assert [m["content"] for m in final["messages"]] == ["hello", "You said: hello"]

    human = await jr(url, "run", "echo", "-i", '{"messages": [{"role": "human", "content": "hi"}]}',
                     "--stream-mode", "updates", "--context", '{"prefix": "Echo: "}')
    assert human.exit_code == 0, human.stderr
    assert "updates:" in human.stdout
    assert "Echo: hi" in human.stdout


async def test_run_on_a_thread_keeps_the_conversation(url: str, hub: httpx.AsyncClient) -> None:
    thread = (await hub.post("/threads", json={})).json()
    for text in ("one", "two"):
        outcome = await jr(url, "run", "echo", "-m", text, "--thread", thread["thread_id"], "--json")
        assert outcome.exit_code == 0, outcome.stderr
    state = (await hub.get(f"/threads/{thread['thread_id']}/state")).json()
    assert [m["content"] for m in state["values"]["messages"]] == ["one", "You said: one", "two", "You said: two"]


async def test_run_input_from_a_file_and_stdin(url: str, tmp_path: Path) -> None:
    input_file = tmp_path / "input.json"
    input_file.write_text(json.dumps({"messages": [{"role": "human", "content": "from a file"}]}))
    outcome = await jr(url, "run", "echo", "--input", f"@{input_file}", "--json")
    assert "You said: from a file" in outcome.stdout
    outcome = await jr(url, "run", "echo", "--input", "-", "--json",
                       stdin=json.dumps({"messages": [{"role": "human", "content": "from stdin"}]}))
    assert "You said: from stdin" in outcome.stdout


async def test_a_failing_run_exits_1_after_its_error_event(url: str) -> None:
    outcome = await jr(url, "run", "failing", "--input", "{}", "--json")
    assert outcome.exit_code == 1
    events = outcome.envelopes()
    assert events[-1]["data"]["event"] == "error"
    error = json.loads(outcome.stderr)
    assert error["kind"] == "error"
    assert "intentional failure" in error["data"]["message"]


async def test_run_errors(url: str) -> None:
    error = (await jr(url, "run", "no-such-graph", "-m", "hi", "--json")).error(1)
    assert error["status"] == 422
    assert "no-such-graph" in error["detail"]
    usage = await jr(url, "run", "echo", "--input", "{not json", "--json")
    assert usage.exit_code == 2
    assert usage.stdout == ""
    assert "--input" in usage.stderr
    usage = await jr(url, "run", "echo", "--input", "{}", "--message", "hi")
    assert usage.exit_code == 2
    assert "not both" in usage.stderr


# --- models ------------------------------------------------------------------------------------------------------

async def test_models_list_and_resolve(url: str, hub: httpx.AsyncClient) -> None:
    provider = unique("provider")
    model = {"name": unique("model"), "provider": provider, "model_name": "m-1", "capabilities": ["chat"],
             "args": {"api_key": "${JR_TEST_UNSET_KEY}"}, "param_spec": {"map": {"max_tokens": "num_predict"}}}
    assert (await hub.post("/hub/models", json=model)).status_code == 201
    alias = unique("alias")
    assert (await hub.post("/hub/aliases", json={"name": alias, "model": model["name"]})).status_code == 201

    models = await jr_json(url, "model_list", "models", "list", "--provider", provider)
    assert [m["name"] for m in models] == [model["name"]]
    assert await jr_json(url, "model_list", "models", "list", "--provider", provider, "--inactive") == []
    human = await jr(url, "models", "list", "--provider", provider, "--capability", "chat")
    assert model["name"] in human.stdout

    resolved = await jr_json(url, "resolution", "models", "resolve", alias, "--params", '{"max_tokens": 5}')
    (candidate,) = resolved["candidates"]
    assert (resolved["kind"], candidate["model"], candidate["params"]) == ("alias", model["name"],
                                                                          {"num_predict": 5})
    assert candidate["missing_env"] == ["JR_TEST_UNSET_KEY"]
    human = await jr(url, "models", "resolve", alias, "--no-env")
    assert human.exit_code == 0
    assert model["name"] in human.stdout
    assert "${" not in human.stdout

    error = (await jr(url, "models", "resolve", unique("nothing"), "--json")).error(1)
    assert error["status"] == 404


# --- errors, exit codes, authentication --------------------------------------------------------------------------

async def test_api_error_exits_1_with_the_detail_on_stderr_and_nothing_on_stdout(url: str) -> None:
    missing = str(uuid.uuid4())
    error = (await jr(url, "tasks", "show", missing, "--json")).error(1)
    assert error["status"] == 404
    assert error["detail"] == f"Task '{missing}' not found"

    human = await jr(url, "tasks", "show", missing)
    assert (human.exit_code, human.stdout) == (1, "")
    assert f"Task '{missing}' not found" in human.stderr
    assert "404" in human.stderr

    task = await add(url, "open parent", unique())
    await jr_json(url, "task", "tasks", "add", "open child", "--parent", task["id"])
    error = (await jr(url, "tasks", "done", task["id"], "--summary", "too soon", "--json")).error(1)
    assert error["status"] == 409
    assert "subtasks are open" in error["detail"]
    error = (await jr(url, "tasks", "update", task["id"], "--json")).error(1)
    assert error["status"] == 400
    assert "Nothing to update" in error["detail"]
    noted = await jr_json(url, "task", "tasks", "update", task["id"], "--comment", "progress note")
    assert noted["history"][-1]["event_type"] == "comment"
    error = (await jr(url, "tasks", "update", task["id"], "--due", "not a time", "--json")).error(1)
    assert error["status"] == 422
    assert "due_date" in error["message"]


async def test_usage_errors_exit_2(url: str) -> None:
    for args in (["tasks", "show", "not-a-uuid"], ["tasks", "update", str(uuid.uuid4()), "--status", "finished"],
                 ["tasks", "done", str(uuid.uuid4())], ["tasks", "claim"], ["nonsense"],
                 ["tasks", "update", str(uuid.uuid4()), "--assign", "a", "--unassign"]):
        outcome = await jr(url, *args, "--json")
        assert (outcome.exit_code, outcome.stdout) == (2, ""), (args, outcome)
        assert outcome.stderr
    outcome = await jr("not-a-url", "status")
    assert outcome.exit_code == 2
    assert "JR_URL" in outcome.stderr


async def test_unreachable_server_exits_3_naming_jr_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["status"], ["tasks", "list"], ["run", "echo", "-m", "hi"], ["plan", str(uuid.uuid4())]):
        error = (await run_jr(url, *args, "--json", stdin="x\n")).error(3)
        assert f"{url} (set JR_URL" in error["message"], args
    human = await run_jr(url, "tasks", "ready")
    assert (human.exit_code, human.stdout) == (3, "")
    assert "cannot reach the server" in human.stderr
    assert "JR_URL" in human.stderr


@pytest_asyncio.fixture(scope="module")
async def authed_url(database_url: str) -> AsyncIterator[str]:
    """The hub behind the auth project's authenticator (a bearer token names the user)."""
    config = load_config(AUTH_PROJECT).model_copy(update={"http": hub_config().http})
    async with ServedApp(create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)) as app:
        yield app.url


async def test_anonymous_hub_status_is_refused(authed_url: str) -> None:
    async with httpx.AsyncClient(base_url=authed_url) as http:
        assert (await http.get("/hub/status")).status_code == 401
        signed_in = await http.get("/hub/status", headers={"Authorization": "Bearer carol"})
    assert signed_in.status_code == 200, signed_in.text
    assert set(signed_in.json()) == {"tasks", "runs"}


async def test_jr_token_is_sent_as_a_bearer_token(authed_url: str) -> None:
    error = (await run_jr(authed_url, "tasks", "list", "--json")).error(1)
    assert error["status"] == 401
    task = (await run_jr(authed_url, "tasks", "add", "mine", "--queue", unique(), "--json",
                         JR_TOKEN="carol")).envelope("task")
    assert task["history"][0]["changed_by"] == "carol"
    updated = (await run_jr(authed_url, "--token", "dave", "tasks", "update", task["id"], "--priority", "high",
                            "--json")).envelope("task")
    assert [entry["changed_by"] for entry in updated["history"]] == ["carol", "dave"]


# --- the installed console script --------------------------------------------------------------------------------

async def run_script(url: str, *args: str) -> Outcome:
    process = await asyncio.create_subprocess_exec(
        str(JR_SCRIPT), *args, env={"JR_URL": url, "PATH": str(JR_SCRIPT.parent)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


async def test_console_script_speaks_json_and_exit_codes(url: str) -> None:
    assert JR_SCRIPT.exists(), "pip install -e . installs the `jr` script"
    status = (await run_script(url, "status", "--json")).envelope("status")
    assert status["ok"] is True
    outcome = await run_script(url, "tasks", "show", str(uuid.uuid4()), "--json")
    assert outcome.error(1)["status"] == 404
    outcome = await run_script(f"http://127.0.0.1:{free_port()}", "status", "--json")
    assert outcome.error(3)["url"].startswith("http://127.0.0.1:")
    outcome = await run_script(url, "tasks", "show", "nope")
    assert (outcome.exit_code, outcome.stdout) == (2, "")
