"""`jr run GRAPH`: start a run of a graph (or assistant) and stream its events until it ends.

Each event is printed as it arrives: `event: <json>` lines, or under `--json` one envelope per line
`{"kind": "run_event", "version": 1, "data": {"event": ..., "data": ...}}`. The stream's last event is `end`
when the run finished; an `error` event makes the command exit 1 after printing it.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, get_args

import httpx
import typer
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import APIConnectionError, APIStatusError
from langgraph_sdk.schema import StreamMode

from hub_extensions.cli import render
from hub_extensions.cli.client import ApiFailure, JrError, Unreachable
from hub_extensions.cli.context import Command, JsonOption, connect

JsonText = Annotated[str | None, typer.Option(help="JSON text, @FILE or - (stdin)", show_default=False)]


StreamModeChoice = Enum("StreamModeChoice", {mode: mode for mode in get_args(StreamMode)}, type=str)  # type: ignore[misc]


class RunFailed(JrError):
    """The run reported an `error` event."""


def json_value(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        if value == "-":
            text = sys.stdin.read()
        elif value.startswith("@"):
            text = Path(value[1:]).read_text(encoding="utf-8")
        else:
            text = value
        return json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise typer.BadParameter(f"not JSON (text, @FILE or -): {error}", param_hint=option) from None


def run_input(input_json: str | None, message: str | None) -> Any:
    if input_json is not None and message is not None:
        raise typer.BadParameter("give --input or --message, not both", param_hint="--message")
    if message is not None:
        return {"messages": [{"role": "human", "content": message}]}
    return json_value(input_json, "--input")


def stream_events(cmd: Command, thread: str | None, graph: str, **run: Any) -> dict[str, Any] | None:
    """Print each event as it comes; the data of the run's `error` event, if it sent one."""
    failure: dict[str, Any] | None = None
    with cmd.client.streaming_http() as http:
        for part in SyncLangGraphClient(http).runs.stream(thread, graph, **run):
            cmd.out.emit("run_event", {"event": part.event, "data": part.data}, render.run_event)
            if part.event == "error":
                failure = part.data if isinstance(part.data, dict) else {"message": part.data}
    return failure


def run(
    ctx: typer.Context,
    graph: Annotated[str, typer.Argument(help="a graph id or an assistant id", show_default=False)],
    input_json: Annotated[str | None, typer.Option("--input", "-i", help="the run's input: JSON text, @FILE or -",
                                                   show_default=False)] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help='shorthand for --input '
                                                '\'{"messages": [{"role": "human", "content": MESSAGE}]}\'',
                                                show_default=False)] = None,
    thread: Annotated[str | None, typer.Option(help="run on this thread (default: a stateless run)",
                                               show_default=False)] = None,
    stream_mode: Annotated[list[StreamModeChoice] | None, typer.Option(
        help="repeatable  [default: values]", show_default=False)] = None,
    config: JsonText = None,
    context: JsonText = None,
    json_output: JsonOption = False,
) -> None:
    """Start a run and stream its events until it ends (exit 1 if it ends in error)."""
    cmd = connect(ctx, json_output)
    modes = [mode.value for mode in stream_mode or []] or ["values"]
    run_args = {"input": run_input(input_json, message), "stream_mode": modes,
                "config": json_value(config, "--config"), "context": json_value(context, "--context")}
    try:
        failure = stream_events(cmd, thread, graph, **run_args)
    except APIStatusError as error:
        body = error.body
        detail = body.get("detail", body) if isinstance(body, dict) else body or error.message
        raise ApiFailure(error.status_code, detail) from None
    except (httpx.TransportError, APIConnectionError) as error:
        raise Unreachable(cmd.client.url, error) from None
    if failure is not None:
        raise RunFailed(f"the run ended in error: {failure.get('error', '')} {failure.get('message', '')}".strip(),
                        error=failure)
