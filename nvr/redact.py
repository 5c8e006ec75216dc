"""Strip credentials from URLs, and passwords from YAML text, before they reach a log line, a
message or the API."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]*@)")
# Cameras that take credentials in the query string: ?user=admin&password=...
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pass|pwd|token|auth|key|secret)=)[^&;#\s]*", re.IGNORECASE
)

# A password written in the config file (``password: hunter2``); ``${VAR}`` references stay.
_YAML_SECRET = re.compile(
    r"(?P<key>\b(?:password|passwd|secret|token)[ \t]*:[ \t]*)"
    r"(?!\$\{)(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s#,}]+)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://***@host/x``, and ``?password=x`` ->
    ``?password=***``; other text is returned unchanged."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """Redact every URL with credentials inside free text (log messages, exception strings,
    configuration texts), and every password written as ``password: value``."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group('key')}***", text)
    return _YAML_SECRET.sub(lambda m: f"{m.group('key')}***", text)
