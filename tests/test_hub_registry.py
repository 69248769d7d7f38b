"""The hub's model registry over HTTP: models, aliases (fallback chains), groups, skills, MCP servers, configured
agents, executions, and resolving a name to the models to call (env references resolved only then)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_model(hub: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("model"), "provider": "openai", "model_name": "gpt-4o", **fields}
    return await created(await hub.post("/hub/models", json=body))


async def make_alias(hub: httpx.AsyncClient, model: str, **fields: Any) -> dict[str, Any]:
    return await created(await hub.post("/hub/aliases", json={"name": unique("alias"), "model": model, **fields}))


async def make_agent(hub: httpx.AsyncClient, model: str, **fields: Any) -> dict[str, Any]:
    return await created(await hub.post("/hub/agents", json={"name": unique("agent"), "model": model, **fields}))


async def detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    text: str = response.json()["detail"]
    return text


# Models


async def test_model_crud_by_name_and_id(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub, model_type="vision", capabilities=["code", "vision"], description="d",
                             args={"api_key": "${OPENAI_API_KEY}"}, param_spec={"exclude": ["temperature"]})
    assert model["param_spec"] == {"exclude": ["temperature"], "map": {}}
    assert model["is_active"] is True
    assert (await hub.get(f"/hub/models/{model['name']}")).json() == model
    assert (await hub.get(f"/hub/models/{model['id']}")).json() == model

    patched = await hub.patch(f"/hub/models/{model['name']}", json={"description": None, "param_spec": None,
                                                                     "is_active": False, "name": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] is None
    assert patched.json()["param_spec"] is None
    assert patched.json()["name"] == model["name"]  # null for a required field leaves it as it is
    assert patched.json()["is_active"] is False
    renamed = await hub.patch(f"/hub/models/{model['id']}", json={"name": model["name"] + "-x"})
    assert renamed.json()["name"] == model["name"] + "-x"

    assert (await hub.delete(f"/hub/models/{model['name']}-x")).status_code == 204
    await detail(await hub.get(f"/hub/models/{model['id']}"), 404)
    await detail(await hub.delete(f"/hub/models/{model['id']}"), 404)


async def test_model_names_may_hold_slashes(hub: httpx.AsyncClient) -> None:
    name = unique("openai/gpt-4o")
    await make_model(hub, name=name)
    assert (await hub.get(f"/hub/models/{name}")).json()["name"] == name
    assert (await hub.delete(f"/hub/models/{name}")).status_code == 204


async def test_list_models_filters(hub: httpx.AsyncClient) -> None:
    provider = unique("prov")
    llm = await make_model(hub, provider=provider, capabilities=["code"])
    embed = await make_model(hub, provider=provider, model_type="text-embedding", is_active=False)

    async def names(**params: Any) -> list[str]:
        response = await hub.get("/hub/models", params={"provider": provider, **params})
        assert response.status_code == 200, response.text
        return [model["name"] for model in response.json()]

    assert await names() == sorted([llm["name"], embed["name"]])
    assert await names(model_type="text-embedding") == [embed["name"]]
    assert await names(is_active="true") == [llm["name"]]
    assert await names(capability="code") == [llm["name"]]
    assert len(await names(limit=1)) == 1
    assert await names(offset=2) == []
    await detail(await hub.get("/hub/models", params={"limit": 0}), 422)


async def test_duplicate_names_are_409(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    assert "already exists" in await detail(await hub.post("/hub/models", json={
        "name": model["name"], "provider": "x", "model_name": "y"}), 409)
    other = await make_model(hub)
    await detail(await hub.patch(f"/hub/models/{other['id']}", json={"name": model["name"]}), 409)
    alias = await make_alias(hub, model["name"])
    await detail(await hub.post("/hub/aliases", json={"name": alias["name"], "model": model["name"]}), 409)
    group = await created(await hub.post("/hub/groups", json={"name": unique("group")}))
    await detail(await hub.post("/hub/groups", json={"name": group["name"]}), 409)
    for path, body in (("skills", {"skill_path": "skills/x/SKILL.md"}), ("mcps", {"mcp_type": "github"}),
                       ("agents", {"model": model["name"]})):
        first = await created(await hub.post(f"/hub/{path}", json={"name": unique(path), **body}))
        assert "already exists" in await detail(await hub.post(f"/hub/{path}", json={"name": first["name"], **body}),
                                                409)


@pytest.mark.parametrize("fields", [
    {"name": None},
    {"name": " padded"},
    {"name": "x" * 101},
    {"provider": ""},
    {"model_name": None},
    {"param_spec": {"rename": {}}},
    {"param_spec": {"exclude": "temperature"}},
    {"args": {"k": "\u0000"}},
    {"args": []},
    {"capabilities": "code"},
    {"is_active": "sometimes"},
])
async def test_invalid_models_are_422_and_change_nothing(hub: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    name = unique("invalid")
    body = {key: value for key, value in {"name": name, "provider": "openai", "model_name": "m", **fields}.items()
            if value is not None}
    await detail(await hub.post("/hub/models", json=body), 422)
    await detail(await hub.get(f"/hub/models/{name}"), 404)


async def test_deleting_a_used_model_is_409_naming_its_users(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    alias = await make_alias(hub, model["name"])
    agent = await make_agent(hub, model["id"])
    message = await detail(await hub.delete(f"/hub/models/{model['name']}"), 409)
    assert alias["name"] in message
    assert agent["name"] in message
    assert (await hub.get(f"/hub/models/{model['id']}")).status_code == 200
    assert (await hub.delete(f"/hub/aliases/{alias['name']}")).status_code == 204
    assert (await hub.delete(f"/hub/agents/{agent['name']}")).status_code == 204
    assert (await hub.delete(f"/hub/models/{model['name']}")).status_code == 204


# Aliases


async def test_alias_crud(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub, model_type="text-embedding")
    other = await make_model(hub)
    alias = await make_alias(hub, model["name"], description="embeddings")
    assert alias["model"] == model["name"]
    assert alias["target_model_id"] == model["id"]
    assert alias["model_type"] == "text-embedding"  # the model's type by default
    assert alias["fallbacks"] == []
    assert alias["is_active"] is True
    assert (await hub.get(f"/hub/aliases/{alias['id']}")).json() == alias

    patched = (await hub.patch(f"/hub/aliases/{alias['name']}", json={"model": other["id"], "is_active": False})).json()
    assert patched["model"] == other["name"]
    assert patched["is_active"] is False
    listed = (await hub.get("/hub/aliases", params={"model": other["name"]})).json()
    assert [row["name"] for row in listed] == [alias["name"]]
    assert (await hub.get("/hub/aliases", params={"model": unique("nothing")})).json() == []
    await detail(await hub.patch(f"/hub/aliases/{alias['name']}", json={"model": unique("nothing")}), 422)
    await detail(await hub.post("/hub/aliases", json={"name": unique("a"), "model": unique("nothing")}), 422)
    assert (await hub.delete(f"/hub/aliases/{alias['name']}")).status_code == 204
    await detail(await hub.get(f"/hub/aliases/{alias['name']}"), 404)


async def test_fallbacks_must_name_aliases_and_not_form_a_cycle(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    c = await make_alias(hub, model["name"])
    b = await make_alias(hub, model["name"], fallbacks=[c["name"]])
    a = await make_alias(hub, model["name"], fallbacks=[b["name"]])

    missing = unique("missing")
    assert missing in await detail(await hub.post("/hub/aliases", json={
        "name": unique("x"), "model": model["name"], "fallbacks": [missing]}), 422)
    own = unique("self")
    assert "itself" in await detail(await hub.post("/hub/aliases", json={
        "name": own, "model": model["name"], "fallbacks": [own]}), 422)
    await detail(await hub.get(f"/hub/aliases/{own}"), 404)
    assert "itself" in await detail(await hub.patch(f"/hub/aliases/{a['name']}", json={"fallbacks": [a["name"]]}), 422)
    await detail(await hub.post("/hub/aliases", json={
        "name": unique("x"), "model": model["name"], "fallbacks": [c["name"], c["name"]]}), 422)

    message = await detail(await hub.patch(f"/hub/aliases/{c['name']}", json={"fallbacks": [a["name"]]}), 422)
    assert "cycle" in message
    cycle = message.split("cycle: ", 1)[1].split(" → ")
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {a["name"], b["name"], c["name"]}
    position = cycle.index(c["name"])  # written in fallback order: c → a → b → c
    assert cycle[position + 1 if position + 1 < len(cycle) else 1] == a["name"]
    assert (await hub.get(f"/hub/aliases/{c['name']}")).json()["fallbacks"] == []

    cleared = await hub.patch(f"/hub/aliases/{a['name']}", json={"fallbacks": None})
    assert cleared.json()["fallbacks"] == []
    assert (await hub.patch(f"/hub/aliases/{c['name']}", json={"fallbacks": [a["name"]]})).status_code == 200


async def test_concurrent_fallback_writes_cannot_together_form_a_cycle(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    for _ in range(5):
        a, b = await make_alias(hub, model["name"]), await make_alias(hub, model["name"])
        responses = await asyncio.gather(
            hub.patch(f"/hub/aliases/{a['name']}", json={"fallbacks": [b["name"]]}),
            hub.patch(f"/hub/aliases/{b['name']}", json={"fallbacks": [a["name"]]}),
        )
        assert sorted(response.status_code for response in responses) == [200, 422]


async def test_a_referenced_alias_cannot_be_deleted_or_renamed(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    target = await make_alias(hub, model["name"])
    user = await make_alias(hub, model["name"], fallbacks=[target["name"]])
    group = await created(await hub.post("/hub/groups", json={"name": unique("g"), "members": [target["name"]]}))
    message = await detail(await hub.delete(f"/hub/aliases/{target['name']}"), 409)
    assert user["name"] in message
    assert group["name"] in message
    await detail(await hub.patch(f"/hub/aliases/{target['name']}", json={"name": unique("new")}), 409)
    assert (await hub.get(f"/hub/aliases/{target['name']}")).status_code == 200

    await hub.patch(f"/hub/aliases/{user['name']}", json={"fallbacks": []})
    await hub.delete(f"/hub/groups/{group['name']}")
    renamed = await hub.patch(f"/hub/aliases/{target['name']}", json={"name": target["name"] + "-2"})
    assert renamed.json()["name"] == target["name"] + "-2"
    assert (await hub.delete(f"/hub/aliases/{target['name']}-2")).status_code == 204


# Groups


async def test_groups_list_existing_aliases_and_default_to_a_member(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    first, second = await make_alias(hub, model["name"]), await make_alias(hub, model["name"])
    group = await created(await hub.post("/hub/groups", json={
        "name": unique("group"), "model_type": "llm", "members": [first["name"], second["name"]],
        "default": first["name"], "description": "two"}))
    assert group["default"] == first["name"]
    assert group["default_alias_id"] == first["id"]
    assert (await hub.get(f"/hub/groups/{group['name']}")).json() == group

    missing = unique("nothing")
    assert missing in await detail(await hub.post("/hub/groups", json={"name": unique("g"), "members": [missing]}), 422)
    await detail(await hub.post("/hub/groups", json={
        "name": unique("g"), "members": [first["name"]], "default": second["name"]}), 422)
    # dropping the default from the members without naming another default is refused
    await detail(await hub.patch(f"/hub/groups/{group['name']}", json={"members": [second["name"]]}), 422)
    patched = (await hub.patch(f"/hub/groups/{group['id']}", json={"members": [second["name"]],
                                                                   "default": second["name"]})).json()
    assert patched["members"] == [second["name"]]
    assert patched["default"] == second["name"]
    cleared = (await hub.patch(f"/hub/groups/{group['id']}", json={"default": None})).json()
    assert cleared["default"] is None
    assert cleared["default_alias_id"] is None
    assert group["name"] in [row["name"] for row in (await hub.get("/hub/groups", params={"model_type": "llm"})).json()]
    assert (await hub.delete(f"/hub/groups/{group['name']}")).status_code == 204
    await detail(await hub.get(f"/hub/groups/{group['name']}"), 404)


# Resolution


async def test_resolve_walks_the_fallback_chain_with_env_and_param_spec(
    hub: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, missing = unique("KEY").replace("-", "_"), unique("UNSET").replace("-", "_")
    primary = await make_model(hub, provider="openai", model_name="o1", args={
        "api_key": f"${{{key}}}", "headers": {"x": [f"Bearer ${{{key}}}"]}, "base_url": f"http://h/${{{missing}}}"},
        param_spec={"exclude": ["temperature"], "map": {"max_tokens": "max_completion_tokens"}})
    backup = await make_model(hub, provider="ollama", model_name="qwen2.5-coder:7b", args={"host": "local"})
    inactive = await make_model(hub, is_active=False)
    last = await make_alias(hub, inactive["name"])
    second = await make_alias(hub, backup["name"], fallbacks=[last["name"]])
    first = await make_alias(hub, primary["name"], fallbacks=[second["name"], last["name"]])
    monkeypatch.setenv(key, "sk-secret")

    params = {"temperature": 0.2, "max_tokens": 100, "top_p": 1}
    response = await hub.post("/hub/models/resolve", json={"name": first["name"], "params": params})
    assert response.status_code == 200, response.text
    resolution = response.json()
    assert resolution["kind"] == "alias"
    assert [(c["alias"], c["model"]) for c in resolution["candidates"]] == [
        (first["name"], primary["name"]), (second["name"], backup["name"])]
    top = resolution["candidates"][0]
    assert top["args"] == {"api_key": "sk-secret", "headers": {"x": ["Bearer sk-secret"]},
                           "base_url": f"http://h/${{{missing}}}"}
    assert top["missing_env"] == [missing]
    assert top["params"] == {"max_completion_tokens": 100, "top_p": 1}
    assert top["provider"] == "openai"
    assert top["model_name"] == "o1"
    assert resolution["candidates"][1]["params"] == params
    assert resolution["skipped"] == [{"alias": last["name"], "model": inactive["name"],
                                      "reason": "the model is inactive"}]

    # The secret is never stored or shown resolved.
    assert "sk-secret" not in (await hub.get(f"/hub/models/{primary['name']}")).text
    assert "sk-secret" not in (await hub.get("/hub/models", params={"provider": "openai"})).text
    kept = await hub.post("/hub/models/resolve", json={"name": first["name"], "resolve_env": False})
    assert kept.json()["candidates"][0]["args"]["api_key"] == f"${{{key}}}"

    monkeypatch.setenv(key, "sk-rotated")  # read at call time, not cached
    again = await hub.post("/hub/models/resolve", json={"name": first["name"]})
    assert again.json()["candidates"][0]["args"]["api_key"] == "sk-rotated"


async def test_resolve_a_model_name_an_inactive_alias_and_unknown_names(hub: httpx.AsyncClient) -> None:
    model = await make_model(hub)
    direct = (await hub.post("/hub/models/resolve", json={"name": model["name"]})).json()
    assert direct["kind"] == "model"
    assert [(c["alias"], c["model"]) for c in direct["candidates"]] == [(None, model["name"])]

    backup = await make_alias(hub, model["name"])
    off = await make_alias(hub, model["name"], fallbacks=[backup["name"]], is_active=False)
    resolution = (await hub.post("/hub/models/resolve", json={"name": off["name"]})).json()
    assert [c["alias"] for c in resolution["candidates"]] == [backup["name"]]
    assert resolution["skipped"][0]["reason"] == "the alias is inactive"

    await detail(await hub.post("/hub/models/resolve", json={"name": unique("nothing")}), 404)
    await detail(await hub.post("/hub/models/resolve", json={"name": ""}), 422)


# Skills, MCP servers, agents


async def test_skills_and_mcps_crud(hub: httpx.AsyncClient) -> None:
    skill = await created(await hub.post("/hub/skills", json={"name": unique("skill"), "skill_path": "s/SKILL.md"}))
    assert skill["version"] == "1.0.0"
    assert skill["is_active"] is True
    patched = (await hub.patch(f"/hub/skills/{skill['name']}", json={"version": "1.1.0", "is_active": False})).json()
    assert patched["version"] == "1.1.0"
    assert skill["name"] in [s["name"] for s in (await hub.get("/hub/skills", params={"is_active": False})).json()]
    await detail(await hub.post("/hub/skills", json={"name": unique("skill")}), 422)

    mcp = await created(await hub.post("/hub/mcps", json={
        "name": unique("mcp"), "mcp_type": "github", "connection_config": {"token": "${GITHUB_TOKEN}"}}))
    assert (await hub.get(f"/hub/mcps/{mcp['id']}")).json()["connection_config"] == {"token": "${GITHUB_TOKEN}"}
    assert mcp["name"] in [m["name"] for m in (await hub.get("/hub/mcps", params={"mcp_type": "github"})).json()]
    assert (await hub.delete(f"/hub/skills/{skill['id']}")).status_code == 204
    assert (await hub.delete(f"/hub/mcps/{mcp['name']}")).status_code == 204
    await detail(await hub.get(f"/hub/mcps/{mcp['name']}"), 404)


async def test_agents_carry_their_skills_and_mcps(hub: httpx.AsyncClient) -> None:
    model, other = await make_model(hub), await make_model(hub)
    skills = [await created(await hub.post("/hub/skills", json={"name": unique("s"), "skill_path": "p"}))
              for _ in range(2)]
    mcp = await created(await hub.post("/hub/mcps", json={"name": unique("m"), "mcp_type": "custom"}))
    agent = await make_agent(hub, model["name"], system_prompt="review", config={"temperature": 0.7},
                             skill_ids=[skills[0]["id"]], mcp_ids=[mcp["id"]])
    assert agent["model"] == model["name"]
    assert agent["model_id"] == model["id"]
    assert agent["skill_ids"] == [skills[0]["id"]]
    assert agent["mcp_ids"] == [mcp["id"]]
    assert (await hub.get(f"/hub/agents/{agent['name']}")).json() == agent

    patched = (await hub.patch(f"/hub/agents/{agent['id']}", json={
        "skill_ids": [s["id"] for s in skills], "model": other["name"], "system_prompt": None})).json()
    assert sorted(patched["skill_ids"]) == sorted(s["id"] for s in skills)
    assert patched["mcp_ids"] == [mcp["id"]]  # not given: kept
    assert patched["model"] == other["name"]
    assert patched["system_prompt"] is None
    assert [a["name"] for a in (await hub.get("/hub/agents", params={"model": other["id"]})).json()] == [agent["name"]]

    stranger = str(uuid.uuid4())
    assert stranger in await detail(await hub.patch(f"/hub/agents/{agent['id']}", json={"mcp_ids": [stranger]}), 422)
    assert (await hub.get(f"/hub/agents/{agent['id']}")).json()["mcp_ids"] == [mcp["id"]]
    await detail(await hub.post("/hub/agents", json={"name": unique("a"), "model": unique("nothing")}), 422)
    await detail(await hub.post("/hub/agents", json={"name": unique("a"), "model": model["name"],
                                                     "skill_ids": [skills[0]["id"], skills[0]["id"]]}), 422)

    assert agent["name"] in await detail(await hub.delete(f"/hub/skills/{skills[0]['id']}"), 409)
    assert agent["name"] in await detail(await hub.delete(f"/hub/mcps/{mcp['id']}"), 409)
    assert (await hub.delete(f"/hub/agents/{agent['name']}")).status_code == 204
    assert (await hub.delete(f"/hub/skills/{skills[0]['id']}")).status_code == 204
    assert (await hub.delete(f"/hub/mcps/{mcp['id']}")).status_code == 204


# Executions


async def test_executions_record_status_usage_and_filter(hub: httpx.AsyncClient) -> None:
    agent = await make_agent(hub, (await make_model(hub))["name"])
    task = await created(await hub.post("/hub/tasks", json={"title": unique("task")}))
    run_id = unique("dagster")
    execution = await created(await hub.post("/hub/executions", json={
        "agent_type": "configured", "configured_agent_id": agent["id"], "task_id": task["id"],
        "execution_type": "task_processing", "input_data": {"prompt": "hi"}, "dagster_run_id": run_id}))
    assert execution["status"] == "pending"
    assert execution["started_at"] is None

    running = (await hub.patch(f"/hub/executions/{execution['id']}", json={"status": "running"})).json()
    assert running["status"] == "running"
    assert running["started_at"] is not None
    done = (await hub.patch(f"/hub/executions/{execution['id']}", json={
        "status": "success", "output_data": ["ok"], "token_usage": {"input_tokens": 10, "output_tokens": 5}})).json()
    assert done["completed_at"] is not None
    assert done["started_at"] == running["started_at"]
    assert done["output_data"] == ["ok"]
    assert done["token_usage"] == {"input_tokens": 10, "output_tokens": 5}
    assert (await hub.get(f"/hub/executions/{execution['id']}")).json() == done

    graph = await created(await hub.post("/hub/executions", json={
        "agent_type": "graph", "graph_agent_name": "react_agent", "execution_type": "chat_response",
        "status": "failed", "error_message": "boom", "dagster_run_id": run_id}))

    async def ids(**params: Any) -> list[str]:
        response = await hub.get("/hub/executions", params=params)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()]

    assert await ids(dagster_run_id=run_id) == [graph["id"], execution["id"]]  # newest first
    assert await ids(agent_id=agent["id"]) == [execution["id"]]
    assert await ids(task_id=task["id"]) == [execution["id"]]
    assert await ids(dagster_run_id=run_id, status="failed") == [graph["id"]]
    assert await ids(dagster_run_id=run_id, agent_type="graph") == [graph["id"]]

    # The execution outlives its agent, as history.
    assert (await hub.delete(f"/hub/agents/{agent['id']}")).status_code == 204
    assert (await hub.get(f"/hub/executions/{execution['id']}")).json()["configured_agent_id"] is None
    assert (await hub.delete(f"/hub/executions/{graph['id']}")).status_code == 204
    await detail(await hub.get(f"/hub/executions/{graph['id']}"), 404)


@pytest.mark.parametrize("body", [
    {"agent_type": "configured", "execution_type": "task_processing"},  # no configured_agent_id
    {"agent_type": "graph", "execution_type": "task_processing"},  # no graph_agent_name
    {"agent_type": "human", "graph_agent_name": "g", "execution_type": "task_processing"},
    {"agent_type": "graph", "graph_agent_name": "g", "execution_type": "x", "status": "done"},
    {"agent_type": "graph", "graph_agent_name": "g", "execution_type": "x", "task_id": str(uuid.uuid4())},
    {"agent_type": "configured", "configured_agent_id": str(uuid.uuid4()), "execution_type": "x"},
])
async def test_invalid_executions_are_422(hub: httpx.AsyncClient, body: dict[str, Any]) -> None:
    marker = unique("run")
    await detail(await hub.post("/hub/executions", json={**body, "dagster_run_id": marker}), 422)
    assert (await hub.get("/hub/executions", params={"dagster_run_id": marker})).json() == []


async def test_execution_patch_errors(hub: httpx.AsyncClient) -> None:
    await detail(await hub.patch(f"/hub/executions/{uuid.uuid4()}", json={"status": "running"}), 404)
    execution = await created(await hub.post("/hub/executions", json={
        "agent_type": "graph", "graph_agent_name": "g", "execution_type": "workflow_step"}))
    await detail(await hub.patch(f"/hub/executions/{execution['id']}", json={"status": "finished"}), 422)
    assert (await hub.get(f"/hub/executions/{execution['id']}")).json()["status"] == "pending"
