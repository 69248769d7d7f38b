"""Schemathesis against the server's own OpenAPI: no 5xx, and every response matches what the document declares
(its body schema and content type, and a status code the operation documents).

The document is the one the app publishes at /openapi.json, with the hub mounted as the repo's config mounts
it. The app is served by uvicorn on a real port, from an event loop of its own in a thread (schemathesis calls
synchronously), with a worker so that the runs it creates execute. Each operation gets its explicit examples,
the coverage phase (boundary and malformed values: wrong types, bodies that are not UTF-8 or not JSON, missing
fields) and a bounded fuzzing phase, from a fixed seed so that a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
from conftest import ServedApp, hub_config, make_settings
from fastapi import FastAPI
from schemathesis.schemas import BaseSchema

from agent_server.app import create_app

CONFIG = {
    "seed": 20251121,
    # The operations that wait for a run (/wait, /join, the streams) are all tested: generated assistant and
    # thread ids name nothing, so no generated run can keep one waiting; a wait would fail here, not hang.
    "request-timeout": 15,
    "generation": {"max-examples": 12, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
    },
}


async def cancel_leftover_tasks() -> None:
    """Tasks the app leaves behind (the store's batch loop), ended before their loop closes."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextmanager
def served_in_thread(app: FastAPI) -> Iterator[str]:
    """The app on a real port, run by an event loop of its own in a daemon thread; yields its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="schemathesis-server", daemon=True)
    thread.start()
    served = ServedApp(app)
    try:
        asyncio.run_coroutine_threadsafe(served.__aenter__(), loop).result(timeout=60)
        yield served.url
        asyncio.run_coroutine_threadsafe(served.__aexit__(None, None, None), loop).result(timeout=60)
    finally:
        asyncio.run_coroutine_threadsafe(cancel_leftover_tasks(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="module")
def api_schema(module_database_url: str) -> Iterator[BaseSchema]:
    # One client at a time: a small pool, so that this server takes few of the database's connections.
    settings = make_settings(module_database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=2, OPEN_LANGGRAPH_DB_POOL_SIZE=4)
    with served_in_thread(create_app(settings, hub_config())) as url:
        config = schemathesis.config.SchemathesisConfig.from_dict(CONFIG)
        yield schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4 renames the test item per operation through `item._nodeid`, which pytest 9.2 no longer has
    (node ids live in `_id`): give it the attribute to read and write."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


# One test item runs every operation (123 subtests): it took 131-137 s on a slower CI machine, past the suite's
# 120 s per-test limit, which is meant for single tests.
@pytest.mark.timeout(600)
@schema.parametrize()
def test_every_operation_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate()
