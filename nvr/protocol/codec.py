"""JSON to and from the protocol's typed values, in one place (pydantic's ``TypeAdapter`` over
plain frozen dataclasses: validated on the way in, unknown keys ignored for forward
compatibility)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from nvr.errors import RequestError

T = TypeVar("T")


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def to_json(value: Any) -> Any:
    """A protocol value as JSON-ready Python (dicts, lists, str, numbers, None)."""
    return _adapter(type(value)).dump_python(value, mode="json")


def from_json(cls: type[T], data: Any) -> T:
    """A protocol value from parsed JSON; ``RequestError`` naming the first bad field."""
    try:
        value: T = _adapter(cls).validate_python(data)
        return value
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or cls.__name__
        raise RequestError(f"{where}: {first['msg']}") from err
