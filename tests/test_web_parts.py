"""Web server parts on their own: the client address behind trusted proxies, a renewed
certificate taken into a live TLS context without a restart, and the turns of clip layouts."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import ssl
import threading
import time
from pathlib import Path

from starlette.requests import HTTPConnection

from web.context import WebContext
from web.downloads import LAYING_OUT, Layouts
from web.tls import Reloader, auto_certificate, fingerprint


def _conn(peer: str, forwarded: str | None = None) -> HTTPConnection:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return HTTPConnection({"type": "http", "client": (peer, 5000), "headers": headers})


def test_forwarded_addresses_are_believed_only_from_trusted_proxies():
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    ctx = WebContext.__new__(WebContext)
    ctx.proxies = proxies
    assert ctx.address(_conn("203.0.113.5", "1.2.3.4")) == "203.0.113.5"  # not a proxy: ignored
    assert ctx.address(_conn("10.0.0.2", "1.2.3.4")) == "1.2.3.4"
    # The client may prepend anything: the last hop not a proxy of ours is the client.
    assert ctx.address(_conn("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9")) == "1.2.3.4"
    assert ctx.address(_conn("10.0.0.2")) == "10.0.0.2"
    ctx.proxies = ()
    assert ctx.address(_conn("10.0.0.2", "1.2.3.4")) == "10.0.0.2"


def _served_fingerprint(context: ssl.SSLContext) -> str:
    """The fingerprint of the certificate ``context`` presents in a handshake."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept() -> None:
        conn, _ = server.accept()
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    thread.join(5)
    server.close()
    digest = hashlib.sha256(der or b"").hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def test_a_renewed_certificate_is_served_without_a_restart(tmp_path: Path):
    first = auto_certificate(tmp_path / "a", ["nvr.local"])
    assert first.cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert os.stat(first.key).st_mode & 0o077 == 0
    assert auto_certificate(tmp_path / "a", []).fingerprint == first.fingerprint  # kept
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(first.cert, first.key)
    reloader = Reloader(context, first)
    assert not reloader.check()
    assert _served_fingerprint(context) == first.fingerprint
    second = auto_certificate(tmp_path / "b", [])
    time.sleep(0.01)
    first.cert.write_bytes(second.cert.read_bytes())  # a renewal written over the old pair
    first.key.write_bytes(second.key.read_bytes())
    os.utime(first.cert, (time.time() + 5, time.time() + 5))
    assert reloader.check()
    assert _served_fingerprint(context) == second.fingerprint == fingerprint(first.cert)
    first.key.write_text("not a key")  # a broken renewal keeps the old pair in force
    os.utime(first.key, (time.time() + 10, time.time() + 10))
    assert not reloader.check()
    assert _served_fingerprint(context) == second.fingerprint


def test_a_removed_or_disabled_users_share_links_stop_working(tmp_path: Path):
    from web.accounts import Accounts
    from web.clips import Clips

    catalog = tmp_path / "catalog.db"
    accounts = Accounts(catalog)
    clips = Clips(catalog)
    try:
        for name in ("max", "eve"):
            accounts.add_user(name, "operator", f"{name}'s long password")
            clips.add_clip(f"job-{name}", name, "door", 1, 2)
        links = {n: clips.add_share(f"job-{n}", "door", 1, 2, None, False, "", n, 10**12)
                 for n in ("max", "eve")}  # fmt: skip
        assert accounts.remove_user("max") == 1
        accounts.update_user("eve", disabled=True)
        for name, (_share, token) in links.items():
            found = clips.share_by_token(token)
            assert found is not None and found.state(time.time_ns()) == "revoked", name
        assert {clips.share(s.id).revoked_by for s, _ in links.values()} == {  # type: ignore[union-attr]
            "account removed",
            "account disabled",
        }
    finally:
        clips.close()
        accounts.close()


def test_an_admin_has_every_camera(tmp_path: Path):
    import pytest

    from web.accounts import AccountError, Accounts

    accounts = Accounts(tmp_path / "catalog.db")
    try:
        with pytest.raises(AccountError, match="an admin has every camera"):
            accounts.add_user("amy", "admin", "amy's long password", cameras=["door"])
        accounts.add_user("amy", "operator", "amy's long password", cameras=["door"])
        with pytest.raises(AccountError, match="an admin has every camera"):
            accounts.update_user("amy", role="admin")
        assert accounts.update_user("amy", role="admin", cameras=None).role == "admin"
    finally:
        accounts.close()


def test_clip_layouts_take_turns_per_user_and_forget_users_done():
    """One layout at a time per user, LAYING_OUT in all; a user with nothing waiting is
    forgotten (the table does not grow with every user who ever downloaded)."""
    layouts = Layouts()
    running: list[str] = []
    most: list[int] = []
    seen: list[int] = []

    async def lay_out(user: str, tag: str) -> None:
        async with layouts.turn(user):
            assert not any(r.startswith(user) for r in running), (user, running)
            running.append(f"{user}{tag}")
            most.append(len(running))
            seen.append(layouts.users())
            await asyncio.sleep(0.02)
            running.remove(f"{user}{tag}")

    async def main() -> None:
        await asyncio.gather(*(lay_out(u, str(i)) for i in range(3) for u in "abcd"))

    asyncio.run(main())
    assert max(most) == LAYING_OUT and max(seen) == 4
    assert layouts.users() == 0
