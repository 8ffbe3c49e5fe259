"""Whatever an architecture JSON holds, reading it gives an Architecture or one
SearchSpaceError, never another exception; a valid one lowers and estimates (property-based)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynas.errors import SearchSpaceError
from tinynas.estimators import estimate
from tinynas.space import Architecture, lower, problems, sample, validate

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=4),
    max_leaves=20,
)  # fmt: skip
INTS = st.integers(-3, 300) | st.integers(-(10**30), 10**30)
BASE = json.loads(sample((16, 16, 1), 10, 7).to_json())
LAYER_FIELDS = ("type", "kernel_size", "filters", "stride", "batch_norm", "relu", "pre_pool")
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _read(document: str | bytes) -> None:
    """The property: an Architecture whose rules can be listed, or one SearchSpaceError."""
    try:
        arch = Architecture.from_json(document)
    except SearchSpaceError as e:
        assert "\n" not in str(e) and len(str(e)) < 1000
        return
    found = problems(arch)
    assert all(isinstance(p, str) and len(p) < 1000 for p in found)
    if found:
        try:
            validate(arch)
        except SearchSpaceError:
            return
        raise AssertionError("validate passed an architecture with problems")
    assert lower(arch)[0].shape == tuple(arch.input_shape)
    assert estimate(arch).flash_bytes > 0
    assert Architecture.from_json(arch.to_json()) == arch


@SETTINGS
@given(JSON)
def test_any_json_value_reads_or_is_one_error(value: Any) -> None:
    _read(json.dumps(value))


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_read_or_are_one_error(data: bytes) -> None:
    _read(data)


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_reads_or_is_one_error(text: str) -> None:
    _read(text)


def _edited(draw: Any) -> dict[str, Any]:
    """The base architecture with a few fields replaced by numbers near and past the limits, or
    by any JSON value."""
    d = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "shape", "dense", "layer", "pooling"]))
        value = draw(INTS | JSON)
        if where == "top":
            key = draw(st.sampled_from(["num_classes", "blocks", "pooling", "dense", "schema"]))
            d[key] = value
        elif where == "shape":
            d["input_shape"] = draw(st.lists(INTS, min_size=0, max_size=4))
        elif where == "dense":
            d["dense"] = draw(st.lists(INTS, max_size=4))
        elif where == "layer" and isinstance(d.get("blocks"), list) and d["blocks"]:
            block = d["blocks"][draw(st.integers(0, len(d["blocks"]) - 1))]
            if isinstance(block, dict) and isinstance(block.get("layers"), list):
                layer = block["layers"][draw(st.integers(0, len(block["layers"]) - 1))]
                layer[draw(st.sampled_from(LAYER_FIELDS))] = value
        elif where == "pooling":
            d["pooling"] = {"type": draw(st.sampled_from(["avg", "max", "min"])), "size": value}
    return d


@SETTINGS
@given(st.data())
def test_architectures_near_and_past_the_limits_read_or_are_one_error(data: Any) -> None:
    _read(json.dumps(_edited(data.draw)))
