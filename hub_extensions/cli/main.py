"""The `jr` app: global options, then `status`, `tasks ...`, `plan`, `run` and `models ...`.

Exit codes: 0 success (also `tasks claim` with nothing ready), 1 the server answered an error (its `detail` on
stderr) or a run ended in error, 2 usage error, 3 the server could not be reached.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub_extensions.cli import plan, registry, run, status, tasks
from hub_extensions.cli.client import DEFAULT_URL
from hub_extensions.cli.context import JrGroup, JrSettings, JsonOption

app = typer.Typer(
    name="jr",
    cls=JrGroup,
    help="Work with the hub of an Open LangGraph server: tasks, plans, runs, models, status.\n\n"
         "Exit codes: 0 ok, 1 API error, 2 usage error, 3 server unreachable.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain Click help and one-line usage errors on stderr, easy for agents to read
    pretty_exceptions_enable=False,
)
app.add_typer(tasks.app, name="tasks")
app.add_typer(registry.app, name="models")
app.command("status")(status.status)
app.command("plan")(plan.plan)
app.command("run")(run.run)


def valid_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url / JR_URL")
    return url.rstrip("/")


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar="JR_URL", help="the server", callback=valid_url)] = DEFAULT_URL,
    token: Annotated[str | None, typer.Option(envvar="JR_TOKEN", help="sent as Authorization: Bearer",
                                              show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    ctx.obj = JrSettings(url=url, token=token or None, json_mode=json_output)


if __name__ == "__main__":
    app()
