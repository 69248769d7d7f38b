"""`open-langgraph`: --version, dev (embedded or external database), serve, worker, db upgrade, and clean failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory
from conftest import free_port, scratch_database
from typer.testing import CliRunner

from agent_server import __version__
from agent_server.cli import APP_FACTORY, app
from agent_server.db.embedded import postmaster_pid
from agent_server.db.migrate import alembic_config
from agent_server.db.tables import Base
from agent_server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
LANGGRAPH_TABLES = {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations",
                    "store", "store_migrations"}
# Variables the CLI reads or sets; every invocation starts without them (CliRunner restores them afterwards).
CLEAN_ENV: dict[str, str | None] = {
    "DATABASE_URL": None, "OPEN_LANGGRAPH_CONFIG": None, "OPEN_LANGGRAPH_DATA_DIR": None,
    "OPEN_LANGGRAPH_N_JOBS_PER_WORKER": None, "OPEN_LANGGRAPH_BROKER": None, "REDIS_URL": None,
}

runner = CliRunner()


@pytest.fixture(autouse=True)
def restored_environment() -> Iterator[None]:
    """The commands export their settings into os.environ for uvicorn's factory: keep that inside each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def invoke(args: list[str], **env: str) -> Any:
    return runner.invoke(app, args, env={**CLEAN_ENV, **env})


def write_config(folder: Path, content: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "open_langgraph.json"
    path.write_text(json.dumps(content))
    return path


def chat_config(folder: Path) -> Path:
    """A project elsewhere on disk that registers the repo's chat graph."""
    graphs = {"chat": f"{REPO_ROOT}/graphs/chat.py:graph"}
    return write_config(folder, {"dependencies": [str(REPO_ROOT)], "graphs": graphs})


@pytest.fixture
def fresh_database() -> Iterator[str]:
    with scratch_database("olg_cli") as url:
        yield url


def public_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


# --- version and failures --------------------------------------------------------------------------------------


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"open-langgraph {__version__}"


def test_python_m_agent_server_is_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "agent_server", "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"open-langgraph {__version__}"


def test_serve_refuses_to_start_without_database_url(tmp_path: Path) -> None:
    result = invoke(["serve", "--config", str(chat_config(tmp_path))])
    assert result.exit_code == 2
    assert "serve needs DATABASE_URL" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["dev", "--no-reload"], ["serve"], ["worker"], ["db", "upgrade"]])
def test_bad_config_exits_naming_the_key(tmp_path: Path, database_url: str, command: list[str]) -> None:
    config = write_config(tmp_path, {"graphs": {"g": "./g.py:graph"}, "store": {"index": {"embed": "x", "dims": -1}}})
    result = invoke([*command, "--config", str(config)], DATABASE_URL=database_url)
    assert result.exit_code == 2
    assert "'store.index.dims'" in result.stderr
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_missing_config_and_config_from_environment(tmp_path: Path, database_url: str) -> None:
    result = invoke(["db", "upgrade", "--config", str(tmp_path / "nope.json")], DATABASE_URL=database_url)
    assert result.exit_code == 2
    assert "config file not found" in result.stderr
    result = invoke(["db", "upgrade"], DATABASE_URL=database_url, OPEN_LANGGRAPH_CONFIG=str(tmp_path / "env.json"))
    assert result.exit_code == 2
    assert "env.json" in result.stderr


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke(["db", "upgrade", "--config", str(chat_config(tmp_path))], DATABASE_URL="mysql://u@h/db")
    assert result.exit_code == 2
    assert "DATABASE_URL must be a PostgreSQL URL" in result.stderr


