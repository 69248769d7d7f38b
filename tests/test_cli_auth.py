"""`serve` refuses to run open unless told to (--allow-no-auth); `dev` and `worker` start without auth.

uvicorn.run and the workers' loop are recorded instead of run, and DATABASE_URL points at a port nothing listens
on: a refusal happens before a port is bound or the database is touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from typer.testing import CliRunner

from agent_server.cli import app, describe_auth
from agent_server.config import AuthConfig, ProjectConfig
from agent_server.services.auth import AuthEngine
from agent_server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_AUTH = f"{REPO_ROOT}/examples/auth.py:auth"
JWT_SECRET = "a-secret-of-at-least-thirty-two-bytes-0123"
# Variables the CLI or the settings read; every invocation starts without them (CliRunner restores them).
CLEAN_ENV: dict[str, str | None] = {
    "DATABASE_URL": None, "OPEN_LANGGRAPH_CONFIG": None, "OPEN_LANGGRAPH_DATA_DIR": None,
    "OPEN_LANGGRAPH_N_JOBS_PER_WORKER": None, "OPEN_LANGGRAPH_BROKER": None, "REDIS_URL": None,
    "OPEN_LANGGRAPH_JWT_SECRET": None, "OPEN_LANGGRAPH_JWT_PUBLIC_KEY": None, "OPEN_LANGGRAPH_JWT_JWKS": None,
    "OPEN_LANGGRAPH_DEV_CORS": None,
}

runner = CliRunner()


def invoke(args: list[str], **env: str) -> Any:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    return runner.invoke(app, args, env={**CLEAN_ENV, "DATABASE_URL": unreachable, **env})


def write_config(folder: Path, **extra: Any) -> Path:
    path = folder / "open_langgraph.json"
    path.write_text(json.dumps({"graphs": {"chat": f"{REPO_ROOT}/graphs/chat.py:graph"}, **extra}))
    return path


class Recorder:
    """Stands in for uvicorn.run or the workers' loop: remembers that it was called."""

    def __init__(self) -> None:
        self.called = False

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.called = True


@pytest.fixture
def uvicorn_run(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr("agent_server.cli.uvicorn.run", recorder)
    monkeypatch.setattr("agent_server.cli.require_free_address", lambda host, port: None)  # nothing binds
    return recorder


def test_serve_without_auth_refuses_naming_both_ways_out(tmp_path: Path, uvicorn_run: Recorder) -> None:
    result = invoke(["serve", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 2
    assert "no authentication is configured" in result.stderr
    assert '"auth": {"path": "./auth.py:auth"}' in result.stderr
    assert "OPEN_LANGGRAPH_JWT_SECRET" in result.stderr
    assert "--allow-no-auth" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == "", "no banner: it refuses before anything else"
    assert not uvicorn_run.called


def test_serve_with_allow_no_auth_starts_and_says_so(tmp_path: Path, uvicorn_run: Recorder) -> None:
    result = invoke(["serve", "--config", str(write_config(tmp_path)), "--allow-no-auth"])
    assert result.exit_code == 0, result.output
    assert uvicorn_run.called
    assert "Auth      none (--allow-no-auth)" in result.stdout


def test_serve_with_a_jwt_secret_starts(tmp_path: Path, uvicorn_run: Recorder) -> None:
    result = invoke(["serve", "--config", str(write_config(tmp_path))], OPEN_LANGGRAPH_JWT_SECRET=JWT_SECRET)
    assert result.exit_code == 0, result.output
    assert uvicorn_run.called
    assert "Auth      built-in JWT" in result.stdout


def test_serve_with_auth_path_starts(tmp_path: Path, uvicorn_run: Recorder) -> None:
    config = write_config(tmp_path, auth={"path": EXAMPLE_AUTH})
    result = invoke(["serve", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert uvicorn_run.called
    assert f"Auth      auth.path {EXAMPLE_AUTH}" in result.stdout


def test_dev_starts_without_auth(tmp_path: Path, uvicorn_run: Recorder) -> None:
    result = invoke(["dev", "--config", str(write_config(tmp_path)), "--no-reload"])
    assert result.exit_code == 0, result.output
    assert uvicorn_run.called


def test_worker_starts_without_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = Recorder()

    async def run_workers(settings: Settings, project: ProjectConfig) -> None:
        started()

    monkeypatch.setattr("agent_server.workers.main.run_workers", run_workers)
    monkeypatch.setattr("logging.config.dictConfig", lambda config: None)
    result = invoke(["worker", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert started.called


@pytest.mark.parametrize(("auth_path", "jwt_secret"), [
    (None, None), (EXAMPLE_AUTH, None), (None, JWT_SECRET), (EXAMPLE_AUTH, JWT_SECRET),
], ids=["none", "auth-path", "jwt", "both"])
def test_the_cli_decides_as_the_server_does(tmp_path: Path, auth_path: str | None, jwt_secret: str | None) -> None:
    project = ProjectConfig(base_dir=tmp_path, auth=AuthConfig(path=auth_path))
    settings = Settings.model_validate({"jwt": {"secret": jwt_secret}})
    assert (describe_auth(project, settings) is not None) == AuthEngine.from_config(project, settings).enabled
