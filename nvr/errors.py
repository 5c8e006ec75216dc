"""One error type per failure class, each with a stable code and a message that names the fix."""

from __future__ import annotations


class NvrError(Exception):
    """Base of every error a user can cause; ``str()`` is the one clear message to show."""

    code = "nvr_error"


class ConfigError(NvrError):
    """The YAML configuration is unreadable or invalid; ``errors`` lists every problem found."""

    code = "config_invalid"

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
