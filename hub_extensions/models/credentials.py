"""Provider credentials: a tenant's API key (write-only: stored encrypted, never returned) and endpoint for a
provider. Responses say whether a key is set and show only a masked hint of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import httpx
from pydantic import AfterValidator, BaseModel, Field, SecretStr

from agent_server.models.common import ApiModel
from hub_extensions.models.profiles import Identifier


def endpoint(url: str) -> str:
    """An absolute http(s) URL without credentials in it; kept without its trailing slash."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise ValueError("not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("an absolute http:// or https:// URL")
    if parsed.userinfo:
        raise ValueError("no user or password in the URL: put the secret in api_key")
    if parsed.query or parsed.fragment:
        raise ValueError("no query or fragment: the profile's transport sets those")
    return url.rstrip("/")


def printable_key(key: SecretStr) -> SecretStr:
    value = key.get_secret_value()
    if not value.isprintable() or any(char.isspace() for char in value) or not value.isascii():
        raise ValueError("an API key is printable ASCII without spaces")
    return key


EndpointUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(endpoint)]
ApiKey = Annotated[SecretStr, Field(min_length=1, max_length=4096), AfterValidator(printable_key)]


class CredentialCreate(ApiModel):
    tenant_id: Identifier
    provider_id: Identifier
    api_key: ApiKey | None = Field(default=None, description="write-only; needs OPEN_LANGGRAPH_HUB_SECRET_KEY")
    endpoint_url: EndpointUrl | None = Field(default=None, description="the provider's base URL, e.g. "
                                             "https://api.openai.com/v1 (profiles may set their own)")
    is_active: bool = Field(default=True, description="one active credential per tenant and provider")


class CredentialPatch(ApiModel):
    """Given fields replace the stored ones; `api_key: null` and `endpoint_url: null` clear them."""

    api_key: ApiKey | None = None
    endpoint_url: EndpointUrl | None = None
    is_active: bool | None = None


class Credential(BaseModel):
    id: UUID
    tenant_id: str
    provider_id: str
    endpoint_url: str | None
    is_active: bool
    has_api_key: bool
    api_key_hint: str | None = Field(description="the key's last characters, masked: ****wxyz")
    created_at: datetime
    updated_at: datetime
