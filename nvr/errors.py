"""One error type per failure class, each with a stable code and a message that names the fix.

``code`` and ``http_status`` are what the loopback API replies with when the error ends a
request: ``{"ok": false, "error": str(err), "code": err.code}``.
"""

from __future__ import annotations


class NvrError(Exception):
    """Base of every error a user can cause; ``str()`` is the one clear message to show."""

    code = "nvr_error"
    http_status = 500


class ConfigError(NvrError):
    """The YAML configuration is unreadable or invalid; ``errors`` lists every problem found."""

    code = "config_invalid"
    http_status = 422  # a config edit sent to the engine that does not validate

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{source}: {len(errors)} problem(s) in the configuration:\n{lines}")


class StreamError(NvrError):
    """A camera stream could not be opened or was lost."""

    code = "stream_error"


class StorageError(NvrError):
    """The storage path is missing, read-only or full."""

    code = "storage_error"


class CatalogError(NvrError):
    """The catalog database cannot be opened or migrated."""

    code = "catalog_error"


class CatalogFullError(CatalogError):
    """The catalog's disk refused a write (full, or an I/O error); the write can be retried."""

    code = "catalog_full"


class RequestError(NvrError):
    """An API request that cannot be understood: bad JSON, a wrong field, an unknown command."""

    code = "bad_request"
    http_status = 400


class TooLargeError(RequestError):
    code = "too_large"
    http_status = 413


class HeadTooLargeError(TooLargeError):
    http_status = 431


class RequestTimeoutError(RequestError):
    """A client that did not finish sending its request in time."""

    code = "timeout"
    http_status = 408


class MethodNotAllowedError(RequestError):
    code = "method_not_allowed"
    http_status = 405


class UnauthorizedError(NvrError):
    """An API request without the engine's token (or with a wrong one)."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(NvrError):
    """An API request from where it may not come: a web page (Origin), a rebound name (Host)."""

    code = "forbidden"
    http_status = 403


class ForbiddenHostError(ForbiddenError):
    code = "forbidden_host"


class ForbiddenOriginError(ForbiddenError):
    code = "forbidden_origin"


class UnsupportedMediaError(RequestError):
    code = "unsupported_media_type"
    http_status = 415


class NotFoundError(NvrError):
    """An API request for something the engine does not have: a route, a camera."""

    code = "not_found"
    http_status = 404


class ConflictError(NvrError):
    """The request does not fit the current state (an alarm still active cannot be cleared)."""

    code = "conflict"
    http_status = 409


class UnknownCameraError(NotFoundError):
    code = "unknown_camera"


class EngineBusyError(NvrError):
    """The engine cannot take a request now (its loop is busy, it is stopping, too many
    requests at once); nothing was done: send it again."""

    code = "engine_busy"
    http_status = 503


class EngineUnreachableError(NvrError):
    """A client could not reach the engine's API, or it answered with something not JSON."""

    code = "engine_unreachable"
    http_status = 503


class EngineRefusedError(NvrError):
    """The engine answered a request with an error: ``http_status`` and ``reason`` are its
    answer's, so a caller passes them on (the web) without reading them back out of the text."""

    code = "engine_refused"

    def __init__(self, what: str, status: int, reason: object) -> None:
        super().__init__(f"{what}: HTTP {status}: {reason}")
        self.http_status = status
        self.reason = str(reason)