def test_unreachable_database_fails_with_exit_1(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=3"
    result = invoke(["db", "upgrade", "--config", str(chat_config(tmp_path))], DATABASE_URL=url)
    assert result.exit_code == 1
    assert "cannot upgrade" in result.stderr
    assert "Traceback" not in result.output


# --- how dev and serve start uvicorn ---------------------------------------------------------------------------


class UvicornCall:
    def __init__(self) -> None:
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self.env: dict[str, str] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.env = args, kwargs, dict(os.environ)


@pytest.fixture
def uvicorn_run(monkeypatch: pytest.MonkeyPatch) -> UvicornCall:
    """uvicorn.run recorded instead of run; nothing binds, so whether the port is free does not matter."""
    call = UvicornCall()
    monkeypatch.setattr("agent_server.cli.uvicorn.run", call)
    monkeypatch.setattr("agent_server.cli.require_free_address", lambda host, port: None)
    return call


def test_dev_with_database_url_exports_settings_and_reloads(
    tmp_path: Path, fresh_database: str, uvicorn_run: UvicornCall
) -> None:
    config = chat_config(tmp_path)
    result = invoke(["dev", "--config", str(config), "--port", "2999", "--n-jobs-per-worker", "3"],
                    DATABASE_URL=fresh_database)
    assert result.exit_code == 0, result.output
    assert uvicorn_run.args == (APP_FACTORY,)
    assert uvicorn_run.kwargs["factory"] is True
    assert (uvicorn_run.kwargs["host"], uvicorn_run.kwargs["port"]) == ("127.0.0.1", 2999)
    assert uvicorn_run.kwargs["reload"] is True
    assert str(tmp_path.resolve()) in uvicorn_run.kwargs["reload_dirs"]
    assert uvicorn_run.env["DATABASE_URL"] == fresh_database
    assert uvicorn_run.env["OPEN_LANGGRAPH_CONFIG"] == str(config.resolve())
    assert uvicorn_run.env["OPEN_LANGGRAPH_N_JOBS_PER_WORKER"] == "3"
    assert uvicorn_run.kwargs["access_log"] is True
    assert uvicorn_run.kwargs["timeout_keep_alive"] > 5  # longer than the SDK keeps idle connections
    assert "http://127.0.0.1:2999/docs" in result.stdout
    assert f"PostgreSQL at 127.0.0.1:5432/{fresh_database.rsplit('/', 1)[1]}" in result.stdout
    assert not (tmp_path / ".open_langgraph").exists(), "no embedded database when DATABASE_URL is set"


def test_dev_finds_langgraph_json_when_there_is_no_open_langgraph_json(
    tmp_path: Path, fresh_database: str, uvicorn_run: UvicornCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = chat_config(tmp_path).rename(tmp_path / "langgraph.json")
    monkeypatch.chdir(tmp_path)
    result = invoke(["dev", "--no-reload", "--no-access-log"], DATABASE_URL=fresh_database)
    assert result.exit_code == 0, result.output
    assert uvicorn_run.env["OPEN_LANGGRAPH_CONFIG"] == str(config.resolve())
    assert uvicorn_run.kwargs["reload"] is False
    assert uvicorn_run.kwargs["access_log"] is False


def test_serve_runs_workers_without_reload(tmp_path: Path, fresh_database: str, uvicorn_run: UvicornCall) -> None:
    result = invoke(["serve", "--config", str(chat_config(tmp_path)), "--workers", "3", "--allow-no-auth"],
                    DATABASE_URL=fresh_database)
    assert result.exit_code == 0, result.output
    assert uvicorn_run.args == (APP_FACTORY,)
    kwargs = uvicorn_run.kwargs
    assert (kwargs["factory"], kwargs["host"], kwargs["port"], kwargs["workers"]) == (True, "0.0.0.0", 8000, 3)
    assert kwargs.get("reload", False) is False
    assert kwargs["access_log"] is False
    assert kwargs["timeout_keep_alive"] > 5
    assert uvicorn_run.env["OPEN_LANGGRAPH_N_JOBS_PER_WORKER"] == "10"


@pytest.mark.parametrize(("env", "broker"), [
    ({}, "postgres"),
    ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis"),
    ({"OPEN_LANGGRAPH_BROKER": "memory"}, "memory"),
], ids=["default", "redis-url", "chosen"])
def test_serve_defaults_the_broker_to_postgres_unless_chosen(
    tmp_path: Path, database_url: str, uvicorn_run: UvicornCall, env: dict[str, str], broker: str
) -> None:
    result = invoke(["serve", "--config", str(chat_config(tmp_path)), "--allow-no-auth"], DATABASE_URL=database_url,
                    **env)
    assert result.exit_code == 0, result.output
    assert Settings.model_validate(uvicorn_run.env).stream_broker == broker
    assert f"Broker    {broker}" in result.stdout


# --- worker ----------------------------------------------------------------------------------------------------


class WorkersCall:
    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.project: Any = None

    async def __call__(self, settings: Settings, project: Any) -> None:
        self.settings, self.project = settings, project


@pytest.fixture
def run_workers(monkeypatch: pytest.MonkeyPatch) -> WorkersCall:
    """The worker's loop, recorded instead of run (and the process's logging left alone)."""
    call = WorkersCall()
    monkeypatch.setattr("agent_server.workers.main.run_workers", call)
    monkeypatch.setattr("logging.config.dictConfig", lambda config: None)
    return call


def test_worker_refuses_to_start_without_database_url(tmp_path: Path) -> None:
    result = invoke(["worker", "--config", str(chat_config(tmp_path))])
    assert result.exit_code == 2
    assert "worker needs DATABASE_URL" in result.stderr
    assert "Traceback" not in result.output


def test_worker_needs_at_least_one_job(tmp_path: Path, database_url: str) -> None:
    result = invoke(["worker", "--config", str(chat_config(tmp_path)), "--n-jobs-per-worker", "0"],
                    DATABASE_URL=database_url)
    assert result.exit_code == 2
    assert "--n-jobs-per-worker" in result.stderr


def test_worker_runs_its_jobs_on_the_postgres_broker(tmp_path: Path, database_url: str,
                                                     run_workers: WorkersCall) -> None:
    config = chat_config(tmp_path)
    result = invoke(["worker", "--config", str(config), "--n-jobs-per-worker", "3"], DATABASE_URL=database_url)
    assert result.exit_code == 0, result.output
    assert run_workers.settings is not None
    assert run_workers.settings.n_jobs_per_worker == 3
    assert run_workers.settings.stream_broker == "postgres"
    assert run_workers.settings.database_url == Settings.model_validate({"database_url": database_url}).database_url
    assert [spec.graph_id for spec in run_workers.project.graphs] == ["chat"]
    assert run_workers.project.base_dir == config.parent.resolve()
    for shown in ("· worker", "Jobs      3 at once", "Broker    postgres",
                  f"PostgreSQL at 127.0.0.1:5432/{database_url.rsplit('/', 1)[1]}"):
        assert shown in result.stdout
    assert "http://" not in result.stdout, "a worker serves no HTTP"


def test_worker_keeps_a_chosen_broker(tmp_path: Path, database_url: str, run_workers: WorkersCall) -> None:
    result = invoke(["worker", "--config", str(chat_config(tmp_path))], DATABASE_URL=database_url,
                    REDIS_URL="redis://127.0.0.1:6379/0")
    assert result.exit_code == 0, result.output
    assert run_workers.settings is not None
    assert run_workers.settings.stream_broker == "redis"


def test_worker_on_an_unreachable_database_fails_with_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("logging.config.dictConfig", lambda config: None)
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=3"
    result = invoke(["worker", "--config", str(chat_config(tmp_path))], DATABASE_URL=url)
    assert result.exit_code == 1
    assert "cannot run workers on PostgreSQL at 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.output


# --- db upgrade ------------------------------------------------------------------------------------------------


def test_db_upgrade_creates_every_table_and_is_idempotent(tmp_path: Path, fresh_database: str) -> None:
    config = str(chat_config(tmp_path))
    assert public_tables(fresh_database) == set()
    for _ in range(2):
        result = invoke(["db", "upgrade", "--config", config], DATABASE_URL=fresh_database)
        assert result.exit_code == 0, result.output
        assert "Database is up to date" in result.stdout
    ours = set(Base.metadata.tables)
    assert {"assistants", "threads"} <= ours
    assert public_tables(fresh_database) == ours | LANGGRAPH_TABLES | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(fresh_database)).get_current_head()
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert conn.execute("SELECT count(*) FROM checkpoint_migrations").fetchone() != (0,)


def test_db_upgrade_needs_a_database(tmp_path: Path) -> None:
    result = invoke(["db", "upgrade", "--config", str(chat_config(tmp_path))])
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.stderr
    assert "--data-dir" in result.stderr


@pytest.mark.embedded
def test_db_upgrade_on_the_embedded_database_with_a_vector_index(tmp_path: Path, embedded_data_dir: Path) -> None:
    (tmp_path / "embed.py").write_text("def embed(texts):\n    return [[1.0, 0.0, 0.0, 0.0] for _ in texts]\n")
    config = write_config(tmp_path, {"store": {"index": {"embed": "./embed.py:embed", "dims": 4}}})
    result = invoke(["db", "upgrade", "--config", str(config), "--data-dir", str(embedded_data_dir)])
    assert result.exit_code == 0, result.output
    assert "embedded PostgreSQL" in result.stdout
    assert postmaster_pid(embedded_data_dir) is None, "db upgrade stops the database it started"
    from agent_server.db.embedded import embedded_postgres

    with embedded_postgres(embedded_data_dir) as url:
        assert {"store_vectors", "vector_migrations", "assistants"} <= public_tables(url)


# --- a real `open-langgraph dev` -------------------------------------------------------------------------------


class DevProcess:
    """`python -m agent_server dev --no-reload` in a subprocess, on a free port."""

    def __init__(self, config: Path, log: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        env.update(COLUMNS="250", **(extra_env or {}))
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agent_server", "dev", "--no-reload", "--port", str(self.port),
                 "--config", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=config.parent,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"dev exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/ok", timeout=2).json() == {"ok": True}:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"dev did not answer /ok in {timeout}s:\n{self.log.read_text()}")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def output(self) -> str:
        return self.log.read_text()


