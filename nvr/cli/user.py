"""``nvr user``: the web server's accounts (add, list, passwd, remove, disable, enable).

Users live in the catalog of the config's storage, so this works whether or not the engine
runs. A password is read from standard input when it is not a terminal (one line), else asked
twice at a prompt; it never appears on the command line. Every change is written to the audit
log as done by ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nvr.config import load_config
from nvr.errors import NvrError

if TYPE_CHECKING:
    from web.accounts import Accounts


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("user", help="manage the web server's users")
    actions = parser.add_subparsers(dest="action", required=True)

    def action(name: str, text: str, named: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=text, description=text)
        if named:
            p.add_argument("name", help="user name")
        p.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
        return p

    add = action("add", "add a user (the password is read from standard input or a prompt)")
    add.add_argument("--role", required=True, choices=("admin", "operator", "viewer"))
    add.add_argument("--cameras", help="comma-separated camera ids this user may see (default all)")
    action("list", "list the users, their roles, cameras and open sessions", named=False)
    action("passwd", "set a new password (the user's sessions end)")
    action("remove", "delete a user (the last enabled admin cannot be removed)")
    action("disable", "stop a user from logging in (their sessions end)")
    action("enable", "let a disabled user log in again")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from web.accounts import AccountError, Accounts
    from web.audit import Audit

    config = load_config(args.config)
    catalog = Path(config.storage.path) / "catalog.db"
    accounts = Accounts(catalog)
    audit = Audit(catalog)
    by = f"cli:{_login_name()}"
    target = getattr(args, "name", "")
    try:
        if args.action == "list":
            _list(accounts)
            return 0
        if args.action == "add":
            cameras = args.cameras.split(",") if args.cameras is not None else None
            known = [c.id for c in config.cameras]
            for cam in (c.strip() for c in cameras or ()):
                if cam and cam not in known:
                    raise AccountError(
                        f"no camera {cam!r} in {args.config}; its cameras are: "
                        f"{', '.join(known) or 'none'}"
                    )
            user = accounts.add_user(target, args.role, _password(target), cameras)
            cams = ", ".join(user.cameras) if user.cameras is not None else "all"
            detail = {"role": user.role, "cameras": cams}
            print(f"user: added {user.name} ({user.role}, cameras {cams})")
        elif args.action == "passwd":
            accounts.set_password(target, _password(target))
            detail = {}
            print(f"user: new password for {target}; their sessions ended")
        elif args.action == "remove":
            revoked = accounts.remove_user(target)
            detail = {"share_links_revoked": str(revoked)}
            links = f"; {revoked} share link(s) of theirs revoked" if revoked else ""
            print(f"user: removed {target}{links}")
        else:
            accounts.update_user(target, disabled=args.action == "disable")
            detail = {}
            print(f"user: {target} {args.action}d")
    except AccountError as err:
        audit.record(by, "local", f"user.{args.action}", target, result=str(err), ok=False)
        raise
    audit.record(by, "local", f"user.{args.action}", target, detail)
    return 0


def _list(accounts: Accounts) -> None:
    users = accounts.users()
    if not users:
        print("no users; add an admin: nvr user add NAME --role admin -c CONFIG")
        return
    open_count: dict[str, int] = {}
    for s in accounts.sessions():
        open_count[s.user.name] = open_count.get(s.user.name, 0) + 1
    print(f"{'NAME':<24} {'ROLE':<9} {'STATE':<9} {'SESSIONS':>8}  CAMERAS")
    for u in users:
        state = "disabled" if u.disabled else "enabled"
        cams = ", ".join(u.cameras) if u.cameras is not None else "all"
        print(f"{u.name:<24} {u.role:<9} {state:<9} {open_count.get(u.name, 0):>8}  {cams}")


def _password(name: str) -> str:
    """The new password: one line of standard input, or typed twice at a prompt."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise NvrError("no password on standard input; pipe one line, or run in a terminal")
        return line.rstrip("\r\n")
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise NvrError("the two passwords differ; nothing changed")
    return first


def _login_name() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or str(os.getuid())
