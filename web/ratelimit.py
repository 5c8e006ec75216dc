"""Rate limits (the ``limits`` library's moving windows, in memory).

Logins, counted in failures over ``LOGIN_WINDOW_S``; once a limit is reached every attempt it
covers gets 429 with ``Retry-After``, the right password included:

- ``LOGIN_FAILURES`` for one account from one address: guessing one password;
- ``ADDRESS_FAILURES`` from one address over every account: trying many names (a shared office
  address is not locked out by one person's typos);
- ``ACCOUNT_FAILURES`` for one account from every address: guessing from many addresses. It
  does not apply where the account logged in successfully within ``KNOWN_S``: a stranger who
  knows the admin's name cannot lock the admin out of the places the admin works from.

Everything else: a budget of requests per minute per session, and per address before login.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

LOGIN_FAILURES = 5
ADDRESS_FAILURES = 20
ACCOUNT_FAILURES = 50
LOGIN_WINDOW_S = 15 * 60
KNOWN_S = 30 * 86400
MAX_KNOWN = 32  # addresses remembered per account
API_PER_MINUTE = 1200  # a 16-camera dashboard refreshing every 2 s uses about 480
ANONYMOUS_PER_MINUTE = 120


class Limits:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        window = f"{LOGIN_WINDOW_S} seconds"
        self._logins = (
            (parse(f"{LOGIN_FAILURES}/{window}"), "pair"),
            (parse(f"{ADDRESS_FAILURES}/{window}"), "addr"),
            (parse(f"{ACCOUNT_FAILURES}/{window}"), "user"),
        )
        self._known: dict[str, dict[str, float]] = {}  # account -> address -> last success
        self._api = RateLimitItemPerMinute(API_PER_MINUTE)
        self._anonymous = RateLimitItemPerMinute(ANONYMOUS_PER_MINUTE)

    def login_blocked(self, account: str, address: str) -> int:
        """Seconds to wait before another login try for ``account`` from ``address`` (0: go)."""
        keys = self._login_keys(account, address)
        known = self._is_known(account, address)
        waits = [
            self._retry_after(item, "login", keys[kind])
            for item, kind in self._logins
            if not (kind == "user" and known) and not self._limiter.test(item, "login", keys[kind])
        ]
        return max(waits, default=0)

    def login_succeeded(self, account: str, address: str) -> None:
        """Remember where ``account`` logs in from (the account-wide limit spares it there)."""
        places = self._known.setdefault(account.lower(), {})
        places[address] = time.monotonic()
        if len(places) > MAX_KNOWN:
            del places[min(places, key=places.__getitem__)]

    def _is_known(self, account: str, address: str) -> bool:
        seen = self._known.get(account.lower(), {}).get(address)
        return seen is not None and time.monotonic() - seen < KNOWN_S

    def login_failed(self, account: str, address: str) -> None:
        keys = self._login_keys(account, address)
        for item, kind in self._logins:
            self._limiter.hit(item, "login", keys[kind])

    def request(self, key: str, anonymous: bool) -> int:
        """Count one request; seconds to wait when over the budget (0: go)."""
        item = self._anonymous if anonymous else self._api
        if self._limiter.hit(item, "api", key):
            return 0
        return self._retry_after(item, "api", key)

    @staticmethod
    def _login_keys(account: str, address: str) -> dict[str, str]:
        name = account.lower()
        return {"pair": f"{name}@{address}", "addr": address, "user": name}

    def _retry_after(self, item: RateLimitItem, namespace: str, key: str) -> int:
        stats = self._limiter.get_window_stats(item, namespace, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
