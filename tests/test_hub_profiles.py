"""Hub provider profiles and provider credentials, through HTTP against the real server and Postgres, calling a
fake provider served on 127.0.0.1 (tests/fake_provider.py); the templating as plain functions."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from conftest import ServedApp, hub_config, make_settings
from cryptography.fernet import Fernet
from fake_provider import API_KEY, AUDIO_BYTES, POLLS_UNTIL_DONE, VIDEO_BYTES, WAV_BYTES, FakeProvider

from agent_server.app import create_app
from hub_extensions.services.templating import MissingVariable, render, substitute

SECRET_KEY = Fernet.generate_key().decode()
PROVIDER = "fake"

pytestmark = pytest.mark.xdist_group("hub_profiles")


# --- fixtures -------------------------------------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="module")
async def fake_server() -> AsyncIterator[FakeProvider]:
    provider = FakeProvider()
    async with ServedApp(provider.app) as served:
        provider.url = served.url
        yield provider


@pytest.fixture
def fake(fake_server: FakeProvider) -> FakeProvider:
    """The fake provider, with the requests of earlier tests forgotten."""
    fake_server.requests.clear()
    return fake_server


def hub_app_settings(database_url: str, secret_key: str | None) -> Any:
    return make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0, hub={"secret_key": secret_key})


@pytest_asyncio.fixture(scope="module")
async def keyed_server(database_url: str) -> AsyncIterator[ServedApp]:
    """The hub with OPEN_LANGGRAPH_HUB_SECRET_KEY set."""
    async with ServedApp(create_app(hub_app_settings(database_url, SECRET_KEY), hub_config())) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def keyless_server(database_url: str) -> AsyncIterator[ServedApp]:
    """The hub on the same database without a secret key."""
    async with ServedApp(create_app(hub_app_settings(database_url, None), hub_config())) as served:
        yield served


@pytest_asyncio.fixture
async def api(keyed_server: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keyed_server.url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture
async def keyless(keyless_server: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keyless_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"


# --- helpers --------------------------------------------------------------------------------------------------------

def chat_profile(tenant: str, **overrides: Any) -> dict[str, Any]:
    """Example (A) of the design: OpenAI chat completions."""
    profile = {
        "tenant_id": tenant, "provider_id": PROVIDER, "purpose": "chat", "model_id": None,
        "transport": {
            "kind": "http_json", "method": "POST", "path": "/chat/completions",
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer {{apiKey}}"},
            "body": {"model": "{{model}}", "messages": [{"role": "user", "content": "{{userPrompt}}"}]},
            "timeout_ms": 5000,
        },
        "response_mapping": {"result_type": "text", "extract": {"text_path": "choices[0].message.content"}},
    }
    return {**profile, **overrides}


def with_transport(profile: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**profile, "transport": {**profile["transport"], **changes}}


async def create_credential(api: httpx.AsyncClient, fake: FakeProvider, tenant: str, **overrides: Any) -> Any:
    body = {"tenant_id": tenant, "provider_id": PROVIDER, "api_key": API_KEY,
            "endpoint_url": f"{fake.url}/v1", **overrides}
    response = await api.post("/hub/credentials", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def create_profile(api: httpx.AsyncClient, profile: dict[str, Any]) -> Any:
    response = await api.post("/hub/profiles", json=profile)
    assert response.status_code == 200, response.text
    return response.json()


async def invocations(api: httpx.AsyncClient, profile_id: str) -> list[Any]:
    response = await api.get(f"/hub/profiles/{profile_id}/invocations")
    assert response.status_code == 200, response.text
    return list(response.json())


def stored_credential(database_url: str, credential_id: str) -> tuple[str | None, str | None]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT api_key_encrypted, api_key_hint FROM provider_api_credentials WHERE id = %s",
                           (credential_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


# --- templating (plain functions) -----------------------------------------------------------------------------------

def test_a_lone_placeholder_keeps_its_type() -> None:
    template = {"max": "{{maxTokens}}", "t": "{{ params_t }}", "stream": "{{params_stream}}", "obj": "{{params_o}}"}
    variables = {"maxTokens": 256, "params_t": 0.5, "params_stream": False, "params_o": {"a": [1]}}
    assert render(template, variables) == {"max": 256, "t": 0.5, "stream": False, "obj": {"a": [1]}}


def test_placeholders_inside_longer_strings_are_text_and_nested_trees_are_walked() -> None:
    template = {"messages": [{"role": "user", "content": "{{userPrompt}} ({{maxTokens}} tokens, {{params_x}})"}],
                "{{keys}}": "stay", "n": 2, "flag": True, "none": None}
    rendered = render(template, {"userPrompt": "hi", "maxTokens": 256, "params_x": True})
    assert rendered == {"messages": [{"role": "user", "content": "hi (256 tokens, true)"}],
                        "{{keys}}": "stay", "n": 2, "flag": True, "none": None}


def test_a_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(MissingVariable) as raised:
        render({"a": ["x", {"b": "Hello {{language}}"}]}, {"userPrompt": "hi"})
    assert raised.value.name == "language"


def test_url_substitution_escapes_values() -> None:
    escaped = substitute("/videos/{{job_id}}", {"job_id": "../x?y=1#z"}, lambda text: text.replace("/", "%2F")
                         .replace("?", "%3F").replace("#", "%23"))
    assert escaped == "/videos/..%2Fx%3Fy=1%23z"


# --- credentials ----------------------------------------------------------------------------------------------------

async def test_credential_api_key_is_encrypted_at_rest_and_never_returned(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str, database_url: str
) -> None:
    created = await create_credential(api, fake, tenant)
    assert created["has_api_key"] is True
    assert created["api_key_hint"] == "****" + API_KEY[-4:]
    assert "api_key" not in created
    for response in (await api.get(f"/hub/credentials/{created['id']}"),
                     await api.get("/hub/credentials", params={"tenant_id": tenant})):
        assert response.status_code == 200
        assert API_KEY not in response.text
        assert API_KEY[:-4] not in response.text
    ciphertext, hint = stored_credential(database_url, created["id"])
    assert ciphertext is not None
    assert API_KEY not in ciphertext
    assert Fernet(SECRET_KEY).decrypt(ciphertext.encode()).decode() == API_KEY
    assert hint == "****" + API_KEY[-4:]


async def test_without_a_secret_key_an_api_key_is_refused_and_nothing_is_stored(
    keyless: httpx.AsyncClient, tenant: str
) -> None:
    response = await keyless.post("/hub/credentials", json={"tenant_id": tenant, "provider_id": PROVIDER,
                                                            "api_key": API_KEY})
    assert response.status_code == 422
    assert "OPEN_LANGGRAPH_HUB_SECRET_KEY" in response.json()["detail"]
    assert (await keyless.get("/hub/credentials", params={"tenant_id": tenant})).json() == []

    endpoint_only = await keyless.post("/hub/credentials", json={
        "tenant_id": tenant, "provider_id": PROVIDER, "endpoint_url": "http://127.0.0.1:11434/v1/"})
    assert endpoint_only.status_code == 200, endpoint_only.text
    assert endpoint_only.json()["has_api_key"] is False
    assert endpoint_only.json()["api_key_hint"] is None
    assert endpoint_only.json()["endpoint_url"] == "http://127.0.0.1:11434/v1"


async def test_one_active_credential_per_tenant_and_provider(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    first = await create_credential(api, fake, tenant)
    duplicate = await api.post("/hub/credentials", json={"tenant_id": tenant, "provider_id": PROVIDER})
    assert duplicate.status_code == 409
    second = await create_credential(api, fake, tenant, is_active=False, api_key="sk-second-key-000000")
    assert (await api.patch(f"/hub/credentials/{second['id']}", json={"is_active": True})).status_code == 409
    assert (await api.patch(f"/hub/credentials/{first['id']}", json={"is_active": False})).status_code == 200
    activated = await api.patch(f"/hub/credentials/{second['id']}", json={"is_active": True})
    assert activated.status_code == 200, activated.text
    assert activated.json()["is_active"] is True
    other_provider = await create_credential(api, fake, tenant, provider_id="other")
    assert other_provider["is_active"] is True


async def test_credential_patch_replaces_or_removes_the_key(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str, database_url: str
) -> None:
    created = await create_credential(api, fake, tenant)
    before, _ = stored_credential(database_url, created["id"])
    replaced = await api.patch(f"/hub/credentials/{created['id']}", json={"api_key": "sk-replacement-key-wxyz"})
    assert replaced.status_code == 200
    assert replaced.json()["api_key_hint"] == "****wxyz"
    after, _ = stored_credential(database_url, created["id"])
    assert after != before
    assert replaced.json()["endpoint_url"] == created["endpoint_url"]

    removed = await api.patch(f"/hub/credentials/{created['id']}", json={"api_key": None, "endpoint_url": None})
    assert removed.json()["has_api_key"] is False
    assert removed.json()["endpoint_url"] is None
    assert stored_credential(database_url, created["id"]) == (None, None)


@pytest.mark.parametrize("body", [
    {"endpoint_url": "ftp://example.com"},
    {"endpoint_url": "https://user:secret@example.com/v1"},
    {"endpoint_url": "https://example.com/v1?key=1"},
    {"endpoint_url": "not a url"},
    {"api_key": "has spaces in it"},
    {"api_key": ""},
    {"tenant_id": ""},
    {"provider_id": "with space"},
])
async def test_invalid_credentials_are_422_and_store_nothing(
    api: httpx.AsyncClient, tenant: str, body: dict[str, Any]
) -> None:
    response = await api.post("/hub/credentials", json={"tenant_id": tenant, "provider_id": PROVIDER, **body})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert (await api.get("/hub/credentials", params={"tenant_id": tenant})).json() == []


async def test_unknown_credentials_are_404(api: httpx.AsyncClient, fake: FakeProvider, tenant: str) -> None:
    missing = uuid.uuid4()
    assert (await api.get(f"/hub/credentials/{missing}")).status_code == 404
    assert (await api.patch(f"/hub/credentials/{missing}", json={"is_active": False})).status_code == 404
    assert (await api.delete(f"/hub/credentials/{missing}")).status_code == 404
    created = await create_credential(api, fake, tenant)
    assert (await api.delete(f"/hub/credentials/{created['id']}")).status_code == 204
    assert (await api.get(f"/hub/credentials/{created['id']}")).status_code == 404


# --- profiles: CRUD, validation, selection --------------------------------------------------------------------------

async def test_profile_crud(api: httpx.AsyncClient, tenant: str) -> None:
    created = await create_profile(api, chat_profile(tenant, model_id="gpt-4o", description="chat"))
    assert created["transport"]["retry"] == {"max": 0, "backoff_ms": 0}
    assert created["workflow"] is None
    assert (await api.get(f"/hub/profiles/{created['id']}")).json() == created
    listed = (await api.get("/hub/profiles", params={"tenant_id": tenant, "purpose": "chat"})).json()
    assert [p["id"] for p in listed] == [created["id"]]

    patched = await api.patch(f"/hub/profiles/{created['id']}", json={"model_id": None, "is_active": False})
    assert patched.status_code == 200, patched.text
    assert patched.json()["model_id"] is None
    assert patched.json()["description"] == "chat"
    assert patched.json()["updated_at"] >= created["updated_at"]
    assert (await api.get("/hub/profiles", params={"tenant_id": tenant, "is_active": True})).json() == []

    assert (await api.delete(f"/hub/profiles/{created['id']}")).status_code == 204
    assert (await api.get(f"/hub/profiles/{created['id']}")).status_code == 404
    assert (await api.delete(f"/hub/profiles/{created['id']}")).status_code == 404


def _mapping(**changes: Any) -> dict[str, Any]:
    return {"response_mapping": {"result_type": "text", "extract": {"text_path": "choices[0].message.content"},
                                 **changes}}


BAD_PROFILES: list[tuple[str, dict[str, Any], str]] = [
    ("bad extract path", _mapping(extract={"text_path": "choices[0"}), "choices[0"),
    ("text without a text path", _mapping(extract={}), "text_path"),
    ("binary text", _mapping(mode="binary"), "json mode"),
    ("image urls without a path", {"response_mapping": {"result_type": "image_urls"}}, "urls_path"),
    ("json_base64 without mime", {"response_mapping": {"result_type": "audio_data_url", "mode": "json_base64",
                                                        "extract": {"base64_path": "a"}}}, "mime_path"),
    ("unknown result type", _mapping(result_type="pdf"), "result_type"),
    ("misspelt mapping field", _mapping(extracts={}), "extracts"),
]
BAD_TRANSPORTS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown variable", {"body": {"content": "{{userprompt}}"}}, "userprompt"),
    ("unknown kind", {"kind": "grpc"}, "kind"),
    ("misspelt field", {"methd": "GET"}, "methd"),
    ("relative path", {"path": "chat/completions"}, "path"),
    ("non-http base url", {"base_url": "ftp://x"}, "base_url"),
    ("templated host scheme", {"base_url": "{{params_host}}/v1"}, "base_url"),
    ("header with a line break", {"headers": {"X-A": "a\r\nX-B: b"}}, "headers"),
    ("timeout out of range", {"timeout_ms": 0}, "timeout_ms"),
    ("too many retries", {"retry": {"max": 100}}, "retry"),
]


@pytest.mark.parametrize(("case", "changes", "named"), BAD_PROFILES, ids=[c[0] for c in BAD_PROFILES])
async def test_invalid_mappings_are_422_when_saved(
    api: httpx.AsyncClient, tenant: str, case: str, changes: dict[str, Any], named: str
) -> None:
    response = await api.post("/hub/profiles", json={**chat_profile(tenant), **changes})
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
    assert (await api.get("/hub/profiles", params={"tenant_id": tenant})).json() == []


@pytest.mark.parametrize(("case", "changes", "named"), BAD_TRANSPORTS, ids=[c[0] for c in BAD_TRANSPORTS])
async def test_invalid_transports_are_422_when_saved(
    api: httpx.AsyncClient, tenant: str, case: str, changes: dict[str, Any], named: str
) -> None:
    response = await api.post("/hub/profiles", json=with_transport(chat_profile(tenant), **changes))
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
    assert (await api.get("/hub/profiles", params={"tenant_id": tenant})).json() == []


VIDEO_WORKFLOW: dict[str, Any] = {
    "type": "async_job", "job_id_path": "id",
    "steps": [
        {"name": "poll", "method": "GET", "path": "/videos/{{job_id}}", "interval_ms": 10, "max_attempts": 10,
         "status_path": "status", "terminal_states": ["completed", "failed", "canceled"]},
        {"name": "download", "method": "GET", "path": "/videos/{{job_id}}/content", "mode": "binary",
         "content_type": "video/mp4"},
    ],
}


@pytest.mark.parametrize(("workflow", "named"), [
    ({**VIDEO_WORKFLOW, "steps": VIDEO_WORKFLOW["steps"][::-1]}, "poll step first"),
    ({**VIDEO_WORKFLOW, "steps": [{**VIDEO_WORKFLOW["steps"][0], "success_states": ["done"]}]}, "success_states"),
    ({**VIDEO_WORKFLOW, "job_id_path": "id["}, "job_id_path"),
    ({**VIDEO_WORKFLOW, "steps": [{**VIDEO_WORKFLOW["steps"][0], "path": "/v/{{jobid}}"}]}, "jobid"),
    ({**VIDEO_WORKFLOW, "type": "sync"}, "type"),
])
async def test_invalid_workflows_are_422_when_saved(
    api: httpx.AsyncClient, tenant: str, workflow: dict[str, Any], named: str
) -> None:
    profile = {**chat_profile(tenant), "purpose": "video", "workflow": workflow,
               "response_mapping": {"result_type": "video_data_url"}}
    response = await api.post("/hub/profiles", json=profile)
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]


async def test_a_patch_is_checked_with_the_rest_of_the_profile(api: httpx.AsyncClient, tenant: str) -> None:
    created = await create_profile(api, chat_profile(tenant))
    response = await api.patch(f"/hub/profiles/{created['id']}", json={"response_mapping": {
        "result_type": "image_urls", "extract": {"text_path": "x"}}})
    assert response.status_code == 422, response.text
    assert "urls_path" in response.json()["detail"]
    bad_path = await api.patch(f"/hub/profiles/{created['id']}", json={"transport": {"path": "/{{nope}}"}})
    assert bad_path.status_code == 422
    assert (await api.get(f"/hub/profiles/{created['id']}")).json() == created


async def test_selection_prefers_the_exact_model_then_any_model_then_the_newest(
    api: httpx.AsyncClient, tenant: str
) -> None:
    older_generic = await create_profile(api, chat_profile(tenant))
    exact = await create_profile(api, chat_profile(tenant, model_id="gpt-4o"))
    newer_generic = await create_profile(api, chat_profile(tenant))
    await create_profile(api, chat_profile(tenant, model_id="gpt-4o", is_active=False))
    await create_profile(api, chat_profile(tenant, model_id="gpt-4o", purpose="image"))

    async def selected(**params: str) -> Any:
        query = {"tenant_id": tenant, "provider_id": PROVIDER, "purpose": "chat", **params}
        return await api.get("/hub/profiles/select", params=query)

    assert (await selected(model_id="gpt-4o")).json()["id"] == exact["id"]
    assert (await selected(model_id="other-model")).json()["id"] == newer_generic["id"]
    assert (await selected()).json()["id"] == newer_generic["id"]

    await api.patch(f"/hub/profiles/{older_generic['id']}", json={"description": "touched: now the newest"})
    assert (await selected()).json()["id"] == older_generic["id"]
    await api.patch(f"/hub/profiles/{exact['id']}", json={"is_active": False})
    assert (await selected(model_id="gpt-4o")).json()["id"] == older_generic["id"]

    assert (await selected(provider_id="nobody")).status_code == 404
    assert (await selected(purpose="audio")).status_code == 404
    other_tenant = await api.get("/hub/profiles/select", params={"tenant_id": "someone-else",
                                                                 "provider_id": PROVIDER, "purpose": "chat"})
    assert other_tenant.status_code == 404
    assert (await selected(purpose="not-a-purpose")).status_code == 422


# --- invocation -----------------------------------------------------------------------------------------------------

async def test_chat_invocation_substitutes_variables_with_their_types(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    profile = chat_profile(tenant, model_id="gpt-4o")
    profile["transport"]["body"] |= {"max_completion_tokens": "{{maxTokens}}", "temperature": "{{params_temp}}",
                                     "metadata": {"note": "lang={{language}}, n={{maxTokens}}"}}
    profile["transport"]["query"] = {"api-version": "{{params_version}}"}
    created = await create_profile(api, profile)

    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={
        "userPrompt": "hello", "maxTokens": 256, "language": "ko", "params": {"temp": 0.5, "version": "2024-01"}})
    assert response.status_code == 200, response.text
    assert response.json() == {"result_type": "text", "text": "echo: hello"}

    [call] = fake.calls_to("/v1/chat/completions")
    assert call["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert call["query"] == {"api-version": "2024-01"}
    assert call["json"] == {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}],
                            "max_completion_tokens": 256, "temperature": 0.5,
                            "metadata": {"note": "lang=ko, n=256"}}
    [logged] = await invocations(api, created["id"])
    assert logged["outcome"] == "success"
    assert logged["status_code"] == 200
    assert logged["result_type"] == "text"

    model_from_body = await api.post(f"/hub/profiles/{created['id']}/invoke", json={
        "model": "gpt-4o-mini", "userPrompt": "x", "maxTokens": 1, "language": "en", "params": {"temp": 1,
                                                                                                "version": "v"}})
    assert model_from_body.status_code == 200
    assert fake.calls_to("/v1/chat/completions")[-1]["json"]["model"] == "gpt-4o-mini"


async def test_image_invocation_returns_urls(api: httpx.AsyncClient, fake: FakeProvider, tenant: str) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, {
        "tenant_id": tenant, "provider_id": PROVIDER, "purpose": "image",
        "transport": {"path": "/images/generations",
                      "headers": {"Authorization": "Bearer {{apiKey}}"},
                      "body": {"model": "{{model}}", "prompt": "{{userPrompt}}", "n": "{{params_n}}",
                               "size": "1024x1024"}},
        "response_mapping": {"result_type": "image_urls", "extract": {"urls_path": "data[].url"}},
    })
    response = await api.post(f"/hub/profiles/{created['id']}/invoke",
                              json={"model": "dall-e-3", "userPrompt": "a cat", "params": {"n": 2}})
    assert response.status_code == 200, response.text
    assert response.json() == {"result_type": "image_urls",
                               "urls": ["https://images.example/0.png", "https://images.example/1.png"]}
    assert fake.calls_to("/v1/images/generations")[0]["json"]["n"] == 2


async def test_binary_audio_becomes_a_data_url(api: httpx.AsyncClient, fake: FakeProvider, tenant: str) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, {
        "tenant_id": tenant, "provider_id": PROVIDER, "purpose": "audio",
        "transport": {"path": "/audio/speech", "headers": {"Authorization": "Bearer {{apiKey}}"},
                      "body": {"model": "tts-1", "input": "{{input}}", "voice": "alloy"}},
        "response_mapping": {"result_type": "audio_data_url", "mode": "binary"},
    })
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"input": "say this"})
    assert response.status_code == 200, response.text
    data_url = response.json()["data_url"]
    prefix = "data:audio/mpeg;base64,"
    assert data_url.startswith(prefix)
    assert base64.b64decode(data_url[len(prefix):]) == AUDIO_BYTES


async def test_base64_audio_in_json_becomes_a_data_url(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, {
        "tenant_id": tenant, "provider_id": PROVIDER, "purpose": "audio",
        "transport": {"path": "/audio/base64", "body": {"instances": [{"text": "{{userPrompt}}"}]}},
        "response_mapping": {"result_type": "audio_data_url", "mode": "json_base64", "extract": {
            "base64_path": "predictions[0].audioContent", "mime_path": "predictions[0].mimeType"}},
    })
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"userPrompt": "hi"})
    assert response.status_code == 200, response.text
    assert response.json() == {"result_type": "audio_data_url",
                               "data_url": "data:audio/wav;base64," + base64.b64encode(WAV_BYTES).decode()}


async def video_profile(api: httpx.AsyncClient, tenant: str, **poll_changes: Any) -> Any:
    poll = {**VIDEO_WORKFLOW["steps"][0], **poll_changes}
    return await create_profile(api, {
        "tenant_id": tenant, "provider_id": PROVIDER, "purpose": "video",
        "transport": {"path": "/videos", "headers": {"Authorization": "Bearer {{apiKey}}"},
                      "body": {"model": "sora-2", "prompt": "{{userPrompt}}"}},
        "response_mapping": {"result_type": "video_data_url"},
        "workflow": {**VIDEO_WORKFLOW, "steps": [poll, VIDEO_WORKFLOW["steps"][1]]},
    })


async def test_async_video_job_is_submitted_polled_and_downloaded(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await video_profile(api, tenant)
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"userPrompt": "a sunset"})
    assert response.status_code == 200, response.text
    result = response.json()
    job_id = result["job_id"]
    assert result["result_type"] == "video_data_url"
    assert base64.b64decode(result["data_url"].removeprefix("data:video/mp4;base64,")) == VIDEO_BYTES
    paths = [call["path"] for call in fake.requests]
    assert paths == ["/v1/videos", *[f"/v1/videos/{job_id}"] * (POLLS_UNTIL_DONE + 1),
                     f"/v1/videos/{job_id}/content"]
    assert all(call["headers"]["authorization"] == f"Bearer {API_KEY}" for call in fake.requests)


async def test_a_failed_or_unfinished_job_is_an_error(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await video_profile(api, tenant)
    failed = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"userPrompt": "please fail"})
    assert failed.status_code == 502
    assert "ended in state 'failed'" in failed.json()["detail"]
    assert not any(call["path"].endswith("/content") for call in fake.requests)

    impatient = await video_profile(api, tenant, max_attempts=2)
    stuck = await api.post(f"/hub/profiles/{impatient['id']}/invoke", json={"userPrompt": "stuck"})
    assert stuck.status_code == 504
    assert "not finished after 2 polls" in stuck.json()["detail"]
    assert [entry["outcome"] for entry in await invocations(api, created["id"])] == ["error"]


async def test_retries_with_backoff_turn_two_503s_into_a_success(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    key = uuid.uuid4().hex
    created = await create_profile(api, with_transport(chat_profile(tenant), path=f"/flaky/{key}",
                                                       retry={"max": 2, "backoff_ms": 10}))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "again"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "echo: again"
    assert len(fake.calls_to(f"/v1/flaky/{key}")) == 3

    too_few = await create_profile(api, with_transport(chat_profile(tenant), path=f"/flaky/{uuid.uuid4().hex}",
                                                       retry={"max": 1, "backoff_ms": 10}))
    failed = await api.post(f"/hub/profiles/{too_few['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert failed.status_code == 502
    assert "HTTP 503" in failed.json()["detail"]
    assert "after 2 attempts" in failed.json()["detail"]


async def test_a_slow_provider_times_out(api: httpx.AsyncClient, fake: FakeProvider, tenant: str) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, with_transport(chat_profile(tenant), path="/slow", timeout_ms=200,
                                                       query={"seconds": "3"}))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert response.status_code == 504, response.text
    assert "did not answer within 200 ms" in response.json()["detail"]
    [logged] = await invocations(api, created["id"])
    assert (logged["outcome"], logged["status_code"]) == ("error", 504)


async def test_a_provider_500_is_a_502_naming_the_failure(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, with_transport(chat_profile(tenant), path="/boom"))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert "provider failure" in detail
    assert "HTTP 500" in detail
    assert "internal boom" in detail
    assert len(fake.calls_to("/v1/boom")) == 1  # no retries configured
    assert [(e["outcome"], e["status_code"]) for e in await invocations(api, created["id"])] == [("error", 502)]


@pytest.mark.parametrize(("path", "named"), [
    ("/malformed", "extract.text_path 'choices[0].message.content' found nothing"),
    ("/html", "not JSON (text/html)"),
])
async def test_a_malformed_answer_is_a_502_and_not_a_success(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str, path: str, named: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, with_transport(chat_profile(tenant), path=path))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert response.status_code == 502
    assert named in response.json()["detail"]
    logged = await invocations(api, created["id"])
    assert [entry["outcome"] for entry in logged] == ["error"]
    assert named in logged[0]["detail"]


async def test_a_missing_variable_is_a_422_naming_it_and_nothing_is_sent(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, chat_profile(tenant))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m"})
    assert response.status_code == 422
    assert "'userPrompt'" in response.json()["detail"]
    params = with_transport(chat_profile(tenant), body={"n": "{{params_n}}", "p": "{{userPrompt}}"})
    with_param = await create_profile(api, params)
    missing_param = await api.post(f"/hub/profiles/{with_param['id']}/invoke", json={"userPrompt": "x"})
    assert missing_param.status_code == 422
    assert "params.n" in missing_param.json()["detail"]
    assert fake.requests == []


async def test_without_a_credential_key_apikey_is_missing(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    created = await create_profile(api, chat_profile(tenant))
    no_base = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert no_base.status_code == 422
    assert "no base URL" in no_base.json()["detail"]

    await create_credential(api, fake, tenant, api_key=None)
    no_key = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert no_key.status_code == 422
    assert "'apiKey'" in no_key.json()["detail"]
    assert fake.requests == []


async def test_the_profile_base_url_wins_and_is_templated(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant, endpoint_url="http://127.0.0.1:9/unused")
    port = fake.url.rsplit(":", 1)[1]
    created = await create_profile(api, with_transport(
        chat_profile(tenant), base_url="http://127.0.0.1:{{params_port}}/v1"))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke",
                              json={"model": "m", "userPrompt": "x", "params": {"port": port}})
    assert response.status_code == 200, response.text
    assert len(fake.calls_to("/v1/chat/completions")) == 1


async def test_an_echoed_api_key_is_redacted_from_errors(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, with_transport(chat_profile(tenant), path="/echo-key"))
    response = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert response.status_code == 502
    assert API_KEY not in response.text
    assert "[redacted]" in response.json()["detail"]
    assert API_KEY not in str(await invocations(api, created["id"]))


async def test_a_key_that_cannot_be_decrypted_is_a_clear_error(
    api: httpx.AsyncClient, keyless: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, chat_profile(tenant))
    response = await keyless.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert response.status_code == 422
    assert "cannot be decrypted" in response.json()["detail"]
    assert fake.requests == []


async def test_inactive_and_unknown_profiles_are_not_invoked(
    api: httpx.AsyncClient, fake: FakeProvider, tenant: str
) -> None:
    await create_credential(api, fake, tenant)
    created = await create_profile(api, chat_profile(tenant, is_active=False))
    inactive = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"model": "m", "userPrompt": "x"})
    assert inactive.status_code == 409
    unknown = await api.post(f"/hub/profiles/{uuid.uuid4()}/invoke", json={"userPrompt": "x"})
    assert unknown.status_code == 404
    assert (await api.post(f"/hub/profiles/{uuid.uuid4()}/invoke")).status_code == 404  # the body is optional
    assert (await api.get(f"/hub/profiles/{uuid.uuid4()}/invocations")).status_code == 404
    bad_params = await api.post(f"/hub/profiles/{created['id']}/invoke", json={"params": {"x": {"nested": 1}}})
    assert bad_params.status_code == 422
    assert fake.requests == []
