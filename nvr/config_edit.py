"""Edits to the YAML configuration text that keep the admin's comments, order and layout.

An edit names a key by its path and gives its new value, or deletes it. A camera in the path is
named by its id, not its position (``["cameras", "door", "record", "mode"]``): positions shift
when another client adds or removes a camera. Setting a camera that does not exist appends it;
deleting one removes it. ``apply_edits`` returns the new text; whether the result is a valid
configuration is ``nvr.config.parse_config``'s to say (the key it names is the one to fix).
Only what is edited changes in the text: ``${VAR}`` references, comments and blank lines
elsewhere stay as the admin wrote them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from nvr.errors import RequestError
from nvr.redact import redact_text

MAX_EDITS = 200
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
MAX_DEPTH = 8

Key = str | int


@dataclass(frozen=True, slots=True)
class Edit:
    """Set ``path`` to ``value``, or delete it (``delete``)."""

    path: tuple[Key, ...]
    value: Any = None
    delete: bool = False


def parse_edits(data: Any) -> list[Edit]:
    """The edits in a request's params; ``RequestError`` naming the first malformed one."""
    if not isinstance(data, list) or not 0 < len(data) <= MAX_EDITS:
        raise RequestError(f"params.edits must be a list of 1 to {MAX_EDITS} edits")
    edits: list[Edit] = []
    for n, item in enumerate(data):
        if not isinstance(item, dict) or set(item) - {"path", "value", "delete"}:
            raise RequestError(f"edit {n}: must be {{path, value}} or {{path, delete: true}}")
        path = item.get("path")
        if (
            not isinstance(path, list)
            or not 0 < len(path) <= MAX_DEPTH
            or not all(_is_key(k) for k in path)
        ):
            raise RequestError(
                f"edit {n}: path must be a list of 1 to {MAX_DEPTH} keys (names or list indexes)"
            )
        delete = item.get("delete", False)
        if not isinstance(delete, bool) or delete == ("value" in item):
            raise RequestError(f"edit {n}: give either a value or delete: true")
        if delete and len(path) == 1:
            raise RequestError(
                f"edit {n}: a whole section ({path[0]}) is not deleted through the API; delete "
                "what is in it (cameras one by one)"
            )
        where = ".".join(map(str, path))
        if any(e.path == tuple(path) for e in edits):
            raise RequestError(f"edit {n}: {where} is edited twice; send one edit per key")
        _check_value(item.get("value"), where)
        edits.append(Edit(tuple(path), item.get("value"), delete))
    return edits


HIDDEN = "**********"  # a password as the API shows it (pydantic's SecretStr)


