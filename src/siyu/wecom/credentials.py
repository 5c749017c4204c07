"""The WeCom app's credentials: sealed at rest with the server key, opened only to build a client."""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.config import get_settings
from siyu.errors import Forbidden, Invalid
from siyu.models.wecom import OFFICIAL_API_BASE_URL, WecomApp
from siyu.org.permissions import Actor, PermissionRole

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

_SEAL_VERSION = b"\x01"
_NONCE_BYTES = 12
_HKDF_INFO = b"siyu/wecom/credentials/v1"
AES_KEY_LENGTH = 43  # WeCom's EncodingAESKey: 43 base64 characters, 32 bytes once "=" is appended


def _key() -> bytes:
    # A derived key (not the raw secret_key) so the same server secret never doubles as an AES key elsewhere.
    secret = get_settings().secret_key.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret)


def seal(text: str) -> bytes:
    """Encrypt text with AES-GCM under a key derived from the server secret; version byte + nonce + ciphertext."""
    nonce = os.urandom(_NONCE_BYTES)
    return _SEAL_VERSION + nonce + AESGCM(_key()).encrypt(nonce, text.encode("utf-8"), _SEAL_VERSION)


def unseal(blob: bytes) -> str:
    """Decrypt a value made by seal(); Invalid when the server secret changed or the blob is damaged."""
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _SEAL_VERSION:
        raise Invalid("WeCom credentials: the sealed value is malformed (unknown version or too short)")
    nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return AESGCM(_key()).decrypt(nonce, body, _SEAL_VERSION).decode("utf-8")
    except InvalidTag as exc:
        raise Invalid(
            "WeCom credentials: cannot unseal the stored secret — SIYU_SECRET_KEY changed since it was saved; "
            "enter the app secret and EncodingAESKey again on /wecom/settings"
        ) from exc


def validate_aes_key(value: str) -> str:
    """Check an EncodingAESKey: exactly 43 base64 characters that decode to 32 bytes."""
    key = value.strip()
    if len(key) != AES_KEY_LENGTH:
        raise Invalid(f"EncodingAESKey must be {AES_KEY_LENGTH} characters, got {len(key)}")
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("EncodingAESKey must contain only base64 characters (A-Z, a-z, 0-9, +, /)") from exc
    if len(raw) != 32:
        raise Invalid("EncodingAESKey must decode to 32 bytes")
    return key


@dataclass(frozen=True)
class WecomAppConfig:
    """The configured app with its secrets opened (never logged, never rendered)."""

    id: int
    corp_id: str
    agent_id: str | None
    secret: str
    callback_token: str
    aes_key: str
    api_base_url: str
    enabled: bool

    def __repr__(self) -> str:
        # Keeps the secret and the AES key out of tracebacks and logs.
        return f"WecomAppConfig(corp_id={self.corp_id!r}, agent_id={self.agent_id!r}, api_base_url={self.api_base_url!r})"


def get_app_row(session: Session) -> WecomApp | None:
    """The single WecomApp row, or None when WeCom is not set up."""
    return session.scalars(select(WecomApp).order_by(WecomApp.id).limit(1)).first()


def load_app(session: Session) -> WecomAppConfig | None:
    """The configured app with its secrets opened, or None when there is none."""
    row = get_app_row(session)
    if row is None:
        return None
    return WecomAppConfig(
        id=row.id,
        corp_id=row.corp_id,
        agent_id=row.agent_id,
        secret=unseal(row.secret_sealed),
        callback_token=row.callback_token,
        aes_key=unseal(row.aes_key_sealed),
        api_base_url=row.api_base_url,
        enabled=row.enabled,
    )


def require_app(session: Session) -> WecomAppConfig:
    """The configured app; Invalid naming the settings page when it is missing or disabled."""
    config = load_app(session)
    if config is None:
        raise Invalid("WeCom is not configured: enter the corp id and app secret on /wecom/settings")
    if not config.enabled:
        raise Invalid("WeCom is not configured: the app on /wecom/settings is disabled")
    return config


_token_caches: dict[tuple[str, str, str], Any] = {}
_token_caches_lock = threading.Lock()


