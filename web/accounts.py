"""Users and their sessions, kept in the catalog (schema 9's ``users`` and ``web_sessions``).

Passwords are stored as argon2id hashes; a session token is handed to the browser once and
only its SHA-256 is stored, so a copy of the catalog logs no one in. The web server and
``nvr user`` write these two tables (and ``audit``) with their own connection; every other table
belongs to the supervisor.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import apsw
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from nvr.errors import NvrError
from nvr.storage.catalog import Catalog

ROLES = ("viewer", "operator", "admin")  # each has the rights of those before it
MIN_PASSWORD_CHARS = 10
MIN_DISTINCT_CHARS = 5
MAX_PASSWORD_BYTES = 1024
MAX_CAMERAS = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_BUSY_TIMEOUT_MS = 5000
_SEEN_EVERY_NS = 5 * 10**9  # a session's last-seen time is written at most this often

Clock = Callable[[], int]


class AccountError(NvrError):
    """A user change refused (a bad name, a weak password, an unknown user), with the reason."""


@dataclass(frozen=True, slots=True)
class User:
    """An account; ``cameras`` None means every camera."""

    id: int
    name: str
    role: str
    cameras: tuple[str, ...] | None
    disabled: bool
    created_ns: int
    password_ns: int

    def has_role(self, role: str) -> bool:
        """Whether this user has ``role``'s rights (admin > operator > viewer)."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def may_see(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: ``csrf_token`` must come with every state-changing request."""

    id: int
    user: User
    csrf_token: str
    address: str
    user_agent: str
    created_ns: int
    seen_ns: int
    expires_ns: int


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"user name {name[:80]!r} is not allowed: use 1 to 64 ASCII letters, digits and "
            ". _ @ -, starting with a letter or digit"
        )
    return name


