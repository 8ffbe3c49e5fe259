"""The architecture description: JSON round trip, content hash, malformed JSON, validity."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tinynas.errors import SearchSpaceError
from tinynas.space import (
    SCHEMA,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
    lower,
    problems,
    sample,
    validate,
)

SHAPES = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (640,), (64, 3)]


def literal() -> Architecture:
    """A fixed architecture written out field by field (a fresh object on every call)."""
    return Architecture(
        input_shape=(28, 28, 1),
        num_classes=10,
        blocks=(
            ConvBlock((
                ConvLayer("conv2d", kernel_size=3, filters=8, stride=2, batch_norm=True,
                          relu=True, pre_pool=False),
                ConvLayer("dwconv2d", kernel_size=5, filters=0, stride=1, batch_norm=False,
                          relu=True, pre_pool=True),
            )),
            ConvBlock((
                ConvLayer("1x1conv2d", kernel_size=1, filters=12, stride=1, batch_norm=False,
                          relu=False, pre_pool=False),
            ), parallel=True),
        ),
        pooling=Pooling("max", 2),
        dense=(32,),
    )


def with_layer(arch: Architecture, block: int, layer: int, **changes: Any) -> Architecture:
    """`arch` with one layer's fields replaced."""
    blocks = list(arch.blocks)
    layers = list(blocks[block].layers)
    layers[layer] = replace(layers[layer], **changes)
    blocks[block] = replace(blocks[block], layers=tuple(layers))
    return replace(arch, blocks=tuple(blocks))


# --- JSON round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("input_shape", SHAPES, ids=str)
def test_json_round_trip_is_exact(input_shape: tuple[int, ...]) -> None:
    for seed in range(50):
        arch = sample(input_shape, 10, seed)
        text = arch.to_json()
        back = Architecture.from_json(text)
        assert back == arch  # dataclass equality also compares tuple vs list
        assert back.to_json() == text
        assert Architecture.from_json(arch.to_json(indent=None)) == arch
        assert back.content_hash == arch.content_hash


def test_json_round_trip_of_literal_keeps_every_field() -> None:
    arch = literal()
    back = Architecture.from_json(arch.to_json())
    assert back == arch
    assert back.input_shape == (28, 28, 1) and isinstance(back.input_shape, tuple)
    assert back.blocks[1].parallel is True
    assert back.blocks[0].layers[1] == ConvLayer("dwconv2d", 5, 0, 1, False, True, True)
    assert back.pooling == Pooling("max", 2)
    assert back.dense == (32,)
    assert json.loads(arch.to_json())["schema"] == SCHEMA == "tinynas.arch/1"


def test_json_round_trip_without_pooling_blocks_or_dense() -> None:
    arch = Architecture((640,), 4)
    back = Architecture.from_json(arch.to_json())
    assert back == arch
    assert back.pooling is None and back.blocks == () and back.dense == ()


# --- content hash ------------------------------------------------------------------------------


def test_content_hash_is_stable_across_constructions() -> None:
    a, b = literal(), literal()
    assert a is not b
    assert a.content_hash == b.content_hash
    # the documented recipe: sha256 of the canonical compact sorted JSON, 16 hex digits
    text = json.dumps(canonical(a).to_dict(), sort_keys=True, separators=(",", ":"))
    assert a.content_hash == hashlib.sha256(text.encode()).hexdigest()[:16]
    # pinned: a silent change of the id would orphan every stored run
    assert a.content_hash == "d238b2cc85b0b161"


