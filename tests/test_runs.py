"""Runs through langgraph-sdk and httpx: background, wait, stream, join, cancel, multitask, HITL, errors."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
import pytest
from helpers import assert_error, sse_frames
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

HI = {"messages": [{"role": "human", "content": "hi"}]}


async def wait_status(client: LangGraphClient, thread_id: str, run_id: str, statuses: set[str],
                      timeout: float = 15) -> dict:
    for _ in range(int(timeout / 0.05)):
        run = await client.runs.get(thread_id, run_id)
        if run["status"] in statuses:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}")


async def test_background_run_then_join(client: LangGraphClient) -> None:
    t = await client.threads.create()
    run = await client.runs.create(t["thread_id"], "echo", input=HI)
    assert run["status"] in ("pending", "running")
    result = await client.runs.join(t["thread_id"], run["run_id"])
    assert [m["content"] for m in result["messages"]] == ["hi", "You said: hi"]
    final = await client.runs.get(t["thread_id"], run["run_id"])
    assert final["status"] == "success"
    thread = await client.threads.get(t["thread_id"])
    assert thread["status"] == "idle"
    assert thread["metadata"]["graph_id"] == "echo"
    assert len(thread["values"]["messages"]) == 2


async def test_wait_stateless_and_thread_deleted(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    response = await http.post("/runs/wait", json={"assistant_id": "plain", "input": {"value": "x"}})
    assert response.status_code == 200
    assert response.json() == {"value": "x", "steps": ["a", "b", "c"]}
    thread_id = response.headers["content-location"].split("/")[2]
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)


async def test_stream_values_and_updates(client: LangGraphClient) -> None:
    t = await client.threads.create()
    parts = [p async for p in client.runs.stream(t["thread_id"], "plain", input={"value": "s"},
                                                  stream_mode=["values", "updates"])]
    names = [p.event for p in parts]
    assert names[0] == "metadata"
    assert names.count("updates") == 3
    assert parts[-1].event == "values"
    assert parts[-1].data == {"value": "s", "steps": ["a", "b", "c"]}


async def test_failing_run_reports_error(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = await client.threads.create()
    result = await client.runs.wait(t["thread_id"], "failing", input={}, raise_error=False)
    assert result["__error__"] == {"error": "ValueError", "message": "intentional failure"}
    assert (await client.threads.get(t["thread_id"]))["status"] == "error"
    parts = [p async for p in client.runs.stream(None, "failing", input={}, stream_mode="updates")]
    assert parts[-1].event == "error"
    assert parts[-1].data == {"error": "ValueError", "message": "intentional failure"}


async def test_interrupt_then_resume(client: LangGraphClient) -> None:
    t = await client.threads.create()
    first = await client.runs.wait(t["thread_id"], "interrupt", input={"value": "v"})
    assert first["__interrupt__"][0]["value"] == {"question": "approve?", "value": "v"}
    thread = await client.threads.get(t["thread_id"])
    assert thread["status"] == "interrupted"
    assert thread["interrupts"]
    resumed = await client.runs.wait(t["thread_id"], "interrupt", command={"resume": "yes"})
    assert resumed["steps"] == ["a", "b:yes", "c"]
    assert (await client.threads.get(t["thread_id"]))["status"] == "idle"


async def test_cancel_running_run_interrupts_it(client: LangGraphClient) -> None:
    t = await client.threads.create()
    run = await client.runs.create(t["thread_id"], "slow", input={"tag": "long", "seconds": 30})
    await wait_status(client, t["thread_id"], run["run_id"], {"running"})
    await client.runs.cancel(t["thread_id"], run["run_id"], wait=True)
    final = await client.runs.get(t["thread_id"], run["run_id"])
    assert final["status"] == "interrupted"
    assert (await client.threads.get(t["thread_id"]))["status"] != "busy"


async def test_enqueue_runs_in_order_and_reject_when_busy(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = await client.threads.create()
    first = await client.runs.create(t["thread_id"], "slow", input={"tag": "1", "seconds": 0.3})
    second = await client.runs.create(t["thread_id"], "slow", input={"tag": "2", "seconds": 0})
    rejected = await http.post(f"/threads/{t['thread_id']}/runs",
                               json={"assistant_id": "slow", "multitask_strategy": "reject"})
    assert_error(rejected, 409)
    await client.runs.join(t["thread_id"], second["run_id"])
    state = await client.threads.get_state(t["thread_id"])
    assert state["values"]["log"] == ["1", "2"]
    assert (await client.runs.get(t["thread_id"], first["run_id"]))["status"] == "success"


async def test_unknown_thread_and_assistant(http: httpx.AsyncClient) -> None:
    assert_error(await http.post(f"/threads/{uuid.uuid4()}/runs", json={"assistant_id": "plain"}), 404)
    t = (await http.post("/threads", json={})).json()
    assert_error(await http.post(f"/threads/{t['thread_id']}/runs", json={"assistant_id": str(uuid.uuid4())}), 404)
    assert_error(await http.post(f"/threads/{t['thread_id']}/runs",
                                 json={"assistant_id": "plain", "stream_mode": "bogus"}), 422)
    assert_error(await http.get(f"/threads/{t['thread_id']}/runs/{uuid.uuid4()}"), 404)


async def test_a_run_refused_for_its_assistant_leaves_the_thread_as_it_was(http: httpx.AsyncClient) -> None:
    t = (await http.post("/threads", json={"metadata": {"owner": "a"}})).json()
    assert_error(await http.post(f"/threads/{t['thread_id']}/runs", json={"assistant_id": str(uuid.uuid4())}), 404)
    after = (await http.get(f"/threads/{t['thread_id']}")).json()
    assert (after["status"], after["metadata"]) == ("idle", {"owner": "a"})
    assert (await http.get(f"/threads/{t['thread_id']}/runs")).json() == []


async def test_if_not_exists_create_makes_the_missing_thread(client: LangGraphClient) -> None:
    thread_id = str(uuid.uuid4())
    output = await client.runs.wait(thread_id, "plain", input={"value": "new"}, if_not_exists="create")
    assert output["value"] == "new"
    thread = await client.threads.get(thread_id)
    assert (thread["status"], thread["metadata"]["graph_id"]) == ("idle", "plain")


async def test_rollback_deletes_the_run_and_its_checkpoints(client: LangGraphClient) -> None:
    t = await client.threads.create()
    await client.runs.wait(t["thread_id"], "slow", input={"tag": "kept", "seconds": 0})
    history_before = await client.threads.get_history(t["thread_id"], limit=100)
    run = await client.runs.create(t["thread_id"], "slow", input={"tag": "gone", "seconds": 30})
    await wait_status(client, t["thread_id"], run["run_id"], {"running"})
    await asyncio.sleep(0.2)  # let the run write its input checkpoint
    await client.runs.cancel(t["thread_id"], run["run_id"], wait=True, action="rollback")
    with pytest.raises(NotFoundError):
        await client.runs.get(t["thread_id"], run["run_id"])
    history_after = await client.threads.get_history(t["thread_id"], limit=100)
    assert [h["checkpoint"]["checkpoint_id"] for h in history_after] == [
        h["checkpoint"]["checkpoint_id"] for h in history_before
    ]
    assert (await client.threads.get_state(t["thread_id"]))["values"]["log"] == ["kept"]


async def test_interrupt_strategy_cancels_the_running_run(client: LangGraphClient) -> None:
    t = await client.threads.create()
    first = await client.runs.create(t["thread_id"], "slow", input={"tag": "first", "seconds": 30})
    await wait_status(client, t["thread_id"], first["run_id"], {"running"})
    second = await client.runs.create(t["thread_id"], "slow", input={"tag": "second", "seconds": 0},
                                      multitask_strategy="interrupt")
    await client.runs.join(t["thread_id"], second["run_id"])
    assert (await client.runs.get(t["thread_id"], first["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(t["thread_id"], second["run_id"]))["status"] == "success"


async def test_webhook_receives_the_final_run_and_a_failing_one_does_not_fail_it(
    client: LangGraphClient,
) -> None:
    received: list[bytes] = []
    got = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
        received.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        got.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        t = await client.threads.create()
        run = await client.runs.create(t["thread_id"], "plain", input={"value": "hook"},
                                       webhook=f"http://127.0.0.1:{port}/hook")
        await asyncio.wait_for(got.wait(), timeout=15)
        body = orjson.loads(received[0])
        assert body["run_id"] == run["run_id"]
        assert body["status"] == "success"
        assert body["values"] == {"value": "hook", "steps": ["a", "b", "c"]}
    finally:
        server.close()
    dead = await client.runs.create(None, "plain", input={"value": "x"}, on_completion="keep",
                                    webhook="http://127.0.0.1:9/unreachable")
    await client.runs.join(dead["thread_id"], dead["run_id"])
    assert (await client.runs.get(dead["thread_id"], dead["run_id"]))["status"] == "success"


async def test_batch_and_bad_webhook(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    runs = await client.runs.create_batch([
        {"assistant_id": "plain", "input": {"value": "b1"}, "on_completion": "keep"},
        {"assistant_id": "plain", "input": {"value": "b2"}, "on_completion": "keep"},
    ])
    assert [(await client.runs.join(r["thread_id"], r["run_id"]))["value"] for r in runs] == ["b1", "b2"]
    assert_error(await http.post("/runs", json={"assistant_id": "plain", "webhook": "ftp://x"}), 422)
    assert_error(await http.post("/runs/wait", json={"assistant_id": "interrupt", "command": {"resume": 1}}), 400)
    assert_error(await http.post("/runs", json={"assistant_id": "plain", "after_seconds": -1}), 422)


async def test_disconnect_with_on_disconnect_cancel_interrupts_the_run(client: LangGraphClient) -> None:
    t = await client.threads.create()
    run_id = None
    async for part in client.runs.stream(t["thread_id"], "slow", input={"tag": "dc", "seconds": 30},
                                         stream_mode="custom", on_disconnect="cancel"):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        if part.event == "custom":
            break
    assert run_id is not None
    final = await wait_status(client, t["thread_id"], run_id, {"interrupted", "success", "error"})
    assert final["status"] == "interrupted"


async def test_thread_stream_follows_the_active_run(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = await client.threads.create()
    await client.runs.create(t["thread_id"], "slow", input={"tag": "ts", "seconds": 0.3}, stream_mode="custom")
    parts = [p async for p in await client.threads.join_stream(t["thread_id"])]
    assert [p.event for p in parts][0] == "metadata"
    assert any(p.event == "custom" and p.data["tag"] == "ts" for p in parts)
    assert_error(await http.get(f"/threads/{uuid.uuid4()}/stream"), 404)
    assert_error(await http.get(f"/threads/{t['thread_id']}/stream", headers={"Last-Event-ID": "-3"}), 422)


async def test_enqueued_runs_execute_in_creation_order(client: LangGraphClient) -> None:
    t = await client.threads.create()
    tags = [str(i) for i in range(6)]
    runs = [await client.runs.create(t["thread_id"], "slow", input={"tag": tag, "seconds": 0.02}) for tag in tags]
    await client.runs.join(t["thread_id"], runs[-1]["run_id"])
    assert (await client.threads.get_state(t["thread_id"]))["values"]["log"] == tags
    finished = [await client.runs.get(t["thread_id"], r["run_id"]) for r in runs]
    assert [r["status"] for r in finished] == ["success"] * len(tags)


async def test_concurrent_resumes_of_one_interrupt_execute_once(client: LangGraphClient) -> None:
    t = await client.threads.create()
    await client.runs.wait(t["thread_id"], "interrupt", input={"value": "v"})
    answers = ["first", "second"]
    results = await asyncio.gather(*(
        client.runs.wait(t["thread_id"], "interrupt", command={"resume": answer}, multitask_strategy="reject",
                         raise_error=False)
        for answer in answers
    ), return_exceptions=True)
    outcomes = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, httpx.HTTPStatusError) and r.response.status_code == 409]
    assert (len(outcomes), len(conflicts)) == (1, 1)
    steps = (await client.threads.get_state(t["thread_id"]))["values"]["steps"]
    assert [s for s in steps if s.startswith("b:")] in (["b:first"], ["b:second"])
    assert (await client.threads.get(t["thread_id"]))["status"] == "idle"


async def test_concurrent_enqueued_resumes_consume_the_interrupt_once(client: LangGraphClient) -> None:
    t = await client.threads.create()
    await client.runs.wait(t["thread_id"], "interrupt", input={"value": "v"})
    created = await asyncio.gather(*(
        client.runs.create(t["thread_id"], "interrupt", command={"resume": answer}) for answer in ("x", "y")
    ))
    for run in created:
        await client.runs.join(t["thread_id"], run["run_id"])
    steps = (await client.threads.get_state(t["thread_id"]))["values"]["steps"]
    assert [s for s in steps if s.startswith("b:")] in (["b:x"], ["b:y"])
    assert steps.count("c") == 1


async def test_events_mode_alongside_other_modes(client: LangGraphClient) -> None:
    t = await client.threads.create()
    parts = [p async for p in client.runs.stream(t["thread_id"], "plain", input={"value": "e"},
                                                  stream_mode=["events", "values", "updates"])]
    names = [p.event for p in parts]
    assert names[0] == "metadata"
    assert names.count("updates") == 3
    assert [p.data for p in parts if p.event == "values"][-1] == {"value": "e", "steps": ["a", "b", "c"]}
    events = [p.data for p in parts if p.event == "events"]
    assert {"on_chain_start", "on_chain_stream", "on_chain_end"} <= {e["event"] for e in events}
    assert [e["name"] for e in events if e["event"] == "on_chain_start"] == ["plain", "a", "b", "c"]
    assert not [e for e in events if e["event"] == "on_chain_stream" and not e["parent_ids"]]
    assert (await client.threads.get_state(t["thread_id"]))["values"]["steps"] == ["a", "b", "c"]


@pytest.mark.parametrize(("graph_id", "run_input"), [
    ("plain", {"value": "v"}), ("subgraph", {}), ("echo", HI), ("custom", {}),
])
async def test_thread_after_a_finished_run_holds_the_state_read_back(
    client: LangGraphClient, graph_id: str, run_input: dict
) -> None:
    """A run that ends without an interrupt settles its thread from the stream (no state read): the same fields."""
    t = await client.threads.create()
    await client.runs.wait(t["thread_id"], graph_id, input=run_input)
    thread = await client.threads.get(t["thread_id"])
    state = await client.threads.get_state(t["thread_id"])
    assert state["next"] == []
    assert (thread["status"], thread["interrupts"]) == ("idle", {})
    assert thread["values"] == state["values"]


async def test_static_interrupt_compiled_into_a_subgraph_leaves_the_thread_interrupted(client: LangGraphClient) -> None:
    t = await client.threads.create()
    await client.runs.wait(t["thread_id"], "gated", input={})
    thread = await client.threads.get(t["thread_id"])
    state = await client.threads.get_state(t["thread_id"])
    assert thread["status"] == "interrupted"
    assert state["next"] == ["child"]
    assert thread["values"] == state["values"] == {"trail": ["prepare"], "inner": []}

    await client.runs.wait(t["thread_id"], "gated", input=None)
    thread = await client.threads.get(t["thread_id"])
    assert thread["status"] == "idle"
    assert thread["values"] == {"trail": ["prepare", "finish"], "inner": ["one", "two"]}


async def stream_ids_and_events(http: httpx.AsyncClient, method: str, path: str,
                                **kwargs: object) -> list[tuple[int, str]]:
    async with http.stream(method, path, **kwargs) as response:  # type: ignore[arg-type]
        assert response.status_code == 200
        return [(frame.id, frame.event) for frame in await sse_frames(response)]


async def test_a_streamed_runs_metadata_comes_once_as_event_one_whether_it_started_or_queued(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    """A run started as it was created has its first event sent by the request at once (the worker's copy is
    not sent again); a queued run's comes from its worker. Either way: one metadata, ids 1, 2, 3..."""
    t = await client.threads.create()
    body = {"assistant_id": "plain", "input": {"value": "s"}, "stream_mode": ["updates"], "stream_resumable": True}
    started = await stream_ids_and_events(http, "POST", f"/threads/{t['thread_id']}/runs/stream", json=body)
    assert [event for _, event in started] == ["metadata", "updates", "updates", "updates"]
    assert [seq for seq, _ in started] == [1, 2, 3, 4]

    blocker = await client.runs.create(t["thread_id"], "slow", input={"tag": "q", "seconds": 0.3})
    queued = await stream_ids_and_events(http, "POST", f"/threads/{t['thread_id']}/runs/stream", json=body)
    assert [event for _, event in queued] == ["metadata", "updates", "updates", "updates"]
    assert [seq for seq, _ in queued] == [1, 2, 3, 4]
    await client.runs.join(t["thread_id"], blocker["run_id"])

    runs = await client.runs.list(t["thread_id"])
    first_run = runs[-1]
    resumed = await stream_ids_and_events(http, "GET", f"/threads/{t['thread_id']}/runs/{first_run['run_id']}/stream",
                                          headers={"Last-Event-ID": "1"})
    assert resumed == [(2, "updates"), (3, "updates"), (4, "updates")]
