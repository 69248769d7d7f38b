"""`jr status`: the server's health (/ok, /info) and the hub's queue depths and runs (/hub/status)."""

from __future__ import annotations

from typing import Any

import typer

from hub_extensions.cli import render
from hub_extensions.cli.client import ApiFailure, HubClient
from hub_extensions.cli.context import JsonOption, connect


def hub_status(client: HubClient) -> dict[str, Any] | None:
    """None when the server does not mount the hub."""
    try:
        status: dict[str, Any] = client.get("/hub/status")
    except ApiFailure as failure:
        if failure.status == 404:
            return None
        raise
    return status


def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Server health, open tasks per queue (pending, ready, in progress, review) and pending/running runs."""
    cmd = connect(ctx, json_output)
    report = {"url": cmd.client.url, "ok": cmd.client.get("/ok").get("ok") is True, "info": cmd.client.get("/info"),
              "hub": hub_status(cmd.client)}
    cmd.out.emit("status", report, render.server_status)