CHANGES: dict[str, Callable[[Architecture], Architecture]] = {
    "num_classes": lambda a: replace(a, num_classes=11),
    "input_shape": lambda a: replace(a, input_shape=(28, 28, 3)),
    "filters": lambda a: with_layer(a, 0, 0, filters=9),
    "kernel": lambda a: with_layer(a, 0, 1, kernel_size=3),
    "stride": lambda a: with_layer(a, 0, 0, stride=1),
    "batch_norm": lambda a: with_layer(a, 0, 0, batch_norm=False),
    "relu": lambda a: with_layer(a, 1, 0, relu=True),
    "pre_pool": lambda a: with_layer(a, 0, 0, pre_pool=True),
    "type": lambda a: with_layer(a, 0, 0, type="1x1conv2d"),
    "parallel": lambda a: replace(a, blocks=(a.blocks[0], replace(a.blocks[1], parallel=False))),
    "pool_type": lambda a: replace(a, pooling=Pooling("avg", 2)),
    "pool_size": lambda a: replace(a, pooling=Pooling("max", 4)),
    "no_pooling": lambda a: replace(a, pooling=None),
    "dense": lambda a: replace(a, dense=(33,)),
    "more_dense": lambda a: replace(a, dense=(32, 32)),
}


def test_content_hash_changes_with_every_field() -> None:
    hashes = {"base": literal().content_hash}
    for name, change in CHANGES.items():
        hashes[name] = change(literal()).content_hash
    assert len(set(hashes.values())) == len(hashes), hashes


@pytest.mark.parametrize(
    "changes",
    [
        {"block": 0, "layer": 1, "filters": 24},  # depthwise: filters ignored
        {"block": 1, "layer": 0, "kernel_size": 5},  # 1x1: kernel ignored
        {"block": 1, "layer": 0, "stride": 2},  # 1x1: stride ignored
    ],
    ids=["dw_filters", "1x1_kernel", "1x1_stride"],
)
def test_content_hash_ignores_fields_canonical_normalises(changes: dict[str, int]) -> None:
    changes = dict(changes)
    other = with_layer(literal(), changes.pop("block"), changes.pop("layer"), **changes)
    assert other != literal()
    assert canonical(other) == literal()
    assert other.content_hash == literal().content_hash


# --- malformed JSON ----------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    return json.loads(literal().to_json())


def _layer0(d: dict[str, Any]) -> dict[str, Any]:
    return d["blocks"][0]["layers"][0]


def _edit(fn: Callable[[dict[str, Any]], None]) -> str:
    d = copy.deepcopy(_base())
    fn(d)
    return json.dumps(d)


MALFORMED: list[tuple[str, str, str]] = [
    ("not_json", "{not json", r"not valid JSON"),
    ("not_object", "[1, 2]", r"must be an object"),
    ("wrong_schema", _edit(lambda d: d.update(schema="tinynas.arch/0")),
     r"schema is 'tinynas.arch/0'; expected 'tinynas.arch/1'"),
    ("no_schema", _edit(lambda d: d.pop("schema")), r"schema is None"),
    ("missing_num_classes", _edit(lambda d: d.pop("num_classes")),
     r"architecture is missing field 'num_classes'"),
    ("missing_dense", _edit(lambda d: d.pop("dense")), r"missing field 'dense'"),
    ("missing_layer_relu", _edit(lambda d: _layer0(d).pop("relu")),
     r"blocks\[0\]\.layers\[0\] is missing field 'relu'"),
    ("missing_pool_size", _edit(lambda d: d["pooling"].pop("size")),
     r"pooling is missing field 'size'"),
    ("input_shape_string", _edit(lambda d: d.update(input_shape="28x28")),
     r"architecture\.input_shape must be a list"),
    ("kernel_string", _edit(lambda d: _layer0(d).update(kernel_size="3")),
     r"blocks\[0\]\.layers\[0\]\.kernel_size must be an integer, got '3'"),
    ("kernel_float", _edit(lambda d: _layer0(d).update(kernel_size=3.0)),
     r"blocks\[0\]\.layers\[0\]\.kernel_size must be an integer, got 3\.0"),
    ("type_int", _edit(lambda d: _layer0(d).update(type=5)),
     r"blocks\[0\]\.layers\[0\]\.type must be a string"),
    ("dense_item", _edit(lambda d: d.update(dense=[32, "a"])),
     r"architecture\.dense must be a list of integers"),
    ("pooling_string", _edit(lambda d: d.update(pooling="max")), r"pooling must be an object"),
    ("pool_size_string", _edit(lambda d: d["pooling"].update(size="2")),
     r"pooling\.size must be an integer"),
    ("block_not_object", _edit(lambda d: d["blocks"].__setitem__(1, [1])),
     r"blocks\[1\] must be an object"),
    ("unknown_top", _edit(lambda d: d.update(width=2)),
     r"architecture has unknown field\(s\) width"),
    ("unknown_layer", _edit(lambda d: _layer0(d).update(dilation=2)),
     r"blocks\[0\]\.layers\[0\] has unknown field\(s\) dilation"),
    ("unknown_block", _edit(lambda d: d["blocks"][1].update(skip=True)),
     r"blocks\[1\] has unknown field\(s\) skip"),
    ("unknown_pooling", _edit(lambda d: d["pooling"].update(stride=2)),
     r"pooling has unknown field\(s\) stride"),
    ("bool_num_classes", _edit(lambda d: d.update(num_classes=True)),
     r"architecture\.num_classes must be an integer, got True"),
    ("bool_filters", _edit(lambda d: _layer0(d).update(filters=False)),
     r"blocks\[0\]\.layers\[0\]\.filters must be an integer, got False"),
    ("bool_in_shape", _edit(lambda d: d.update(input_shape=[28, True, 1])),
     r"input_shape must be a list of integers"),
    ("int_for_bool", _edit(lambda d: d["blocks"][1].update(parallel=1)),
     r"blocks\[1\]\.parallel must be true or false, got 1"),
]


