"""The error of the data package."""

from __future__ import annotations

from tinynas.errors import TinyNASError


class DatasetError(TinyNASError):
    """A dataset that cannot be found, read or used (unknown name, missing or corrupt file)."""
