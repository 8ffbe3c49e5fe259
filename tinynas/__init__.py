"""tinynas: neural networks that fit a named microcontroller board, and the proof that they do."""

from __future__ import annotations

__version__ = "0.1.0"