def check_password(password: str, name: str = "") -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD_BYTES} bytes")
    if name and password.lower() == name.lower():
        raise AccountError("the password must not be the user name")
    if len(set(password)) < MIN_DISTINCT_CHARS:
        raise AccountError(
            f"the password is too simple: use at least {MIN_DISTINCT_CHARS} different characters"
        )
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role[:40]!r} does not exist: use {', '.join(reversed(ROLES))}")
    return role


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The users and sessions of one catalog; safe to use from several threads."""

    def __init__(self, catalog_path: Path, clock: Clock = time.time_ns) -> None:
        Catalog(catalog_path).close()  # creates or migrates it, as the supervisor would
        self.path = catalog_path
        self._clock = clock
        self._hasher = PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        self._lock = threading.Lock()
        self._conn = apsw.Connection(str(catalog_path))
        self._conn.set_busy_timeout(_BUSY_TIMEOUT_MS)
        self._conn.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        self._conn.close()

    # -- users --------------------------------------------------------------------------------

    def add_user(
        self, name: str, role: str, password: str, cameras: Iterable[str] | None = None
    ) -> User:
        check_name(name)
        check_role(role)
        check_password(password, name)
        allowed = _camera_list(cameras)
        _check_admin_cameras(role, allowed)
        now = self._clock()
        digest = self._hasher.hash(password)
        try:
            self._write(
                "INSERT INTO users (name, role, password_hash, cameras, created_ns, password_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, role, digest, allowed, now, now),
            )
        except apsw.ConstraintError:
            raise AccountError(f"user {name!r} already exists; choose another name") from None
        return self._need(name)

    def users(self) -> list[User]:
        return [_user(r) for r in self._rows(f"SELECT {_USER} FROM users ORDER BY name")]

    def user(self, name: str) -> User | None:
        rows = self._rows(f"SELECT {_USER} FROM users WHERE name = ?", (name,))
        return _user(rows[0]) if rows else None

    def admins(self) -> int:
        return int(
            self._rows("SELECT count(*) FROM users WHERE role='admin' AND NOT disabled")[0][0]
        )

    def set_password(self, name: str, password: str) -> None:
        """A new password; the user's sessions end."""
        check_password(password, name)
        user = self._need(name)
        self._write(
            "UPDATE users SET password_hash = ?, password_ns = ? WHERE id = ?",
            (self._hasher.hash(password), self._clock(), user.id),
        )
        self.end_sessions(user.id)

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        cameras: Iterable[str] | None | Literal[False] = False,
        disabled: bool | None = None,
    ) -> User:
        """Change a role, a camera list (None: every camera; False: unchanged) or the disabled
        flag. The last enabled admin cannot lose the role; the user's sessions end."""
        user = self._need(name)
        new_role = check_role(role) if role is not None else user.role
        new_disabled = user.disabled if disabled is None else disabled
        if user.role == "admin" and not user.disabled and (new_role != "admin" or new_disabled):
            self._keep_an_admin(name)
        allowed = _camera_text(user.cameras) if cameras is False else _camera_list(cameras)
        _check_admin_cameras(new_role, allowed)
        self._write(
            "UPDATE users SET role = ?, cameras = ?, disabled = ? WHERE id = ?",
            (new_role, allowed, int(new_disabled), user.id),
        )
        self.end_sessions(user.id)
        if new_disabled:
            self.revoke_links(name, "account disabled")
        return self._need(name)

    def remove_user(self, name: str) -> int:
        """Remove an account; its sessions end and its share links are revoked (how many)."""
        user = self._need(name)
        if user.role == "admin" and not user.disabled:
            self._keep_an_admin(name)
        self._write("DELETE FROM users WHERE id = ?", (user.id,))  # sessions go by cascade
        return self.revoke_links(name, "account removed")

    def revoke_links(self, name: str, why: str) -> int:
        """End every live share link ``name`` made: a link works only while its maker may."""
        with self._lock:
            self._conn.execute(
                "UPDATE shares SET revoked_ns = ?, revoked_by = ? WHERE created_by = ?"
                " AND revoked_ns IS NULL",
                (self._clock(), why, name),
            )
            return int(self._conn.changes())

    def verify(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs and the account is enabled; about as slow when the
        user does not exist, so timing does not tell which names exist."""
        rows = self._rows("SELECT password_hash, id FROM users WHERE name = ?", (name,))
        digest = rows[0][0] if rows else self._dummy_hash
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return None
        try:
            self._hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if not rows:
            return None
        user = self._need(name)
        if self._hasher.check_needs_rehash(digest):
            self._write(
                "UPDATE users SET password_hash = ? WHERE id = ?",
                (self._hasher.hash(password), user.id),
            )
        return None if user.disabled else user

    # -- sessions -----------------------------------------------------------------------------

    def open_session(
        self, user: User, address: str, user_agent: str, max_s: float
    ) -> tuple[str, Session]:
        """A new session for ``user``: the token for the cookie (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._write(
            "INSERT INTO web_sessions (token_sha256, csrf_token, user_id, address, user_agent,"
            " created_ns, seen_ns, expires_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token_hash(token),
                secrets.token_urlsafe(32),
                user.id,
                address[:64],
                user_agent[:200],
                now,
                now,
                now + int(max_s * 1e9),
            ),
        )
        session = self.session(token, idle_s=max_s)
        assert session is not None
        return token, session

    def session(self, token: str, idle_s: float) -> Session | None:
        """The live session of ``token`` (its last-seen time renewed), or None: unknown, idle
        for longer than ``idle_s``, past its absolute end, or its user disabled."""
        if not token or len(token) > 100:
            return None
        rows = self._rows(
            f"SELECT s.id, s.csrf_token, s.address, s.user_agent, s.created_ns, s.seen_ns,"
            f" s.expires_ns, {_USER_U} FROM web_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_sha256 = ?",
            (token_hash(token),),
        )
        if not rows:
            return None
        row = rows[0]
        now = self._clock()
        user = _user(row[7:])
        if user.disabled or now >= row[6] or now - row[5] > idle_s * 1e9:
            self._write("DELETE FROM web_sessions WHERE id = ?", (row[0],))
            return None
        seen = row[5]
        if now - seen >= _SEEN_EVERY_NS:
            seen = now
            self._write("UPDATE web_sessions SET seen_ns = ? WHERE id = ?", (now, row[0]))
        return Session(row[0], user, row[1], row[2], row[3], row[4], seen, row[6])

    def sessions(self) -> list[Session]:
        rows = self._rows(
            f"SELECT s.id, s.csrf_token, s.address, s.user_agent, s.created_ns, s.seen_ns,"
            f" s.expires_ns, {_USER_U} FROM web_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.expires_ns > ? ORDER BY s.seen_ns DESC",
            (self._clock(),),
        )
        return [Session(r[0], _user(r[7:]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def close_session(self, session_id: int) -> bool:
        """End one session (logout, or an admin's revocation); False if it was not open."""
        before = self._conn.total_changes()
        self._write("DELETE FROM web_sessions WHERE id = ?", (session_id,))
        return self._conn.total_changes() > before

    def end_sessions(self, user_id: int) -> None:
        self._write("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))

    def drop_expired(self, idle_s: float) -> None:
        now = self._clock()
        self._write(
            "DELETE FROM web_sessions WHERE expires_ns <= ? OR seen_ns < ?",
            (now, now - int(idle_s * 1e9)),
        )

    # -- internals ----------------------------------------------------------------------------

    def _need(self, name: str) -> User:
        user = self.user(name)
        if user is None:
            raise AccountError(f"no user {name[:80]!r}; `nvr user list` shows the users")
        return user

    def _keep_an_admin(self, name: str) -> None:
        if self.admins() <= 1:
            raise AccountError(
                f"{name!r} is the last enabled admin; add another admin first "
                "(nvr user add NAME --role admin)"
            )

    def _rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Any) -> None:
        with self._lock:
            self._conn.execute(sql, params)


_USER = "id, name, role, cameras, disabled, created_ns, password_ns"


_USER_U = ", ".join(f"u.{c.strip()}" for c in _USER.split(","))  # the same, in a join


def _user(row: tuple[Any, ...]) -> User:
    cameras = tuple(json.loads(row[3])) if row[3] is not None else None
    return User(row[0], row[1], row[2], cameras, bool(row[4]), row[5], row[6])


def _check_admin_cameras(role: str, cameras: str | None) -> None:
    if role == "admin" and cameras is not None:
        raise AccountError(
            "an admin has every camera (configuration, backups and the log concern them all): "
            "give an admin no camera list, or make the user an operator limited to cameras"
        )


def _camera_list(cameras: Iterable[str] | None) -> str | None:
    if cameras is None:
        return None
    ids = list(dict.fromkeys(c.strip() for c in cameras if c.strip()))
    if not ids:
        raise AccountError(
            "the camera list is empty: give at least one camera id, or no list for every camera"
        )
    if len(ids) > MAX_CAMERAS:
        raise AccountError(f"at most {MAX_CAMERAS} cameras in a user's list")
    for cam in ids:
        if len(cam) > 64 or not cam.isprintable():
            raise AccountError(f"camera id {cam[:64]!r} is not a camera id")
    return json.dumps(ids)


def _camera_text(cameras: tuple[str, ...] | None) -> str | None:
    return None if cameras is None else json.dumps(list(cameras))