@pytest.mark.parametrize(
    "text, message", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_json_names_the_field(text: str, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message):
        Architecture.from_json(text)


def test_missing_pooling_is_rejected_like_other_fields() -> None:
    with pytest.raises(SearchSpaceError, match=r"missing field 'pooling'"):
        Architecture.from_json(_edit(lambda d: d.pop("pooling")))


# --- validity ----------------------------------------------------------------------------------


def valid() -> Architecture:
    return Architecture(
        (28, 28, 1),
        10,
        (
            ConvBlock((ConvLayer("conv2d", 3, 8, 2),)),
            ConvBlock((ConvLayer("dwconv2d", 3, 0, 1),), parallel=True),
        ),
        Pooling("avg", 2),
        (16,),
    )


def _block(n_layers: int, parallel: bool = False) -> ConvBlock:
    return ConvBlock(tuple(ConvLayer("conv2d", 3, 4) for _ in range(n_layers)), parallel)


BROKEN: list[tuple[str, Callable[[Architecture], Architecture], str]] = [
    ("first_parallel", lambda a: replace(a, blocks=(replace(a.blocks[0], parallel=True),)),
     r"^blocks\[0\] is parallel; the first block has nothing to branch from$"),
    ("kernel_4", lambda a: with_layer(a, 0, 0, kernel_size=4),
     r"^blocks\[0\]\.layers\[0\]: kernel_size 4 must be one of \[1, 3, 5, 7\]$"),
    ("dw_kernel_2", lambda a: with_layer(a, 1, 0, kernel_size=2),
     r"^blocks\[1\]\.layers\[0\]: kernel_size 2 "),
    ("stride_3", lambda a: with_layer(a, 0, 0, stride=3),
     r"^blocks\[0\]\.layers\[0\]: stride 3 must be 1 or 2$"),
    ("filters_0", lambda a: with_layer(a, 0, 0, filters=0),
     r"^blocks\[0\]\.layers\[0\]: filters 0 must be 1 to 128$"),
    ("filters_200", lambda a: with_layer(a, 0, 0, filters=200),
     r"^blocks\[0\]\.layers\[0\]: filters 200 must be 1 to 128$"),
    ("bad_type", lambda a: with_layer(a, 0, 0, type="conv3d"),
     r"^blocks\[0\]\.layers\[0\]: type 'conv3d' must be one of conv2d, dwconv2d, 1x1conv2d$"),
    ("four_layers", lambda a: replace(a, blocks=(_block(4),)),
     r"^blocks\[0\] has 4 layers; 1 to 3$"),
    ("no_layers", lambda a: replace(a, blocks=(_block(1), _block(0))),
     r"^blocks\[1\] has 0 layers; 1 to 3$"),
    ("eleven_blocks", lambda a: replace(a, blocks=tuple(_block(1) for _ in range(11))),
     r"^11 convolutional blocks; at most 10$"),
    ("pool_size_3", lambda a: replace(a, pooling=Pooling("avg", 3)),
     r"^pooling\.size 3 must be one of \[2, 4, 6\]$"),
    ("pool_type_min", lambda a: replace(a, pooling=Pooling("min", 2)),
     r"^pooling\.type 'min' must be one of avg, max, global$"),
    ("global_pool_size", lambda a: replace(a, pooling=Pooling("global", 2)),
     r"^pooling\.size 2 must be 0 for a global pooling \(its window is the map\)$"),
    ("one_class", lambda a: replace(a, num_classes=1),
     r"^num_classes is 1; a classifier needs at least 2$"),
    ("four_dense", lambda a: replace(a, dense=(16, 16, 16, 16)),
     r"^4 hidden dense layers; at most 3$"),
    ("dense_0", lambda a: replace(a, dense=(0,)), r"^dense\[0\] has 0 units; 1 to 256$"),
    ("dense_257", lambda a: replace(a, dense=(16, 257)), r"^dense\[1\] has 257 units; 1 to 256$"),
    ("four_dims", lambda a: replace(a, input_shape=(1, 28, 28, 1)),
     r"^input_shape \[1, 28, 28, 1\] must be \(H, W, C\), \(L, C\) or \(L,\) of positive sizes$"),
    ("zero_dim", lambda a: replace(a, input_shape=(28, 0, 1)), r"^input_shape \[28, 0, 1\] "),
    ("no_dims", lambda a: replace(a, input_shape=()), r"^input_shape \[\] "),
]


def test_the_valid_base_has_no_problems() -> None:
    assert problems(valid()) == []
    assert problems(valid(), input_shape=(28, 28, 1)) == []
    assert validate(valid()) is not None


@pytest.mark.parametrize("break_it, reason", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_problems_gives_exactly_the_broken_rule(
    break_it: Callable[[Architecture], Architecture], reason: str
) -> None:
    found = problems(break_it(valid()))
    assert len(found) == 1, found
    assert re.search(reason, found[0]), found[0]
    with pytest.raises(SearchSpaceError, match="invalid architecture"):
        validate(break_it(valid()))
    with pytest.raises(SearchSpaceError):
        lower(break_it(valid()))


def test_depthwise_filters_zero_is_not_a_problem() -> None:
    assert problems(with_layer(valid(), 1, 0, filters=0)) == []


def test_problems_for_a_mismatched_data_shape() -> None:
    found = problems(valid(), input_shape=(32, 32, 3))
    assert found == [
        "the architecture is made for input [28, 28, 1] but the data is [32, 32, 3]; "
        "sample or convert an architecture for this input shape"
    ]
    assert problems(valid(), input_shape=[28, 28, 1]) == []  # a list is the same shape
    with pytest.raises(SearchSpaceError, match=r"made for input \[28, 28, 1\]"):
        validate(valid(), input_shape=(28, 28))


def test_validate_reports_the_first_reason_and_the_count_of_the_rest() -> None:
    broken = replace(valid(), num_classes=1, dense=(0, 16, 16, 16))
    found = problems(broken)
    assert len(found) == 3
    with pytest.raises(SearchSpaceError) as info:
        validate(broken)
    assert str(info.value) == f"invalid architecture: {found[0]} (and 2 more)"