def _token_cache(base_url: str, corp_id: str, secret: str) -> Any:
    # One cache per (base_url, corp_id, secret) for the whole process, so requests and jobs share a token.
    from siyu.channels.wecom.tokens import TokenCache

    key = (base_url, corp_id, secret)
    with _token_caches_lock:
        cache = _token_caches.get(key)
        if cache is None:
            cache = _token_caches[key] = TokenCache()
        return cache


def client_for(session: Session, **options: Any) -> WecomClient:
    """A WecomClient for the configured app, sharing the process-wide token cache (caller closes it)."""
    config = require_app(session)
    return client_for_config(config, **options)


@contextmanager
def opened_client(session: Session, client: WecomClient | None = None) -> Iterator[WecomClient]:
    """The caller's client as is, or one for the configured app that is closed on leaving (tests pass their own)."""
    if client is not None:
        yield client
        return
    with client_for(session) as opened:
        yield opened


def client_for_config(config: WecomAppConfig, *, fresh_token: bool = False, **options: Any) -> WecomClient:
    """A WecomClient for opened credentials; fresh_token skips the shared cache (a real gettoken)."""
    from siyu.channels.wecom.client import WecomClient
    from siyu.channels.wecom.tokens import TokenCache

    key = (config.api_base_url, config.corp_id, config.secret)
    tokens = TokenCache() if fresh_token else _token_cache(*key)
    return WecomClient(config.corp_id, config.secret, base_url=config.api_base_url, tokens=tokens, **options)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def save_app(
    session: Session,
    actor: Actor,
    *,
    corp_id: str,
    agent_id: str | None = None,
    secret: str | None = None,
    callback_token: str,
    aes_key: str | None = None,
    api_base_url: str | None = None,
    enabled: bool = True,
) -> WecomApp:
    """Create or update the app row; a blank secret / AES key keeps the stored one. Admin only, audited."""
    if actor.role != PermissionRole.admin:
        raise Forbidden("WeCom settings: only an admin may change the WeCom app credentials")
    corp = _clean(corp_id)
    if not corp or len(corp) > 64:
        raise Invalid("WeCom settings: corp id is required (at most 64 characters)")
    token = _clean(callback_token)
    if not token or len(token) > 64 or not token.isalnum():
        raise Invalid(
            "WeCom settings: callback token is required (letters and digits, at most 64 characters)"
        )
    base = _clean(api_base_url) or OFFICIAL_API_BASE_URL
    if not base.startswith(("https://", "http://")) or len(base) > 255:
        raise Invalid("WeCom settings: API base URL must start with https:// (or http:// for a local fake)")
    agent = _clean(agent_id) or None
    if agent is not None and (len(agent) > 32 or not agent.isdigit()):
        raise Invalid("WeCom settings: agent id must be digits (at most 32)")
    new_secret, new_aes = _clean(secret), _clean(aes_key)
    if new_aes:
        new_aes = validate_aes_key(new_aes)
    row = get_app_row(session)
    changed: list[str] = []
    if row is None:
        if not new_secret:
            raise Invalid("WeCom settings: the app secret is required the first time")
        if not new_aes:
            raise Invalid("WeCom settings: the EncodingAESKey is required the first time")
        row = WecomApp(
            corp_id=corp,
            agent_id=agent,
            secret_sealed=seal(new_secret),
            callback_token=token,
            aes_key_sealed=seal(new_aes),
            api_base_url=base,
            enabled=enabled,
            updated_by_account_id=actor.account_id,
        )
        session.add(row)
        changed = ["created"]
    else:
        for field, value in (
            ("corp_id", corp),
            ("agent_id", agent),
            ("callback_token", token),
            ("api_base_url", base),
            ("enabled", enabled),
        ):
            if getattr(row, field) != value:
                setattr(row, field, value)
                changed.append(field)
        if new_secret:
            row.secret_sealed = seal(new_secret)
            changed.append("secret")
        if new_aes:
            row.aes_key_sealed = seal(new_aes)
            changed.append("aes_key")
        row.updated_by_account_id = actor.account_id
        if changed:
            # Credentials changed: the last connection test no longer says anything about them.
            row.last_test_at, row.last_test_ok, row.last_test_message = None, None, None
    session.flush()
    # The audit names the fields changed, never their values.
    audit(session, actor, "wecom.settings_saved", "wecom_app", row.id, {"changed": changed, "corp_id": corp})
    return row
