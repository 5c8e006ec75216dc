"""List queries (``GET /api/recordings``, ``/api/events``, ``/api/gaps``): one validation for
every list route, shared by the loopback API and the coming web server.

``camera_id``, ``start_ns`` and ``end_ns`` (rows overlapping ``[start_ns, end_ns)``, epoch
nanoseconds), ``limit`` (1..``MAX_LIMIT``, default ``DEFAULT_LIMIT``) and ``order`` (``asc``,
the default, or ``desc``: by start time). Anything else is refused with the rule it broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from nvr.errors import RequestError

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
_MAX_NS = 2**63 - 1  # what a catalog row can hold
_KEYS = ("camera_id", "start_ns", "end_ns", "limit", "order")


@dataclass(frozen=True, slots=True)
class ListQuery:
    camera_id: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int = DEFAULT_LIMIT
    descending: bool = False


def parse_query(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """A query string as a dict; ``RequestError`` for a parameter not in ``keys`` or given
    twice (which one would count is not for us to guess)."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in query:
            raise RequestError(f"query parameter {key[:40]!r} given twice")
        query[key] = value
    unknown = sorted(set(query) - set(keys))
    if unknown:
        raise RequestError(f"unknown query parameter(s) {unknown[:5]}; allowed: {list(keys)}")
    return query


def required_integer(query: dict[str, str], key: str, low: int = 0, high: int = _MAX_NS) -> int:
    value = _integer(query, key, low, high)
    if value is None:
        raise RequestError(f"{key} is required")
    return value


def optional_integer(
    query: dict[str, str], key: str, default: int, low: int = 0, high: int = _MAX_NS
) -> int:
    value = _integer(query, key, low, high)
    return default if value is None else value


def parse_list_query(text: str) -> ListQuery:
    """The query string of a list route; ``RequestError`` naming the parameter and its rule."""
    query = parse_query(text, _KEYS)
    order = query.get("order", "asc")
    if order not in ("asc", "desc"):
        raise RequestError(f"order must be asc or desc, not {order!r}")
    return ListQuery(
        camera_id=query.get("camera_id") or None,
        start_ns=_integer(query, "start_ns", 0, _MAX_NS),
        end_ns=_integer(query, "end_ns", 0, _MAX_NS),
        limit=_integer(query, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT,
        descending=order == "desc",
    )


def _integer(query: dict[str, str], key: str, low: int, high: int) -> int | None:
    if key not in query:
        return None
    text = query[key]
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and low <= int(text) <= high):
        raise RequestError(f"{key} takes integers from {low} to {high}, not {text[:30]!r}")
    return int(text)