def _check_value(value: Any, where: str) -> None:
    """Refuse what would read a secret or destroy one: a ``${VAR}`` reference (the engine
    expands it, so a client could read its environment), and a URL whose password shows as
    hidden (``***@``, as the API shows URLs: saving it would replace the real password)."""
    if isinstance(value, dict):
        for child in value.values():
            _check_value(child, where)
    elif isinstance(value, list):
        for child in value:
            _check_value(child, where)
    elif isinstance(value, str):
        if "${" in value:
            raise RequestError(
                f"{where}: values sent to the engine cannot reference environment variables "
                "(${...}); write such a reference in the file itself"
            )
        if "***@" in value or "=***" in value:
            raise RequestError(
                f"{where}: this URL has its password hidden (***); type the whole URL with its "
                "password, or leave the field as it is"
            )
        if value in (HIDDEN, "***"):
            raise RequestError(
                f"{where}: this is a hidden password as the engine shows it; type the password "
                "itself, or leave the field as it is"
            )


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` applied in order; ``RequestError`` for a path that cannot be."""
    try:
        _, indent, offset = load_yaml_guess_indent(text) if text.strip() else (None, 2, 0)
        yaml = _yaml(indent or 2, offset or 0)
        document = yaml.load(text)
    except YAMLError as err:
        raise RequestError(
            f"the config file is not valid YAML now ({redact_text(str(err))}); fix it first"
        ) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise RequestError("the config file's top level is not a mapping; fix it first")
    shared = _shared(document)
    for edit in edits:
        _refuse_shared(document, edit, shared)
        _apply(document, edit)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _shared(document: Any) -> set[int]:
    """The sections written once and used in several places (a YAML anchor and its aliases)."""
    seen: set[int] = set()
    shared: set[int] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, dict | list):
            return
        if id(node) in seen:
            shared.add(id(node))
            return
        seen.add(id(node))
        for child in node.values() if isinstance(node, dict) else node:
            walk(child)

    walk(document)
    return shared


def _refuse_shared(document: CommentedMap, edit: Edit, shared: set[int]) -> None:
    """An edit inside a section shared through an anchor would change every place that uses
    it: refused, naming the anchor."""
    node: Any = document
    for depth, key in enumerate(edit.path[:-1]):
        try:
            node = _child(node, key, edit.path[:depth])
        except RequestError:
            return  # _apply names the problem
        if node is None:
            return
        if id(node) in shared:
            anchor = getattr(getattr(node, "anchor", None), "value", None)
            raise RequestError(
                f"{'.'.join(map(str, edit.path[: depth + 1]))}: this section is shared with "
                f"other places through a YAML anchor{f' (&{anchor})' if anchor else ''}; an edit "
                "here would change them all: edit the file by hand"
            )


def _yaml(sequence: int, offset: int) -> YAML:
    """A round-trip YAML that writes lists indented as the admin's file does."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL the admin wrote on one line
    yaml.indent(mapping=2, sequence=max(sequence, offset + 2), offset=offset)
    yaml.representer.add_representer(type(None), _null)  # "null", as the example config says
    return yaml


def _null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _is_key(key: Any) -> bool:
    if isinstance(key, bool):
        return False
    return isinstance(key, int) and 0 <= key < 10_000 or isinstance(key, str) and 0 < len(key) < 100


def _apply(document: CommentedMap, edit: Edit) -> None:
    where = ".".join(str(k) for k in edit.path)
    node: Any = document
    *parents, last = edit.path
    for depth, key in enumerate(parents):
        child = _child(node, key, edit.path[:depth])
        if child is None:
            if edit.delete:
                return  # deleting what is not there: done
            if isinstance(node, CommentedSeq):
                raise RequestError(f"{where}: there is no camera {key!r} to edit")
            child = CommentedMap()
            _set(node, key, child, where)
        node = child
    if edit.delete:
        _delete(node, last, where)
    else:
        _set(node, last, _plain_value(edit.value), where)


def _child(node: Any, key: Key, above: tuple[Key, ...]) -> Any:
    if isinstance(node, CommentedMap):
        if not isinstance(key, str):
            raise RequestError(f"{'.'.join(map(str, above)) or 'top level'}: keys are names")
        value = node.get(key)
        if value is None and key in node:  # "record:" with nothing under it
            return None
        return value
    if isinstance(node, CommentedSeq):
        index = _index(node, key, above)
        return None if index is None else node[index]
    raise RequestError(f"{'.'.join(map(str, above))}: is a value, not a section")


def _index(seq: CommentedSeq, key: Key, above: tuple[Key, ...]) -> int | None:
    """The position of ``key`` in a list: cameras by id, other lists by index."""
    if isinstance(key, int):
        return key if key < len(seq) else None
    for n, item in enumerate(seq):
        if isinstance(item, dict) and str(item.get("id")) == key:
            return n
    if not all(isinstance(item, dict) for item in seq):
        raise RequestError(f"{'.'.join(map(str, above))}: name items by their index")
    return None


def _set(node: Any, key: Key, value: Any, where: str) -> None:
    if isinstance(node, CommentedMap):
        if not isinstance(key, str):
            raise RequestError(f"{where}: keys are names")
        old = node.get(key)
        if isinstance(old, CommentedMap) and isinstance(value, CommentedMap):
            _merge(old, value)  # keeps the comments inside the section
        else:
            node[key] = value
        return
    if isinstance(node, CommentedSeq):
        index = _index(node, key, ())
        if index is not None:
            node[index] = value
        elif isinstance(key, str):  # a new camera: appended, with its id
            if not isinstance(value, CommentedMap) or value.get("id", key) != key:
                raise RequestError(f"{where}: a new camera is a section whose id is {key!r}")
            if "id" not in value:
                value.insert(0, "id", key)
            node.append(value)
        else:
            raise RequestError(f"{where}: index {key} is past the end of the list")
        return
    raise RequestError(f"{where}: its parent is a value, not a section")


def _merge(old: CommentedMap, new: CommentedMap) -> None:
    """Make ``old`` equal to ``new`` key by key, keeping the comments of the keys that stay."""
    for key in [k for k in old if k not in new]:
        del old[key]
    for key, value in new.items():
        if isinstance(old.get(key), CommentedMap) and isinstance(value, CommentedMap):
            _merge(old[key], value)
        elif old.get(key) != value or key not in old:
            old[key] = value


def _delete(node: Any, key: Key, where: str) -> None:
    if isinstance(node, CommentedMap):
        if isinstance(key, str) and key in node:
            del node[key]
    elif isinstance(node, CommentedSeq):
        index = _index(node, key, ())
        if index is not None:
            del node[index]
    elif node is not None:
        raise RequestError(f"{where}: its parent is a value, not a section")


def _plain_value(value: Any) -> Any:
    """JSON values as ruamel nodes: mappings and lists become commented ones (a point and a
    polygon in flow style, ``[[0, 0], [1, 0], [1, 1]]``, as they are written by hand)."""
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[str(k)] = _plain_value(v)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_plain_value(v) for v in value)
        short_words = all(isinstance(v, str) and len(v) <= 12 for v in value)  # [mon, tue]
        if value and (short_words or all(_is_number(v) or _is_points(v) for v in value)):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        return DoubleQuotedScalarString(value)  # "08:00": YAML 1.1 readers take 08:00 for 480
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_points(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, list) and all(map(_is_number, p)) for p in value
    )
