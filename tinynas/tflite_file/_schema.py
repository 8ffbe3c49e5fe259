"""The generated TFLite schema module (from ai-edge-litert; it needs only flatbuffers)."""

from __future__ import annotations

from typing import Any


def schema_module() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def enum_names(enum: type) -> dict[int, str]:
    """Value -> name of an enum class of the generated schema."""
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}
