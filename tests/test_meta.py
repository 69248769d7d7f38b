"""/ok, /info, /docs and /openapi.json."""

from __future__ import annotations

import httpx


async def test_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/ok")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_info_reports_version_and_capabilities(http: httpx.AsyncClient) -> None:
    body = (await http.get("/info")).json()
    assert body["version"]
    assert body["flags"]["assistants"] is True
    assert body["flags"]["store"] is True
    assert set(body["graphs"]) >= {"echo", "plain", "subgraph"}


async def test_openapi_lists_every_protocol_route(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/assistants", "/assistants/search", "/assistants/{assistant_id}/graph", "/ok", "/info"):
        assert path in spec["paths"], path


async def test_docs_page_is_html(http: httpx.AsyncClient) -> None:
    response = await http.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


async def test_unknown_route_is_json_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
