"""Strip credentials from URLs before they reach a log line, a message or the API."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]*@)")


def redact_url(url: str) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://***@host/x``; other text is returned unchanged."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", url)


def redact_text(text: str) -> str:
    """Redact every URL with credentials inside free text (log messages, exception strings)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
