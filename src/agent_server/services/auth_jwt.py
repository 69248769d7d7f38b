"""The built-in JWT authenticator: a `langgraph_sdk.Auth` configured by settings, with no user code.

HS256 with a shared secret, or RS256/ES256 with a public key (PEM) or a JWKS (file or URL). The token comes
from `Authorization: Bearer <token>` or from a configurable API-key header; `iss`, `aud` and `exp` are checked
and the identity and tenant come from claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt
from langgraph_sdk import Auth

from agent_server.settings import JwtSettings

Unauthorized = Auth.exceptions.HTTPException


class KeySource:
    """Where verification keys come from: a secret, a PEM public key, or a JWKS document (file or URL)."""

    def __init__(self, settings: JwtSettings) -> None:
        self._static: Any = None
        self._jwks_client: jwt.PyJWKClient | None = None
        self._jwk_set: jwt.PyJWKSet | None = None
        if settings.secret:
            self._static = settings.secret.get_secret_value()
        elif settings.public_key:
            self._static = read_pem(settings.public_key)
        elif settings.jwks and settings.jwks.startswith(("http://", "https://")):
            self._jwks_client = jwt.PyJWKClient(settings.jwks, cache_keys=True, lifespan=300)
        elif settings.jwks:
            self._jwk_set = jwt.PyJWKSet.from_json(Path(settings.jwks).read_text())

    async def key_for(self, token: str) -> Any:
        if self._static is not None:
            return self._static
        if self._jwks_client is not None:  # fetches with urllib: keep it off the event loop
            return (await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)).key
        assert self._jwk_set is not None
        return self._key_from_set(self._jwk_set, jwt.get_unverified_header(token).get("kid"))

    @staticmethod
    def _key_from_set(jwk_set: jwt.PyJWKSet, kid: str | None) -> Any:
        if kid is None and len(jwk_set.keys) == 1:
            return jwk_set.keys[0].key
        for jwk in jwk_set.keys:
            if jwk.key_id == kid:
                return jwk.key
        raise jwt.InvalidKeyError(f"no key with kid {kid!r} in the JWKS")


def read_pem(value: str) -> str:
    """A PEM given inline, or the path of a PEM file."""
    return value if value.lstrip().startswith("-----BEGIN") else Path(value).read_text()


def token_from_headers(headers: Mapping[bytes, bytes], api_key_header: str | None) -> str:
    authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if api_key_header:
        api_key = headers.get(api_key_header.lower().encode("latin-1"), b"").decode("latin-1").strip()
        if api_key:
            return api_key
    raise Unauthorized(401, "Missing credentials: send Authorization: Bearer <token>")


def permissions_from(claims: Mapping[str, Any], claim: str) -> list[str]:
    """A list claim as is; a space-separated string claim (OAuth `scope`) split."""
    value = claims.get(claim)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, Sequence):
        return [str(item) for item in value]
    return []


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self.keys = KeySource(settings)
        self.algorithms = settings.algorithms or (["HS256"] if settings.secret else ["RS256", "ES256"])

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or 401 saying why the token is refused."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, await self.keys.key_for(token), algorithms=self.algorithms,
                audience=self.settings.audience, issuer=self.settings.issuer,
                options={"require": ["exp"], "verify_aud": self.settings.audience is not None},
                leeway=self.settings.leeway_seconds,
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(401, f"Invalid token: {exc}") from None
        if not isinstance(claims.get(self.settings.identity_claim), str) or not claims[self.settings.identity_claim]:
            raise Unauthorized(401, f"Invalid token: no {self.settings.identity_claim!r} claim")
        return claims

    def user(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        identity = claims[self.settings.identity_claim]
        return {
            "identity": identity,
            "display_name": str(claims.get(self.settings.name_claim) or identity),
            "is_authenticated": True,
            "permissions": permissions_from(claims, self.settings.permissions_claim),
            "org_id": claims.get(self.settings.tenant_claim),
            "claims": dict(claims),
        }


def jwt_auth(settings: JwtSettings) -> Auth | None:
    """An `Auth` whose `authenticate` verifies JWTs, or None when no key is configured."""
    if not settings.configured:
        return None
    verifier = JwtVerifier(settings)
    auth = Auth()

    @auth.authenticate
    async def authenticate(headers: Mapping[bytes, bytes]) -> dict[str, Any]:
        token = token_from_headers(headers, settings.api_key_header)
        return verifier.user(await verifier.verify(token))

    auth.on(isolate_tenants)
    return auth


CREATE_ACTIONS = ("create", "create_run")


async def isolate_tenants(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    """The built-in isolation: what a user creates is stamped with its tenant (the token's tenant claim) or, with
    none, its owner (the identity); everyone sees only their tenant's (or their own) objects.

    The store is scoped by namespace instead (its first label is the identity), so it passes here.
    """
    if ctx.resource == "store":
        return None
    tenant = ctx.user.get("org_id") if hasattr(ctx.user, "get") else None
    key, owner = ("tenant", str(tenant)) if tenant else ("owner", ctx.user.identity)
    if ctx.action in CREATE_ACTIONS and isinstance(value, dict) and "metadata" in value:
        value["metadata"] = {**(value["metadata"] or {}), key: owner}
    return {key: owner}
