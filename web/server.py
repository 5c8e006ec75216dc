"""Starting the web server: its checks (an admin exists, TLS is in order), its context, and
uvicorn on the ``web.listen`` address. ``nvr web`` and ``nvr demo`` call ``serve``."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from nvr.config import Config, listen_address
from nvr.errors import NvrError
from nvr.protocol.client import find_engine
from web.accounts import Accounts
from web.app import build_app
from web.audit import Audit
from web.clips import Clips
from web.context import WebContext
from web.engine import EngineLink
from web.guard import MAX_BODY_BYTES
from web.ratelimit import Limits
from web.tls import Certificate, Reloader, auto_certificate, given_certificate

log = logging.getLogger(__name__)

CERT_CHECK_S = 30.0


def serve(
    config: Config, config_path: Path, on_listening: Callable[[str], None] | None = None
) -> int:
    """Run the web server until SIGINT/SIGTERM; ``on_listening`` gets its URL once it listens."""
    storage = Path(config.storage.path)
    catalog = storage / "catalog.db"
    accounts = Accounts(catalog)
    if accounts.admins() == 0:
        raise NvrError(
            "the web server has no admin user yet: create one with "
            f"`nvr user add NAME --role admin -c {config_path}`, then start nvr web again"
        )
    host, port = listen_address(config.web.listen)
    cert = _certificate(config, storage, host)
    ctx = WebContext(
        config=config,
        config_path=config_path,
        accounts=accounts,
        audit=Audit(catalog),
        clips=Clips(catalog),
        engine=EngineLink(lambda: find_engine(config)),
        limits=Limits(),
        tls=cert is not None,
        proxies=tuple(ipaddress.ip_network(p, strict=False) for p in config.web.trusted_proxies),
    )
    accounts.drop_expired(ctx.idle_s)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    scheme = "https" if cert else "http"
    shown = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{bound}"
    uv = uvicorn.Config(
        build_app(ctx),
        ssl_certfile=str(cert.cert) if cert else None,
        ssl_keyfile=str(cert.key) if cert else None,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws="websockets-sansio",
        ws_max_size=MAX_BODY_BYTES,
        ws_ping_interval=20.0,
        timeout_keep_alive=15,
        h11_max_incomplete_event_size=16 * 1024,
    )
    uv.load()
    if cert is not None and uv.ssl is not None:
        _watch_certificate(Reloader(uv.ssl, cert))
        log.info("web: TLS certificate %s (SHA-256 %s)", cert.cert, cert.fingerprint)
    log.info("web: listening on %s (from %s:%d)", url, host, bound)
    if on_listening is not None:
        on_listening(url if cert is None else f"{url} (certificate SHA-256 {cert.fingerprint})")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # not every socket's open/close
    server = uvicorn.Server(uv)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        accounts.close()
        ctx.audit.close()
    return 0


def _certificate(config: Config, storage: Path, host: str) -> Certificate | None:
    tls = config.web.tls
    if tls == "off":
        return None
    if tls == "auto":
        hosts = [] if host in ("0.0.0.0", "::") else [host]
        return auto_certificate(storage / "web", hosts)
    return given_certificate(tls.cert, tls.key)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise NvrError(
            f"the web server cannot listen on {host}:{port} ({err.strerror}); another program "
            "may use the port: change web.listen in the config"
        ) from err
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _watch_certificate(reloader: Reloader) -> None:
    def watch() -> None:
        while not stop.wait(CERT_CHECK_S):
            reloader.check()

    stop = threading.Event()
    threading.Thread(target=watch, name="cert-watch", daemon=True).start()
