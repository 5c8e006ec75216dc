"""What every route of the web server shares: the config, the accounts, the audit log, the
engine link and the rate limits, built once by ``web.server`` and kept on the app's state."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import HTTPConnection

from nvr.config import Config
from web.accounts import Accounts
from web.audit import Audit
from web.clips import Clips
from web.engine import EngineLink
from web.ratelimit import Limits

COOKIE_TLS = "__Host-nvr_session"  # the __Host- prefix: Secure, Path=/, no Domain, by the browser
COOKIE_PLAIN = "nvr_session"  # tls: off (loopback only), where a Secure cookie would not be sent


@dataclass(slots=True)
class WebContext:
    config: Config
    config_path: Path
    accounts: Accounts
    audit: Audit
    clips: Clips
    engine: EngineLink
    limits: Limits
    tls: bool
    proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @property
    def cookie(self) -> str:
        return COOKIE_TLS if self.tls else COOKIE_PLAIN

    @property
    def idle_s(self) -> float:
        return self.config.web.session_idle_minutes * 60.0

    @property
    def max_s(self) -> float:
        return self.config.web.session_max_hours * 3600.0

    def address(self, conn: HTTPConnection) -> str:
        """The client's address: the peer, or, behind a trusted proxy, the last address in
        X-Forwarded-For that is not itself a trusted proxy."""
        peer = conn.client.host if conn.client else "unknown"
        if not self.proxies or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop[:64]
        return peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)


def context(conn: HTTPConnection) -> WebContext:
    ctx: WebContext = conn.app.state.ctx
    return ctx
