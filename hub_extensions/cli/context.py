"""What every `jr` command shares: the global options, the `--json` flag, the client, and turning `JrError`s
into a message on stderr and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from hub_extensions.cli.client import HubClient, JrError
from hub_extensions.cli.output import Output

JsonOption = Annotated[bool, typer.Option(
    "--json", help='Print only JSON on stdout: {"kind", "version": 1, "data"}; errors as JSON on stderr.')]


@dataclass
class JrSettings:
    url: str
    token: str | None
    json_mode: bool


class JrGroup(TyperGroup):
    """The root command: a `JrError` raised anywhere below is reported on stderr and sets the exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except JrError as error:
            settings = ctx.find_object(JrSettings)
            Output(settings.json_mode if settings else False).error(error)
            raise typer.Exit(error.exit_code) from None


@dataclass
class Command:
    client: HubClient
    out: Output


def connect(ctx: typer.Context, json_flag: bool) -> Command:
    """The running command's client and output; the client closes when the command ends."""
    settings = ctx.find_object(JrSettings)
    if settings is None:
        raise RuntimeError("jr commands run under the `jr` app, whose callback reads the global options")
    settings.json_mode = settings.json_mode or json_flag
    client = HubClient(settings.url, settings.token)
    ctx.call_on_close(client.close)
    return Command(client, Output(settings.json_mode))
