"""`open-langgraph`: run the server (`dev` on an embedded PostgreSQL, `serve` in production), run workers
without HTTP (`worker`) and migrate (`db`).

Exit codes: 0 success, 1 runtime failure (database unreachable, ...), 2 bad invocation or configuration.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import logging
import logging.config
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NamedTuple, NoReturn

import psycopg
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from agent_server import __version__
from agent_server.config import ConfigError, ProjectConfig, load_config
from agent_server.settings import Settings, to_libpq_url

APP_FACTORY = "agent_server.app:create_app_from_env"
DEFAULT_CONFIG = Path("open_langgraph.json")
FALLBACK_CONFIG = Path("langgraph.json")
DATA_DIR_NAME = ".open_langgraph"
EXIT_FAILURE = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="open-langgraph",
    help="Open LangGraph Server: the LangGraph Platform / Agent Protocol API on PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="OPEN_LANGGRAPH_CONFIG", dir_okay=False,
        help="Config file (same keys as langgraph.json). Default: ./open_langgraph.json, else ./langgraph.json.",
        show_default=False,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="OPEN_LANGGRAPH_DATA_DIR", file_okay=False,
        help="Folder of the embedded PostgreSQL, used when DATABASE_URL is not set.",
        show_default=False,
    ),
]
AccessLogOption = Annotated[
    bool,
    typer.Option("--access-log/--no-access-log", help="Log one line per HTTP request (costs ~25 us of CPU each)."),
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--n-jobs-per-worker", envvar="OPEN_LANGGRAPH_N_JOBS_PER_WORKER", min=0,
        help="Runs each server process executes at once (0: none, the process only serves the API).",
    ),
]


# Idle keep-alive connections stay open this long. Clients reuse a pooled connection until their own expiry
# (httpx, and so the SDK: 5 s); a server closing at the same moment races them into a ReadError. Load
# balancers keep idle connections 60 s (AWS ALB) and want the server to outlast them.
KEEP_ALIVE_SECONDS = 65


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def require_free_address(host: str, port: int) -> None:
    """Exit with a clear message before anything starts when the address is taken (uvicorn would say only
    'address already in use', after the embedded database had started)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"cannot bind {host}:{port}: {exc.strerror}")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: closing sockets don't count
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"{host}:{port} is already in use: stop what listens there, or choose a port with --port")
            fail(f"cannot bind {host}:{port}: {exc.strerror}")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"open-langgraph {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Open LangGraph Server: the LangGraph Platform / Agent Protocol API on PostgreSQL."""


# --- shared steps -----------------------------------------------------------------------------------------------


def resolve_config_path(path: Path | None) -> Path:
    """The given path, else ./open_langgraph.json, else ./langgraph.json (as left by the LangGraph CLI)."""
    if path is not None:
        return path.resolve()
    if not DEFAULT_CONFIG.exists() and FALLBACK_CONFIG.exists():
        return FALLBACK_CONFIG.resolve()
    return DEFAULT_CONFIG.resolve()


def load_project(path: Path, *, quiet: bool = False) -> ProjectConfig:
    """Load the config or exit with its message; `quiet` leaves warnings to the server process that loads it again."""
    config_logger = logging.getLogger("agent_server.config")
    level = config_logger.level
    if quiet:
        config_logger.setLevel(logging.ERROR)
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        config_logger.setLevel(level)


def settings_from_env() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper()
        fail(f"invalid environment variable {name}: {error['msg'].removeprefix('Value error, ')}")


def database_url_from_env() -> str | None:
    return settings_from_env().database_url


def default_broker_to_postgres() -> str:
    """`serve` and `worker` share runs between processes, so streams must cross them: postgres, unless the user
    chose (OPEN_LANGGRAPH_BROKER, or REDIS_URL for auto). Returns the broker the server processes will use."""
    settings = settings_from_env()
    if "broker" not in settings.model_fields_set and not settings.redis_url:
        export_env(OPEN_LANGGRAPH_BROKER="postgres")
        return "postgres"
    return settings.stream_broker


def describe_database(url: str) -> str:
    """Host, port and database name of a URL; never the password."""
    info = psycopg.conninfo.conninfo_to_dict(to_libpq_url(url))
    return f"PostgreSQL at {info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname', '')}"


class Database(NamedTuple):
    url: str
    description: str
    data_dir: Path | None  # set for the embedded PostgreSQL


