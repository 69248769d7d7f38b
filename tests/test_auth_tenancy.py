"""Tenant isolation over the whole API: user B aims every route at user A's objects and gets 404/403, finds none of
them in any search or count, and changes nothing of A's.

The route list comes from the app: a route this file does not classify fails the test, so a new route cannot be
forgotten.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from conftest import ServedApp, make_settings, owner_project_config
from fastapi import FastAPI
from fastapi.routing import APIRoute

from agent_server.app import create_app

# Users of their own: other modules share the database, and B's counts must start at zero.
ALICE_ID, BOB_ID = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
ALICE = {"Authorization": f"Bearer {ALICE_ID}"}
BOB = {"Authorization": f"Bearer {BOB_ID}"}
RUN = {"assistant_id": "whoami", "input": {}}
SCHEDULE = "0 0 1 1 *"
ALICES_NAMESPACE = [ALICE_ID, "notes"]

PUBLIC = {("GET", "/ok"), ("GET", "/info")}
# Routes without an object id in the path, and the body B sends to aim them at A's objects.
AIMED_WITHOUT_PATH_ID = {
    ("POST", "/threads"): {"thread_id": "{thread_id}"},
    ("POST", "/assistants"): {"assistant_id": "{assistant_id}", "graph_id": "whoami"},
    ("POST", "/runs"): {"assistant_id": "{assistant_id}", "input": {}},
    ("POST", "/runs/stream"): {"assistant_id": "{assistant_id}", "input": {}},
    ("POST", "/runs/wait"): {"assistant_id": "{assistant_id}", "input": {}},
    ("POST", "/runs/batch"): [{"assistant_id": "{assistant_id}", "input": {}}],
    ("POST", "/runs/crons"): {"assistant_id": "{assistant_id}", "schedule": SCHEDULE},
    ("GET", "/store/items"): None,
    ("PUT", "/store/items"): {"namespace": ALICES_NAMESPACE, "key": "k", "value": {"v": "bob"}},
    ("DELETE", "/store/items"): {"namespace": ALICES_NAMESPACE, "key": "k"},
}
QUERY = {("GET", "/store/items"): {"namespace": ".".join(ALICES_NAMESPACE), "key": "k"}}
# Routes that act on whatever the caller may see: B aims them at A's objects; they must leave them alone.
BULK = {
    ("POST", "/runs/cancel"): {"thread_id": "{thread_id}", "run_ids": ["{run_id}"]},
    ("POST", "/threads/prune"): {"thread_ids": ["{thread_id}"]},
}
# Searches and counts: B's answer must not mention any of A's ids.
LISTINGS = {
    ("POST", "/threads/search"): {},
    ("POST", "/threads/count"): {},
    ("POST", "/assistants/search"): {},
    ("POST", "/assistants/count"): {},
    ("POST", "/runs/crons/search"): {},
    ("POST", "/runs/crons/count"): {},
    ("POST", "/store/items/search"): {"namespace_prefix": []},
    ("POST", "/store/namespaces"): {},
}
# Bodies for routes with ids in the path (any other POST/PATCH/PUT gets `{}`, the rest none).
BODIES = {
    ("PATCH", "/threads/{thread_id}"): {"metadata": {"owner": BOB_ID}},
    ("POST", "/threads/{thread_id}/state"): {"values": {"seen": {"by": "bob"}}},
    ("POST", "/threads/{thread_id}/state/checkpoint"): {"checkpoint": {"checkpoint_id": "{checkpoint_id}"}},
    ("POST", "/threads/{thread_id}/runs"): RUN,
    ("POST", "/threads/{thread_id}/runs/stream"): RUN,
    ("POST", "/threads/{thread_id}/runs/wait"): RUN,
    ("POST", "/threads/{thread_id}/runs/crons"): {**RUN, "schedule": SCHEDULE},
    ("PATCH", "/assistants/{assistant_id}"): {"metadata": {"owner": BOB_ID}},
    ("POST", "/assistants/{assistant_id}/latest"): {"version": 1},
    ("PATCH", "/runs/crons/{cron_id}"): {"schedule": "0 0 2 1 *"},
}


@dataclass
class AlicesObjects:
    ids: dict[str, str]

    def fill(self, template: Any) -> Any:
        if isinstance(template, str):
            return re.sub(r"\{(\w+)\}", lambda m: self.ids.get(m.group(1), m.group(0)), template)
        if isinstance(template, list):
            return [self.fill(item) for item in template]
        if isinstance(template, dict):
            return {key: self.fill(value) for key, value in template.items()}
        return template


@pytest_asyncio.fixture(scope="module")
async def served(module_database_url: str) -> AsyncIterator[ServedApp]:
    async with ServedApp(create_app(make_settings(module_database_url), owner_project_config())) as app:
        yield app


async def create_alices_objects(http: httpx.AsyncClient) -> AlicesObjects:
    thread = (await http.post("/threads", json={}, headers=ALICE)).json()
    tid = thread["thread_id"]
    waited = await http.post(f"/threads/{tid}/runs/wait", json=RUN, headers=ALICE)
    run_id = waited.headers["content-location"].rsplit("/", 1)[-1]
    state = (await http.get(f"/threads/{tid}/state", headers=ALICE)).json()
    assistant = (await http.post("/assistants", json={"graph_id": "whoami"}, headers=ALICE)).json()
    cron = (await http.post("/runs/crons", json={**RUN, "schedule": SCHEDULE}, headers=ALICE)).json()
    stored = await http.put("/store/items", json={"namespace": ALICES_NAMESPACE, "key": "k", "value": {"v": 1}},
                            headers=ALICE)
    assert stored.status_code == 204, stored.text
    return AlicesObjects({
        "thread_id": tid, "run_id": run_id, "checkpoint_id": state["checkpoint"]["checkpoint_id"],
        "assistant_id": assistant["assistant_id"], "cron_id": cron["cron_id"], "namespace": "x",
    })


async def alices_view(http: httpx.AsyncClient, objects: AlicesObjects) -> list[Any]:
    ids = objects.ids
    paths = [f"/threads/{ids['thread_id']}", f"/threads/{ids['thread_id']}/state",
             f"/threads/{ids['thread_id']}/runs/{ids['run_id']}", f"/assistants/{ids['assistant_id']}",
             f"/runs/crons/{ids['cron_id']}"]
    view = [(await http.get(path, headers=ALICE)).json() for path in paths]
    item = await http.get("/store/items", params=QUERY[("GET", "/store/items")], headers=ALICE)
    return [*view, item.json()]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in app.routes if isinstance(route, APIRoute)
                  for method in route.methods)


async def test_user_b_cannot_reach_user_as_objects_through_any_route(served: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        objects = await create_alices_objects(http)
        before = await alices_view(http, objects)
        routes = api_routes(served.app)
        checked = []
        for method, path in routes:
            key = (method, path)
            if key in PUBLIC:
                continue
            if key in LISTINGS:
                response = await http.request(method, path, json=LISTINGS[key], headers=BOB)
                assert response.status_code == 200, (key, response.text)
                leaked = [value for value in objects.ids.values() if value in response.text]
                assert not leaked, (key, response.text)
                assert ALICE_ID not in response.text, (key, response.text)
                if path.endswith("/count"):
                    assert response.json() == 0, (key, response.text)
            elif key in BULK:
                response = await http.request(method, path, json=objects.fill(BULK[key]), headers=BOB)
                assert response.status_code in (200, 202, 204, 404), (key, response.text)
            elif key in AIMED_WITHOUT_PATH_ID or "{" in path:
                default_body = {} if method in ("POST", "PATCH", "PUT") else None
                body = objects.fill(AIMED_WITHOUT_PATH_ID.get(key, BODIES.get(key, default_body)))
                response = await http.request(method, objects.fill(path), json=body, params=QUERY.get(key),
                                              headers=BOB)
                allowed = (403, 404, 409) if key in AIMED_WITHOUT_PATH_ID else (403, 404)  # 409: A's id is taken
                assert response.status_code in allowed, (key, response.status_code, response.text)
                assert "detail" in response.json(), (key, response.text)
            else:
                raise AssertionError(f"{method} {path} is not classified for the tenant test: add it")
            checked.append(key)
        assert await alices_view(http, objects) == before
        assert len(checked) == len(routes) - len(PUBLIC)
        assert len(checked) >= 53
