"""`jr models ...`: the hub's model registry (list, resolve an alias to the models to call)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub_extensions.cli import render
from hub_extensions.cli.context import JsonOption, connect
from hub_extensions.cli.run import json_value

app = typer.Typer(help="The hub's model registry: list models, resolve an alias.", no_args_is_help=True)


@app.command("list")
def list_models(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option(show_default=False)] = None,
    model_type: Annotated[str | None, typer.Option("--type", help="llm, embedding, ...", show_default=False)] = None,
    capability: Annotated[str | None, typer.Option(help="models with this capability", show_default=False)] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="only active (or inactive) models",
                                                show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json_output: JsonOption = False,
) -> None:
    """List registered models."""
    cmd = connect(ctx, json_output)
    models = cmd.client.get("/hub/models", provider=provider, model_type=model_type, capability=capability,
                            is_active=active, limit=limit, offset=offset)
    cmd.out.emit("model_list", models, render.model_list)


@app.command("resolve")
def resolve_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="an alias name, or else a model name", show_default=False)],
    params: Annotated[str | None, typer.Option(help="call parameters as a JSON object (text, @FILE or -)",
                                               show_default=False)] = None,
    resolve_env: Annotated[bool, typer.Option("--env/--no-env", help="resolve ${ENV} references in args")] = True,
    json_output: JsonOption = False,
) -> None:
    """The models to call for NAME, in order (the alias, then its fallbacks)."""
    cmd = connect(ctx, json_output)
    body = {"name": name, "params": json_value(params, "--params") or {}, "resolve_env": resolve_env}
    cmd.out.emit("resolution", cmd.client.post("/hub/models/resolve", body), render.resolution)