@contextmanager
def open_database(data_dir: Path | None, default_data_dir: Path | None) -> Iterator[Database]:
    """DATABASE_URL when set, else the embedded PostgreSQL of the data folder (started here, stopped on exit)."""
    url = database_url_from_env()
    if url:
        if data_dir is not None:
            err_console.print("[yellow]DATABASE_URL is set, so --data-dir is ignored[/]", highlight=False)
        yield Database(url, describe_database(url), data_dir=None)
        return
    folder = data_dir or default_data_dir
    if folder is None:
        fail("set DATABASE_URL to a PostgreSQL URL, or give --data-dir to use the embedded PostgreSQL")
    from agent_server.db.embedded import embedded_postgres, pgdata_dir, postmaster_pid  # imports pgserver

    folder = folder.resolve()
    with console.status("Starting the embedded PostgreSQL..."):
        database = embedded_postgres(folder)
        url = database.__enter__()
    try:
        yield Database(url, f"embedded PostgreSQL, data in {pgdata_dir(folder)}", data_dir=folder)
    finally:
        with signals_ignored():
            database.__exit__(None, None, None)
        if postmaster_pid(folder) is None:
            err_console.print("Stopped the embedded PostgreSQL.")
        else:
            err_console.print("The embedded PostgreSQL keeps running: another process still uses it.")


@contextmanager
def signals_ignored() -> Iterator[None]:
    """Let clean-up finish: a second Ctrl-C or a SIGTERM must not leave the embedded database running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that clean-up (stopping the embedded database) runs.

    Uvicorn handles SIGTERM itself while serving and re-raises it once it has shut down; with our handler in place
    that becomes a KeyboardInterrupt (which uvicorn swallows) instead of the default immediate death.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def log_config() -> dict[str, Any]:
    """Uvicorn's logging, extended to our own loggers (also in reload and worker subprocesses)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["agent_server"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def api_rows(host: str, port: int) -> dict[str, str]:
    url = f"http://{host}:{port}"
    return {"API": url, "Docs": f"{url}/docs"}


def print_banner(mode: str, rows: dict[str, str], database: str, config_path: Path, project: ProjectConfig) -> None:
    graphs = ", ".join(spec.graph_id for spec in project.graphs) or "none"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in {**rows, "Database": database, "Config": str(config_path), "Graphs": graphs}.items():
        grid.add_row(name, value)
    console.print(Panel(grid, title=f"Open LangGraph Server {__version__} · {mode}", expand=False), highlight=False)


def describe_auth(project: ProjectConfig, settings: Settings) -> str | None:
    """How requests are authenticated, as `AuthEngine.from_config` will choose; None when they are not.

    Decided from the config and the environment alone: the CLI does not import the user's auth module.
    """
    if project.auth.path:
        return f"auth.path {project.auth.path}"
    if settings.jwt.configured:
        return "built-in JWT (OPEN_LANGGRAPH_JWT_*)"
    return None


def require_auth(project: ProjectConfig, settings: Settings, *, allow_no_auth: bool) -> str:
    """What the banner shows about auth; exits when none is configured and the user did not accept that."""
    auth = describe_auth(project, settings)
    if auth is not None:
        return auth
    if not allow_no_auth:
        fail("no authentication is configured: every client could read and change every assistant, thread, run "
             "and store item. Either configure it (\"auth\": {\"path\": \"./auth.py:auth\"} in the config, or "
             "OPEN_LANGGRAPH_JWT_SECRET / _PUBLIC_KEY / _JWKS), or pass --allow-no-auth to serve without it "
             "(for example behind a proxy that authenticates).")
    return "none (--allow-no-auth)"


def export_env(**values: str) -> None:
    """What the server process (ours, a reload child or a worker) reads through Settings."""
    os.environ.update(values)


# --- commands ---------------------------------------------------------------------------------------------------


