"""Test fixtures: a fresh PostgreSQL database per test session, the real app served by uvicorn, real clients.

The admin connection comes from TEST_DATABASE_URL (default: the CI server at 127.0.0.1:5432). Each session
(and each xdist worker) creates its own database and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from agent_server.app import create_app
from agent_server.config import AuthConfig, HttpConfig, ProjectConfig, load_config
from agent_server.settings import Settings

# Freezing the heap suits one long-lived server, not a test process that opens and closes hundreds of apps.
os.environ.setdefault("OPEN_LANGGRAPH_GC_TUNING", "0")
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROJECT_DIR = Path(__file__).parent / "project"


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextmanager
def scratch_database(prefix: str = "olg_test") -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def module_database_url() -> Iterator[str]:
    """A database for one module's app when that app hosts run workers: in one test process, apps sharing a
    database would claim each other's runs and publish their events to their own in-memory broker."""
    with scratch_database("olg_test_mod") as url:
        yield url


@pytest.fixture(scope="session")
def hub_database_url() -> Iterator[str]:
    with scratch_database("olg_test_hub") as url:
        yield url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedApp:
    """A uvicorn server running an app inside the test event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ServedApp:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task


def project_config(**overrides: Any) -> ProjectConfig:
    config = load_config(PROJECT_DIR / "langgraph.json")
    return config.model_copy(update=overrides) if overrides else config


EXAMPLE_AUTH = Path(__file__).resolve().parents[1] / "examples" / "auth.py"
ALICE_DEMO = {"Authorization": "Bearer alice-demo-token"}  # examples/auth.py's demo tokens
BOB_DEMO = {"Authorization": "Bearer bob-demo-token"}


def example_auth_config(**overrides: Any) -> ProjectConfig:
    """The test project behind examples/auth.py (demo bearer tokens; users own what they create)."""
    return project_config(auth=AuthConfig(path=f"{EXAMPLE_AUTH}:auth"), **overrides)


def owner_project_config(**overrides: Any) -> ProjectConfig:
    """tests/auth_project: `Bearer <name>` signs in as <name>; users own what they create; a `whoami` graph."""
    config = load_config(Path(__file__).parent / "auth_project" / "langgraph.json")
    return config.model_copy(update=overrides) if overrides else config


def hub_config(**overrides: Any) -> ProjectConfig:
    """The test project with the hub mounted, as the repo's open_langgraph.json mounts it."""
    return project_config(http=HttpConfig(app="hub_extensions.app:app", enable_custom_route_auth=True), **overrides)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings.model_validate({"database_url": database_url, **overrides})


@pytest_asyncio.fixture(scope="session")
async def served(database_url: str) -> AsyncIterator[ServedApp]:
    app = create_app(make_settings(database_url), project_config())
    async with ServedApp(app) as served_app:
        yield served_app


@pytest_asyncio.fixture(scope="session")
async def server_url(served: ServedApp) -> str:
    return served.url


@pytest_asyncio.fixture(scope="session")
async def hub_served(hub_database_url: str) -> AsyncIterator[ServedApp]:
    """Its own database: it hosts run workers (see module_database_url)."""
    app = create_app(make_settings(hub_database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=2), hub_config())
    async with ServedApp(app) as served_app:
        yield served_app


@pytest_asyncio.fixture
async def hub(hub_served: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a server with the hub mounted."""
    async with httpx.AsyncClient(base_url=hub_served.url, timeout=30) as h:
        yield h


@pytest_asyncio.fixture
async def client(server_url: str) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=server_url, api_key=None)
    try:
        yield sdk
    finally:
        await sdk.aclose()


@pytest_asyncio.fixture
async def http(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as h:
        yield h


@contextmanager
def fresh_embedded_dir() -> Iterator[Path]:
    """A fresh folder for an embedded PostgreSQL (pgserver), outside pytest's tmp folder.

    As root, pgserver runs postgres as the `pgserver` user and opens the folder's parents to it; pytest resets
    /tmp/pytest-of-<user> to 0700 whenever a session starts, which would lock a running server out of its data.
    """
    folder = Path(tempfile.mkdtemp(prefix="olg-embedded-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    with fresh_embedded_dir() as folder:
        yield folder
