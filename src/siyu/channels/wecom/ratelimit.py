"""Client-side per-API token buckets, kept below WeCom's documented 10,000 calls/min and 150,000/h per API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Below WeCom's per-corp per-API limits (DOC/90454) so several processes sharing a corp still fit.
DEFAULT_PER_MINUTE = 6_000
DEFAULT_PER_HOUR = 120_000


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take one token; the seconds to wait before the call may go out (0 when one was available)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """Token buckets per key ("corp_id api"): ≤ per_minute calls in any sliding minute, ≤ per_hour per hour."""

    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        per_hour: int | None = DEFAULT_PER_HOUR,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 2 or (per_hour is not None and per_hour < 2):
            raise ValueError(f"per_minute / per_hour must be at least 2, got {per_minute} / {per_hour}")
        self.per_minute = per_minute
        self.per_hour = per_hour
        # Any sliding minute sees at most burst + rate * 60 calls, so the refill rate leaves room for the burst.
        self.burst = min(burst if burst is not None else max(1, per_minute // 6), max(1, per_minute // 2))
        self.clock = clock
        self.sleep = sleep
        self._buckets: dict[str, list[_Bucket]] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds slept (diagnostics, tests)

    def _buckets_for(self, key: str, now: float) -> list[_Bucket]:
        buckets = self._buckets.get(key)
        if buckets is None:
            buckets = [_Bucket(self.burst, (self.per_minute - self.burst) / 60.0, self.burst, now)]
            if self.per_hour:
                hour_burst = max(1, self.per_hour // 60)
                buckets.append(_Bucket(hour_burst, (self.per_hour - hour_burst) / 3600.0, hour_burst, now))
            self._buckets[key] = buckets
        return buckets

    def acquire(self, key: str) -> float:
        """Block until a call under key is allowed; the seconds waited."""
        with self._lock:
            now = self.clock()
            wait = max(b.take(now) for b in self._buckets_for(key, now))
        if wait > 0:
            self.waited += wait
            self.sleep(wait)
        return wait


_shared = RateLimiter()


def shared_limiter() -> RateLimiter:
    """The process-wide limiter (what clients use when given none)."""
    return _shared