def test_dev_on_the_embedded_database_keeps_data_across_restarts(tmp_path: Path, embedded_data_dir: Path) -> None:
    config = chat_config(embedded_data_dir)  # the default data folder is <config folder>/.open_langgraph
    data_dir = embedded_data_dir / ".open_langgraph"

    first = DevProcess(config, tmp_path / "first.log")
    try:
        first.wait_ready()
        assert postmaster_pid(data_dir) is not None
        created = httpx.post(f"{first.url}/assistants", json={"graph_id": "chat", "name": "from-cli"}).json()
    finally:
        assert first.terminate() == 0, first.output()
    assert postmaster_pid(data_dir) is None, first.output()
    output = first.output()
    assert f"{first.url}/docs" in output
    assert f"embedded PostgreSQL, data in {data_dir / 'pgdata'}" in output
    assert str(config) in output
    assert "Stopped the embedded PostgreSQL" in output

    second = DevProcess(config, tmp_path / "second.log")
    try:
        second.wait_ready()
        found = httpx.get(f"{second.url}/assistants/{created['assistant_id']}").json()
        assert found["name"] == "from-cli"
    finally:
        assert second.terminate() == 0, second.output()
    assert postmaster_pid(data_dir) is None, second.output()


def test_dev_with_database_url_uses_it(tmp_path: Path, fresh_database: str) -> None:
    config = chat_config(tmp_path / "project")
    dev = DevProcess(config, tmp_path / "dev.log", {"DATABASE_URL": fresh_database})
    try:
        dev.wait_ready()
        graphs = httpx.get(f"{dev.url}/info").json()["graphs"]
        assert graphs == ["chat"]
    finally:
        assert dev.terminate() == 0, dev.output()
    assert "PostgreSQL at 127.0.0.1:5432/" in dev.output()
    assert not (config.parent / ".open_langgraph").exists()
    assert "assistants" in public_tables(fresh_database)


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path, database_url: str, command: str) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        data_dir = tmp_path / "data"
        args = [command, "--config", str(chat_config(tmp_path)), "--host", "127.0.0.1", "--port", str(port)]
        if command == "dev":
            result = invoke([*args, "--no-reload", "--data-dir", str(data_dir)])
        else:
            result = invoke([*args, "--allow-no-auth"], DATABASE_URL=database_url)
    assert result.exit_code == 2
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.output
    assert not data_dir.exists()  # the embedded database was not started
