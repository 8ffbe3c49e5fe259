"""The one error hierarchy of tinynas.

Every error a user can cause descends from :class:`TinyNASError`; the CLI catches it once,
prints its message as one line and exits with status 2. Messages say what failed, the value
involved, and what to do next.
"""

from __future__ import annotations


class TinyNASError(Exception):
    """Root of all tinynas errors."""


class BoardNotFoundError(TinyNASError, KeyError):
    """An unknown board name or alias."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CatalogueError(TinyNASError):
    """A malformed device TOML file."""


class SearchSpaceError(TinyNASError):
    """An architecture that is malformed or does not fit its input shape."""


class ConversionError(TinyNASError):
    """A model that could not be converted to int8 TFLite or run in TFLM."""


class ModelFileError(TinyNASError):
    """A file that is not a usable TFLite model (missing, truncated, not int8)."""


class ProfilerError(TinyNASError):
    """A failure talking to a board or its emulator."""


class DeviceTimeoutError(ProfilerError):
    """A board that did not answer in time."""


class StoreError(TinyNASError):
    """A run store that cannot be read or written."""