@app.command()
def dev(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 2024,
    data_dir: DataDirOption = None,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="Restart when code changes.")] = True,
    n_jobs_per_worker: JobsOption = 10,
    access_log: AccessLogOption = True,
) -> None:
    """Run a development server; without DATABASE_URL it starts an embedded PostgreSQL (data kept in the folder).

    Each request is logged (--no-access-log turns it off): in development, seeing them is worth their cost.
    """
    config_path = resolve_config_path(config)
    project = load_project(config_path, quiet=True)
    require_free_address(host, port)
    with stop_on_sigterm(), open_database(data_dir, project.base_dir / DATA_DIR_NAME) as database:
        if database.data_dir is not None:  # an external DATABASE_URL stays as the user wrote it
            export_env(DATABASE_URL=database.url, OPEN_LANGGRAPH_DATA_DIR=str(database.data_dir))
        export_env(OPEN_LANGGRAPH_CONFIG=str(config_path), OPEN_LANGGRAPH_N_JOBS_PER_WORKER=str(n_jobs_per_worker),
                   OPEN_LANGGRAPH_DEV_CORS="true")
        print_banner("dev", api_rows(host, port), database.description, config_path, project)
        watch = {str(project.base_dir), *(str(d) for d in project.dependencies if d.is_dir())}
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            reload=reload,
            reload_dirs=sorted(watch) if reload else None,
            reload_includes=["*.py", config_path.name] if reload else None,
            log_config=log_config(),
            access_log=access_log,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    n_jobs_per_worker: JobsOption = 10,
    access_log: AccessLogOption = False,
    allow_no_auth: Annotated[
        bool,
        typer.Option("--allow-no-auth",
                     help="Start even though no authentication is configured (auth.path, OPEN_LANGGRAPH_JWT_*)."),
    ] = False,
) -> None:
    """Run the production server against DATABASE_URL (no reload, no embedded database).

    It refuses to start without authentication (auth.path or OPEN_LANGGRAPH_JWT_*) unless --allow-no-auth.

    Several processes share the runs (--workers, `open-langgraph worker`), so the stream broker defaults to
    postgres here; set OPEN_LANGGRAPH_BROKER (or REDIS_URL) to choose another.
    Requests are not logged unless --access-log: the proxy in front usually logs them, and a line per request
    costs ~25 us of CPU, a sixth of a cheap request's.
    """
    url = database_url_from_env()
    if not url:
        fail("serve needs DATABASE_URL (a PostgreSQL URL); `open-langgraph dev` starts an embedded database instead")
    config_path = resolve_config_path(config)
    project = load_project(config_path, quiet=True)
    auth = require_auth(project, settings_from_env(), allow_no_auth=allow_no_auth)
    require_free_address(host, port)
    broker = default_broker_to_postgres()
    export_env(OPEN_LANGGRAPH_CONFIG=str(config_path), OPEN_LANGGRAPH_N_JOBS_PER_WORKER=str(n_jobs_per_worker))
    jobs = f"{n_jobs_per_worker} per process" if n_jobs_per_worker else "none (API only)"
    rows = {**api_rows(host, port), "Auth": auth, "Jobs": jobs, "Broker": broker}
    print_banner("serve", rows, describe_database(url), config_path, project)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_config=log_config(),
                access_log=access_log, timeout_keep_alive=KEEP_ALIVE_SECONDS)


@app.command()
def worker(
    config: ConfigOption = None,
    n_jobs_per_worker: Annotated[
        int,
        typer.Option("--n-jobs-per-worker", envvar="OPEN_LANGGRAPH_N_JOBS_PER_WORKER", min=1,
                     help="Runs this process executes at once."),
    ] = 10,
) -> None:
    """Run workers only (no HTTP) against DATABASE_URL, beside `serve --n-jobs-per-worker 0` API processes.

    SIGTERM or Ctrl-C stops it gracefully: runs in flight go back to the queue for another worker, and it exits 0.
    The stream broker defaults to postgres, as for serve; set OPEN_LANGGRAPH_BROKER (or REDIS_URL) to choose.
    """
    url = database_url_from_env()
    if not url:
        fail("worker needs DATABASE_URL, the PostgreSQL URL of the API processes it executes runs for")
    config_path = resolve_config_path(config)
    project = load_project(config_path)
    broker = default_broker_to_postgres()
    export_env(OPEN_LANGGRAPH_CONFIG=str(config_path), OPEN_LANGGRAPH_N_JOBS_PER_WORKER=str(n_jobs_per_worker))
    description = describe_database(url)
    print_banner("worker", {"Jobs": f"{n_jobs_per_worker} at once", "Broker": broker}, description, config_path,
                 project)
    run_worker_process(settings_from_env(), project, description)


def run_worker_process(settings: Settings, project: ProjectConfig, description: str) -> None:
    """The workers' loop with the server's logging; a database it cannot use is a runtime failure (exit 1)."""
    from agent_server.workers.main import run_workers  # imports the app, its graphs' libraries and more

    logging.config.dictConfig(log_config())
    try:
        asyncio.run(run_workers(settings, project))
    except (psycopg.Error, SQLAlchemyError, OSError) as exc:
        fail(f"cannot run workers on {description}: {exc}", EXIT_FAILURE)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Migrate our tables (Alembic) and the checkpointer's and store's tables (their setup())."""
    config_path = resolve_config_path(config)
    project = load_project(config_path)
    with open_database(data_dir, None) as database:
        try:
            upgrade_database(database.url, project)
        except (psycopg.Error, SQLAlchemyError) as exc:
            fail(f"cannot upgrade {database.description}: {exc}", EXIT_FAILURE)
    console.print(f"[green]Database is up to date:[/] {database.description}", highlight=False)


def upgrade_database(database_url: str, project: ProjectConfig) -> None:
    """Alembic to head, then LangGraph's own migrations for the checkpointer and the store."""
    from agent_server.app import apply_project_env
    from agent_server.db.engine import open_langgraph_pool
    from agent_server.db.langgraph import open_persistence
    from agent_server.db.migrate import upgrade_schema

    async def setup_langgraph() -> None:
        pool = await open_langgraph_pool(database_url, max_size=2)
        try:
            await open_persistence(pool, project, setup=True)
        finally:
            await pool.close()

    apply_project_env(project)  # an embedding provider may need its API key to be built
    upgrade_schema(database_url)
    asyncio.run(setup_langgraph())
