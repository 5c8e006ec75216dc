"""The loopback API's HTTP/1.1 server: asyncio for the connections, h11 for the protocol.

Built to stay up under hostile local clients:
- Connections cost a coroutine, not a thread: 1,000 idle ones do not stop ``/health``.
- A client must send its request head within ``HEAD_TIMEOUT_S`` of its first byte, its body
  within ``BODY_TIMEOUT_S``, and a new request within ``IDLE_TIMEOUT_S``; heads are at most
  ``MAX_HEAD_BYTES`` and bodies ``max_body_bytes``.
- At ``MAX_CONNECTIONS``, a new connection evicts the one that has waited longest for its
  client (idle or slow), so a real client always gets in; a request being answered is never
  evicted. (On loopback every client has the same address, so a cap per address would lock
  out the console with the attacker.)
- Handlers that may block (commands, catalog queries) run on ``WORKERS`` threads; when
  ``MAX_QUEUED`` requests already wait for one, the next is answered 503 at once. Cheap
  handlers (the published health) run on the event loop.
- A long poll (``Handler.hold``) waits on the event loop, not on a thread, and its connection
  stays evictable while it waits.
- Every error is a JSON reply with a code, never an HTML page or a traceback on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import h11

from nvr.errors import (
    EngineBusyError,
    HeadTooLargeError,
    MethodNotAllowedError,
    NvrError,
    RequestError,
    RequestTimeoutError,
    TooLargeError,
)

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256
HEAD_TIMEOUT_S = 5.0
BODY_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 15.0
WRITE_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 16 * 1024
WORKERS = 8
MAX_QUEUED = 32
BACKLOG = 1024
HOLD_POLL_S = 0.05  # how often a held request checks whether its answer is ready
_READ_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    client: str  # the peer's address


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    close: bool = False  # close the connection after this response
    headers: tuple[tuple[str, str], ...] = ()  # more headers (names as sent)

    @property
    def content_type_header(self) -> str:
        """The Content-Type, with a charset for text (JSON and text/*), none for images."""
        text = self.content_type.startswith("text/") or self.content_type.endswith("json")
        return f"{self.content_type}; charset=utf-8" if text else self.content_type

    @classmethod
    def json(cls, status: int, value: object) -> Response:
        return cls(status, json.dumps(value).encode())

    @classmethod
    def error(cls, err: NvrError, close: bool = False) -> Response:
        body = {"ok": False, "error": str(err), "code": err.code}
        return cls(err.http_status, json.dumps(body).encode(), close=close)


@dataclass(frozen=True, slots=True)
class Hold:
    """A long poll: wait until ``ready()`` (checked every ``HOLD_POLL_S``) or ``seconds`` pass,
    then answer as usual."""

    ready: Callable[[], bool]
    seconds: float


class Handler(Protocol):
    def inline(self, request: Request) -> bool:
        """Whether answering ``request`` is cheap enough for the event loop itself."""

    def hold(self, request: Request) -> Hold | None:
        """For a long poll, how to wait before answering; None to answer at once. Must be
        cheap and never raise (a bad request is answered by ``handle``)."""

    def handle(self, request: Request) -> Response:
        """The response; may block when ``inline`` said no (it then runs on a worker thread)."""


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    waiting_since: float  # event-loop time since it has been waiting for its client
    busy: bool = False  # a request of it is being answered: never evicted
    closed: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def evict(self) -> None:
        self.closed = True
        if self.task is not None:
            self.task.cancel()


class HttpServer:
    """Serves ``handler`` on a socket bound at construction (so a busy port fails at once),
    from its own thread and event loop once ``start`` is called."""

    def __init__(self, handler: Handler, host: str, port: int, max_body_bytes: int) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        self.sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self.sock.setblocking(False)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="api")
        self._queued = 0  # requests waiting for or running on a worker thread
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stopped.set)
            self._thread.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sock.close()

    # -- the event loop's thread -------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet)  # a hostile client's leftovers are not tracebacks
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._accept, sock=self.sock, limit=_READ_BYTES)
        self._ready.set()
        async with server:
            await self._stopped.wait()
            for conn in list(self._connections):
                conn.evict()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        conn = _Connection(writer, loop.time(), task=asyncio.current_task())
        if len(self._connections) >= MAX_CONNECTIONS:
            waiting = [c for c in self._connections if not c.busy]
            if not waiting:  # every slot answers a request: come back in a moment
                await self._send_and_close(writer, _busy("too many connections"))
                return
            min(waiting, key=lambda c: c.waiting_since).evict()
        self._connections.add(conn)
        try:
            await self._serve(reader, conn)
        except (asyncio.CancelledError, ConnectionError, TimeoutError, OSError):
            pass
        except Exception:  # never a traceback on stderr: the log redacts and rotates
            log.exception("API connection from %s failed", _peer(writer))
        finally:
            self._connections.discard(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _serve(self, reader: asyncio.StreamReader, conn: _Connection) -> None:
        """Requests of one connection, kept alive, until it closes, times out or is evicted."""
        protocol = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        peer = _peer(conn.writer)
        while not conn.closed:
            conn.waiting_since = asyncio.get_running_loop().time()
            try:
                request = await self._read(reader, protocol, peer)
            except NvrError as err:  # refused before any handler: answered, then closed
                await self._write(conn.writer, protocol, Response.error(err, close=True))
                return
            if request is None:
                return
            hold = self.handler.hold(request)
            if hold is not None:  # evictable meanwhile: waiting_since is when it asked
                await self._hold(hold, conn)
            conn.busy = True
            try:
                response = await self._answer(request)
                await self._write(conn.writer, protocol, response)
            finally:
                conn.busy = False
            if response.close or protocol.our_state is not h11.DONE:
                return
            protocol.start_next_cycle()

    @staticmethod
    async def _hold(hold: Hold, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + hold.seconds
        while not conn.closed and loop.time() < until and not hold.ready():
            await asyncio.sleep(HOLD_POLL_S)

    async def _read(
        self, reader: asyncio.StreamReader, protocol: h11.Connection, peer: str
    ) -> Request | None:
        """The next whole request; None when the client closed or went quiet between requests."""
        loop = asyncio.get_running_loop()
        head: h11.Request | None = None
        body = bytearray()
        deadline: float | None = None  # set by the first byte of the request
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as err:
                if err.error_status_hint == 431:
                    raise HeadTooLargeError("request head too large") from err
                raise RequestError(f"bad request: {err}") from err
            if event is h11.NEED_DATA:
                timeout = IDLE_TIMEOUT_S if deadline is None else deadline - loop.time()
                try:
                    data = await asyncio.wait_for(reader.read(_READ_BYTES), max(0.0, timeout))
                except TimeoutError:
                    if deadline is None:
                        return None  # quiet between requests: close without a word
                    raise RequestTimeoutError("request not received in time") from None
                if deadline is None and data:
                    deadline = loop.time() + HEAD_TIMEOUT_S
                protocol.receive_data(data)
            elif isinstance(event, h11.Request):
                head = event
                size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
                if size > MAX_HEAD_BYTES:  # h11 bounds only heads still incomplete
                    raise HeadTooLargeError("request head too large")
                method = event.method.decode()
                if method not in ("GET", "POST"):
                    raise MethodNotAllowedError("the API answers GET or POST only")
                length = _header(event, b"content-length")
                if length is not None and int(length) > self.max_body_bytes:
                    raise self._too_large()
                deadline = loop.time() + BODY_TIMEOUT_S
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body_bytes:
                    raise self._too_large()
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}
                return Request(
                    head.method.decode(), head.target.decode(), headers, bytes(body), peer
                )
            else:  # ConnectionClosed, or PAUSED after a request we did not finish
                return None

    def _too_large(self) -> TooLargeError:
        return TooLargeError(f"body too large (at most {self.max_body_bytes} bytes)")

    async def _answer(self, request: Request) -> Response:
        handler = self.handler
        try:
            if handler.inline(request):
                return handler.handle(request)
            if self._queued >= WORKERS + MAX_QUEUED:
                return Response.error(_busy("too many requests at once"))
            self._queued += 1
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._pool, handler.handle, request)
            finally:
                self._queued -= 1
        except Exception:
            log.exception("API %s %s failed", request.method, request.target.split("?")[0])
            return Response.error(NvrError("internal error; see the engine log"))

    async def _write(
        self, writer: asyncio.StreamWriter, protocol: h11.Connection, response: Response
    ) -> None:
        headers = [
            ("Content-Type", response.content_type_header),
            ("Content-Length", str(len(response.body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *response.headers,
        ]
        if response.close:
            headers.append(("Connection", "close"))
        try:
            data = protocol.send(h11.Response(status_code=response.status, headers=headers))
            data = (data or b"") + (protocol.send(h11.Data(data=response.body)) or b"")
            data += protocol.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:  # past answering in h11's eyes (a broken request)
            data = _bare(response)
        writer.write(data)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)

    async def _send_and_close(self, writer: asyncio.StreamWriter, err: NvrError) -> None:
        with contextlib.suppress(Exception):
            writer.write(_bare(Response.error(err, close=True)))
            await asyncio.wait_for(writer.drain(), 1)
        writer.close()


def _busy(what: str) -> EngineBusyError:
    return EngineBusyError(f"the API is busy ({what}); try again in a moment")


def _header(request: h11.Request, name: bytes) -> str | None:
    values = [v for k, v in request.headers if k.lower() == name]
    return values[-1].decode() if values else None


def _bare(response: Response) -> bytes:
    """A whole HTTP/1.1 response, outside of h11's state machine (it closes the connection)."""
    reason = "Error" if response.status >= 400 else "OK"
    return (
        f"HTTP/1.1 {response.status} {reason}\r\n"
        f"Content-Type: {response.content_type_header}\r\n"
        f"Content-Length: {len(response.body)}\r\nConnection: close\r\n\r\n"
    ).encode() + response.body


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else "?"


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    log.debug("API event loop: %s", context.get("message"))
