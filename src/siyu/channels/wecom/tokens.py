"""access_token cache: one token per (base_url, corp_id, secret), refreshed single-flight before it expires."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Refresh this long before WeCom's expires_in runs out, so a token never dies mid-call.
DEFAULT_MARGIN_SECONDS = 300.0


def token_key(base_url: str, corp_id: str, secret: str) -> str:
    """Cache key of one app; the secret enters only as a hash so the key can be logged or shown."""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/')}|{corp_id}|{digest}"


@dataclass
class _Entry:
    token: str
    expires_at: float  # on the cache's monotonic clock


class TokenCache:
    """Thread-safe token cache; concurrent callers wanting the same missing token fetch it once."""

    def __init__(
        self, *, margin: float = DEFAULT_MARGIN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.margin = margin
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetches = 0  # gettoken calls made through this cache (tests, diagnostics)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _fresh(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is not None and self.clock() < entry.expires_at:
            return entry.token
        return None

    def get(self, key: str, fetch: Callable[[], tuple[str, int]]) -> str:
        """The cached token of key, or fetch() -> (token, expires_in seconds) under the key's lock."""
        token = self._fresh(key)
        if token is not None:
            return token
        with self._lock_for(key):
            # Another thread may have refreshed while this one waited for the lock.
            token = self._fresh(key)
            if token is not None:
                return token
            token, expires_in = fetch()
            self.fetches += 1
            lifetime = max(float(expires_in) - self.margin, min(float(expires_in), 60.0) / 2)
            self._entries[key] = _Entry(token, self.clock() + lifetime)
            return token

    def invalidate(self, key: str, token: str | None = None) -> None:
        """Drop key's token; with token given, only if it is still the cached one (a peer may have renewed it)."""
        with self._lock_for(key):
            entry = self._entries.get(key)
            if entry is not None and (token is None or entry.token == token):
                del self._entries[key]

    def clear(self) -> None:
        """Forget every token."""
        with self._guard:
            self._entries.clear()


_shared = TokenCache()


def shared_token_cache() -> TokenCache:
    """The process-wide cache (what clients use when given none)."""
    return _shared
