"""The built-in JWT authenticator: what it accepts and every way a token is refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from langgraph_sdk import Auth
from pydantic import ValidationError

from agent_server.services.auth_jwt import jwt_auth
from agent_server.settings import JwtSettings

SECRET = "s3cret-for-tests-only-0123456789abcdef"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"sub": "alice", "name": "Alice", "org_id": "acme", "permissions": ["threads:write"],
            "iss": "https://issuer.test", "aud": "olg", "exp": int(time.time()) + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


async def authenticate(auth: Auth | None, headers: Mapping[bytes, bytes]) -> dict[str, Any]:
    assert auth is not None
    assert auth._authenticate_handler is not None
    result: dict[str, Any] = await auth._authenticate_handler(headers=headers)  # type: ignore[call-arg]
    return result


def bearer(token: str) -> dict[bytes, bytes]:
    return {b"authorization": f"Bearer {token}".encode()}


async def refused(auth: Auth | None, headers: Mapping[bytes, bytes]) -> str:
    with pytest.raises(Auth.exceptions.HTTPException) as caught:
        await authenticate(auth, headers)
    assert caught.value.status_code == 401
    return str(caught.value.detail)


HS = JwtSettings(secret=SECRET, issuer="https://issuer.test", audience="olg", api_key_header="X-Api-Key")


def test_no_key_means_no_authenticator() -> None:
    assert jwt_auth(JwtSettings()) is None


def test_the_none_algorithm_cannot_be_configured() -> None:
    with pytest.raises(ValidationError, match="unsigned"):
        JwtSettings(secret=SECRET, algorithms=["HS256", "none"])


async def test_a_valid_hs256_token_gives_the_user_and_tenant() -> None:
    user = await authenticate(jwt_auth(HS), bearer(jwt.encode(claims(), SECRET, algorithm="HS256")))
    assert user["identity"] == "alice"
    assert user["display_name"] == "Alice"
    assert user["org_id"] == "acme"
    assert user["permissions"] == ["threads:write"]
    assert user["is_authenticated"] is True


async def test_scope_string_claims_become_permissions() -> None:
    settings = HS.model_copy(update={"permissions_claim": "scope"})
    token = jwt.encode(claims(scope="threads:read runs:write"), SECRET, algorithm="HS256")
    assert (await authenticate(jwt_auth(settings), bearer(token)))["permissions"] == ["threads:read", "runs:write"]


async def test_the_api_key_header_carries_a_token_too() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert (await authenticate(jwt_auth(HS), {b"x-api-key": token.encode()}))["identity"] == "alice"


@pytest.mark.parametrize(("token_claims", "reason"), [
    (claims(exp=int(time.time()) - 10), "expired"),
    (claims(aud="someone-else"), "audience"),
    (claims(iss="https://evil.test"), "issuer"),
    (claims(sub=None), "'sub'"),
    (claims(exp=None), "exp"),
])
async def test_bad_claims_are_refused(token_claims: dict[str, Any], reason: str) -> None:
    detail = await refused(jwt_auth(HS), bearer(jwt.encode(token_claims, SECRET, algorithm="HS256")))
    assert reason.lower() in detail.lower()


async def test_a_bad_signature_is_refused() -> None:
    token = jwt.encode(claims(), "another-secret-of-the-same-length-000000", algorithm="HS256")
    assert "signature" in (await refused(jwt_auth(HS), bearer(token))).lower()


async def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert "alg value is not allowed" in await refused(jwt_auth(HS), bearer(unsigned))


async def test_garbage_and_missing_credentials_are_refused() -> None:
    auth = jwt_auth(HS)
    assert "missing" in (await refused(auth, {})).lower()
    assert "missing" in (await refused(auth, {b"authorization": b"Basic dXNlcjpwYXNz"})).lower()
    await refused(auth, bearer("not.a.jwt"))


async def test_rs256_with_a_pem_public_key(tmp_path: Path) -> None:
    pem_file = tmp_path / "public.pem"
    pem_file.write_text(public_pem(RSA_KEY))
    for public_key in (public_pem(RSA_KEY), str(pem_file)):
        auth = jwt_auth(JwtSettings(public_key=public_key, audience="olg"))
        token = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
        assert (await authenticate(auth, bearer(token)))["identity"] == "alice"
        await refused(auth, bearer(jwt.encode(claims(), SECRET, algorithm="HS256")))  # HS256 not accepted


def jwks_document(kid: str) -> str:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return json.dumps({"keys": [{**jwk, "kid": kid, "alg": "ES256", "use": "sig"}]})


async def test_es256_with_a_jwks_file(tmp_path: Path) -> None:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(jwks_document("key-1"))
    auth = jwt_auth(JwtSettings(jwks=str(jwks_file), audience="olg"))
    good = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "key-1"})
    assert (await authenticate(auth, bearer(good)))["identity"] == "alice"
    unknown_kid = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "key-2"})
    assert "kid" in await refused(auth, bearer(unknown_kid))


@pytest_asyncio.fixture
async def jwks_url() -> AsyncIterator[str]:
    body = jwks_document("key-1").encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/.well-known/jwks.json"
    finally:
        server.close()


async def test_es256_with_a_jwks_url(jwks_url: str) -> None:
    auth = jwt_auth(JwtSettings(jwks=jwks_url, audience="olg", issuer="https://issuer.test"))
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "key-1"})
    assert (await authenticate(auth, bearer(token)))["org_id"] == "acme"
    forged = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "key-1"})
    assert "signature" in (await refused(auth, bearer(forged))).lower()
