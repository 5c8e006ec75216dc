"""Rate limits (the ``limits`` library's moving windows, in memory).

Logins: after ``LOGIN_FAILURES`` failures in ``LOGIN_WINDOW_S``, per account and per address,
further attempts get 429 with ``Retry-After`` until the window moves on. Everything else: a
budget of requests per minute per session (per address before login).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 15 * 60
API_PER_MINUTE = 1200  # a 16-camera dashboard refreshing every 2 s uses about 480
ANONYMOUS_PER_MINUTE = 120


class Limits:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._login: RateLimitItem = parse(f"{LOGIN_FAILURES}/{LOGIN_WINDOW_S} seconds")
        self._api = RateLimitItemPerMinute(API_PER_MINUTE)
        self._anonymous = RateLimitItemPerMinute(ANONYMOUS_PER_MINUTE)

    def login_blocked(self, account: str, address: str) -> int:
        """Seconds to wait before another login try for ``account`` from ``address`` (0: go)."""
        waits = [
            self._retry_after(self._login, "login", key)
            for key in (f"user:{account.lower()}", f"addr:{address}")
            if not self._limiter.test(self._login, "login", key)
        ]
        return max(waits, default=0)

    def login_failed(self, account: str, address: str) -> None:
        self._limiter.hit(self._login, "login", f"user:{account.lower()}")
        self._limiter.hit(self._login, "login", f"addr:{address}")

    def request(self, key: str, anonymous: bool) -> int:
        """Count one request; seconds to wait when over the budget (0: go)."""
        item = self._anonymous if anonymous else self._api
        if self._limiter.hit(item, "api", key):
            return 0
        return self._retry_after(item, "api", key)

    def _retry_after(self, item: RateLimitItem, namespace: str, key: str) -> int:
        stats = self._limiter.get_window_stats(item, namespace, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
