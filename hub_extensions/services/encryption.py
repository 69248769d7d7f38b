"""Provider API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) under OPEN_LANGGRAPH_HUB_SECRET_KEY.

The setting may list several keys, comma-separated: the first encrypts, every one decrypts, so a key is rotated by
putting the new one first and re-saving the credentials' keys before dropping the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from agent_server.errors import Unprocessable
from agent_server.settings import Settings

SECRET_KEY_SETTING = "OPEN_LANGGRAPH_HUB_SECRET_KEY"
HINT_VISIBLE = 4
HINT_MIN_LENGTH = 12  # shorter keys show no characters at all


def _keyring(settings: Settings) -> MultiFernet | None:
    secret = settings.hub.secret_key
    if secret is None:
        return None
    return MultiFernet([Fernet(key) for key in secret.get_secret_value().split(",")])


def encrypt_api_key(settings: Settings, api_key: str) -> str:
    keyring = _keyring(settings)
    if keyring is None:
        raise Unprocessable(f"API keys are stored encrypted and no key is configured: set {SECRET_KEY_SETTING} "
                            "(a Fernet key) on the server to store one")
    return keyring.encrypt(api_key.encode()).decode("ascii")


def decrypt_api_key(settings: Settings, token: str) -> str:
    keyring = _keyring(settings)
    if keyring is None:
        raise Unprocessable(f"the provider credential's API key cannot be decrypted: {SECRET_KEY_SETTING} is not set")
    try:
        return keyring.decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise Unprocessable(f"the provider credential's API key cannot be decrypted with {SECRET_KEY_SETTING} "
                            "(was the key replaced? keep the old one listed after the new one)") from None


def api_key_hint(api_key: str) -> str:
    """A masked hint an admin can recognise a key by: its last characters only, and none of a short key."""
    if len(api_key) < HINT_MIN_LENGTH:
        return "****"
    return "****" + api_key[-HINT_VISIBLE:]
