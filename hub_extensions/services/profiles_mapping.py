"""Reading a provider's answer as a profile's `response_mapping` says: JMESPath extraction from JSON, or a data URL
made from a binary body or from base64 in JSON. A path that finds nothing, or finds the wrong kind of value, is a
ProviderFailure naming the path."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.parser import ParsedResult

from hub_extensions.models.profiles import DATA_URL_RESULTS, URLS_RESULTS, ResponseMapping
from hub_extensions.services.profiles_http import ProviderFailure, ProviderResponse

MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
FALLBACK_MEDIA_TYPE = "application/octet-stream"


@lru_cache(maxsize=1024)
def compiled(path: str) -> ParsedResult:
    return jmespath.compile(path)


def extract(document: Any, path: str, label: str) -> Any:
    """The value at `path`; a ProviderFailure if there is none."""
    found = compiled(path).search(document)
    if found is None or found == []:
        raise ProviderFailure(f"provider answer not understood: {label} {path!r} found nothing in it")
    return found


def extract_text(document: Any, path: str, label: str) -> str:
    found = extract(document, path, label)
    if isinstance(found, str):
        return found
    if isinstance(found, int | float) and not isinstance(found, bool):
        return str(found)
    raise ProviderFailure(f"provider answer not understood: {label} {path!r} found {type(found).__name__}, not text")


def _urls(document: Any, path: str) -> list[str]:
    found = extract(document, path, "extract.urls_path")
    urls = [found] if isinstance(found, str) else found
    if not isinstance(urls, list) or not all(isinstance(url, str) and url for url in urls):
        raise ProviderFailure(f"provider answer not understood: extract.urls_path {path!r} found something other "
                              "than URLs (strings)")
    return urls


def _data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _media_type(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate and MEDIA_TYPE.match(candidate.strip()):
            return candidate.strip().lower()
    return FALLBACK_MEDIA_TYPE


def _from_json_base64(mapping: ResponseMapping, document: Any) -> str:
    path = mapping.extract.base64_path or ""
    encoded = extract_text(document, path, "extract.base64_path")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderFailure(f"provider answer not understood: extract.base64_path {path!r} found text that is "
                              "not base64") from None
    mime = mapping.content_type or (
        extract_text(document, mapping.extract.mime_path, "extract.mime_path") if mapping.extract.mime_path else "")
    return _data_url(_media_type(mime), data)


def _from_json_data_url(mapping: ResponseMapping, document: Any) -> str:
    path = mapping.extract.data_url_path or ""
    found = extract_text(document, path, "extract.data_url_path")
    if not found.startswith("data:"):
        raise ProviderFailure(f"provider answer not understood: extract.data_url_path {path!r} found text that is "
                              "not a data: URL")
    return found


def _data_url_result(mapping: ResponseMapping, response: ProviderResponse) -> str:
    if mapping.mode == "binary":
        if not response.content:
            raise ProviderFailure("provider answer not understood: the binary answer is empty")
        return _data_url(_media_type(mapping.content_type, response.media_type), response.content)
    document = response.json("response_mapping")
    if mapping.mode == "json_base64":
        return _from_json_base64(mapping, document)
    return _from_json_data_url(mapping, document)


def map_response(mapping: ResponseMapping, response: ProviderResponse) -> dict[str, Any]:
    """The invocation's result: `{"result_type": ..., <text | urls | data_url | raw>: ...}`."""
    result_type = mapping.result_type
    if result_type in DATA_URL_RESULTS:
        return {"result_type": result_type, "data_url": _data_url_result(mapping, response)}
    document = response.json("response_mapping")
    if result_type == "text":
        return {"result_type": result_type,
                "text": extract_text(document, mapping.extract.text_path or "", "extract.text_path")}
    if result_type in URLS_RESULTS:
        return {"result_type": result_type, "urls": _urls(document, mapping.extract.urls_path or "")}
    return {"result_type": result_type, "raw": document}
