"""Lowering: hand-computed shapes of the op graph that the builders and estimators share."""

from __future__ import annotations

import math

import pytest

from tinynas.space import Architecture, Node, Pooling, lower, sample
from tinynas.space._graph import merged_names
from tinynas.testing.archs import conv, dw, parallel, pw, serial


def by_name(nodes: list[Node]) -> dict[str, Node]:
    return {n.name: n for n in nodes}


def index_of(nodes: list[Node], name: str) -> int:
    return [n.name for n in nodes].index(name)


def test_stride_two_same_padding_is_ceil_on_odd_sizes() -> None:
    arch = Architecture((28, 28, 1), 10, (serial(conv(4, s=2), conv(8, s=2), conv(6, s=2)),))
    nodes = by_name(lower(arch))
    assert nodes["b0l0"].shape == (14, 14, 4)
    assert nodes["b0l1"].shape == (7, 7, 8)
    assert nodes["b0l2"].shape == (4, 4, 6)  # ceil(7 / 2)
    assert nodes["b0l2"].kernel == (3, 3) and nodes["b0l2"].stride == (2, 2)
    assert nodes["b0l2"].padding == "same"
    assert nodes["flatten"].shape == (96,)
    assert nodes["classifier"].shape == (10,)


def test_pre_pool_on_an_odd_size_is_a_same_max_pool() -> None:
    arch = Architecture(
        (28, 28, 1), 10, (serial(conv(4, s=2), conv(4, s=2), conv(6, pre_pool=True)),)
    )
    nodes = lower(arch)
    pool = nodes[index_of(nodes, "b0l2_pool")]
    assert pool.op == "MAX_POOL_2D"
    assert pool.inputs == (index_of(nodes, "b0l1"),)
    assert pool.shape == (4, 4, 4)  # 7 -> ceil(7 / 2)
    assert (pool.kernel, pool.stride, pool.padding) == ((2, 2), (2, 2), "same")
    layer = nodes[index_of(nodes, "b0l2")]
    assert layer.inputs == (index_of(nodes, "b0l2_pool"),)
    assert layer.shape == (4, 4, 6)


def test_pre_pool_on_a_1x1_map_is_skipped() -> None:
    arch = Architecture((1, 1, 3), 2, (serial(conv(4, pre_pool=True)),))
    ops = [n.op for n in lower(arch)]
    assert "MAX_POOL_2D" not in ops
    assert by_name(lower(arch))["b0l0"].kernel == (1, 1)


def test_kernels_are_clipped_to_the_feature_map() -> None:
    square = Architecture(
        (28, 28, 1), 10, (serial(conv(4, s=2), conv(4, s=2), conv(4, s=2)),
                          serial(conv(4, s=2), conv(5, k=7), dw(k=5)))
    )
    nodes = by_name(lower(square))
    assert nodes["b1l0"].shape == (2, 2, 4)
    assert nodes["b1l1"].kernel == (2, 2) and nodes["b1l1"].shape == (2, 2, 5)
    assert nodes["b1l2"].kernel == (2, 2) and nodes["b1l2"].op == "DEPTHWISE_CONV_2D"

    # non-square: 49x10 -> 25x5 -> 13x3 -> 7x2; a 7x7 kernel becomes 7x2
    tall = Architecture((49, 10, 1), 12, (serial(conv(2, s=2), conv(2, s=2), conv(2, s=2)),
                                          serial(conv(3, k=7))))
    nodes = by_name(lower(tall))
    assert nodes["b0l2"].shape == (7, 2, 2)
    assert nodes["b1l0"].kernel == (7, 2) and nodes["b1l0"].shape == (7, 2, 3)


def test_strides_stay_equal_along_an_axis_of_size_one() -> None:
    # 49x10: w reaches 1 before h does; a stride-2 layer keeps stride 2 on both axes (TF's
    # float depthwise kernel takes no other) and 'same' padding keeps w at 1
    blocks = (serial(*[conv(2, s=2)] * 3), serial(*[conv(2, s=2)] * 2))
    arch = Architecture((49, 10, 1), 12, blocks)
    nodes = by_name(lower(arch))
    assert nodes["b1l0"].shape == (4, 1, 2) and nodes["b1l0"].stride == (2, 2)
    assert nodes["b1l1"].shape == (2, 1, 2) and nodes["b1l1"].stride == (2, 2)


def test_final_pooling_is_valid_and_floors() -> None:
    arch = Architecture((28, 28, 1), 10, (serial(conv(4, s=2), conv(8, s=2)),), Pooling("avg", 2))
    pool = by_name(lower(arch))["pool"]
    assert pool.op == "AVERAGE_POOL_2D"
    assert pool.shape == (3, 3, 8)  # floor(7 / 2)
    assert (pool.kernel, pool.stride, pool.padding) == ((2, 2), (2, 2), "valid")
    assert by_name(lower(arch))["flatten"].shape == (72,)

    # a pool larger than the map is clipped to it: 7x7, P = 6 -> 1x1; 4x4, P = 6 -> 4x4 kernel
    big = Architecture((28, 28, 1), 10, (serial(conv(4, s=2), conv(8, s=2)),), Pooling("max", 6))
    pool = by_name(lower(big))["pool"]
    assert pool.op == "MAX_POOL_2D" and pool.kernel == (6, 6) and pool.shape == (1, 1, 8)
    clipped = Architecture((4, 4, 2), 3, (serial(conv(5)),), Pooling("avg", 6))
    pool = by_name(lower(clipped))["pool"]
    assert pool.kernel == (4, 4) and pool.shape == (1, 1, 5)


def test_1d_input_is_reshaped_and_kernels_run_along_its_length() -> None:
    arch = Architecture(
        (640,), 12,
        (serial(conv(8, k=5, s=2), conv(4, pre_pool=True), dw(k=7)),),
        Pooling("max", 4),
        (16,),
    )
    nodes = lower(arch)
    assert [n.op for n in nodes[:3]] == ["INPUT", "RESHAPE", "CONV_2D"]
    assert nodes[0].shape == (640,)
    assert nodes[1].name == "input_2d" and nodes[1].shape == (1, 640, 1)
    n = by_name(nodes)
    assert n["b0l0"].kernel == (1, 5) and n["b0l0"].stride == (2, 2)
    assert n["b0l0"].shape == (1, 320, 8)
    assert n["b0l1_pool"].kernel == (1, 2) and n["b0l1_pool"].shape == (1, 160, 8)
    assert n["b0l1"].kernel == (1, 3) and n["b0l1"].shape == (1, 160, 4)
    assert n["b0l2"].kernel == (1, 7) and n["b0l2"].shape == (1, 160, 4)
    assert n["pool"].kernel == (1, 4) and n["pool"].shape == (1, 40, 4)
    assert n["flatten"].shape == (160,)
    assert n["d0"].shape == (16,) and n["d0"].relu
    assert n["classifier"].shape == (12,)


def test_sequence_with_channels_keeps_its_channels() -> None:
    arch = Architecture((64, 3), 5, (serial(dw(k=5), conv(6, s=2)),))
    n = by_name(lower(arch))
    assert n["input_2d"].shape == (1, 64, 3)
    assert n["b0l0"].kernel == (1, 5) and n["b0l0"].shape == (1, 64, 3)
    assert n["b0l1"].shape == (1, 32, 6)


def test_mlp_without_blocks() -> None:
    image = lower(Architecture((28, 28, 1), 10, dense=(32,)))
    assert [(n.op, n.name, n.shape) for n in image] == [
        ("INPUT", "input", (28, 28, 1)),
        ("RESHAPE", "flatten", (784,)),
        ("FULLY_CONNECTED", "d0", (32,)),
        ("FULLY_CONNECTED", "classifier", (10,)),
    ]
    assert image[2].relu and not image[3].relu
    vector = lower(Architecture((640,), 4, dense=(20, 8)))
    assert [n.op for n in vector] == ["INPUT", "FULLY_CONNECTED", "FULLY_CONNECTED",
                                      "FULLY_CONNECTED"]
    assert [n.inputs for n in vector] == [(), (0,), (1,), (2,)]
    assert vector[-1].shape == (4,)


def test_parallel_branch_with_depthwise_end_is_projected_and_tie_pooled() -> None:
    # group input 8x8x3; serial: 3x3/2 conv -> 4x4x6; branch: depthwise -> 8x8x3, 1x1 proj to
    # 6 channels, max pool 2 -> 4x4x6; then ADD
    arch = Architecture((8, 8, 3), 4, (serial(conv(6, s=2)), parallel(dw(k=3))))
    nodes = lower(arch)
    n = by_name(nodes)
    assert n["b0l0"].shape == (4, 4, 6) and n["b0l0"].inputs == (0,)
    assert n["b1l0"].op == "DEPTHWISE_CONV_2D" and n["b1l0"].inputs == (0,)
    assert n["b1l0"].shape == (8, 8, 3)
    proj = n["b1_proj"]
    assert proj.op == "CONV_2D" and proj.kernel == (1, 1) and proj.shape == (8, 8, 6)
    assert proj.inputs == (index_of(nodes, "b1l0"),) and not proj.relu and not proj.batch_norm
    tie = n["b1_tie"]
    assert tie.op == "MAX_POOL_2D" and tie.inputs == (index_of(nodes, "b1_proj"),)
    assert (tie.kernel, tie.stride, tie.padding, tie.shape) == ((2, 2), (2, 2), "same", (4, 4, 6))
    add = n["b1_add"]
    assert add.op == "ADD" and add.shape == (4, 4, 6)
    assert set(add.inputs) == {index_of(nodes, "b0l0"), index_of(nodes, "b1_tie")}
    assert n["flatten"].inputs == (index_of(nodes, "b1_add"),)
    assert n["flatten"].shape == (96,)


def test_the_larger_serial_output_is_pooled_to_a_smaller_branch() -> None:
    # serial keeps 9x9, the branch strides twice: 9 -> 5 -> 3; the serial output is pooled by 4
    arch = Architecture(
        (9, 9, 2), 3, (serial(conv(5)), parallel(conv(7, s=2), conv(99, s=2)))
    )
    nodes = lower(arch)
    n = by_name(nodes)
    assert n["b1l1"].shape == (3, 3, 5)  # a branch ends with the serial block's channels
    assert "b1_proj" not in n
    tie = n["b0_tie"]
    assert tie.inputs == (index_of(nodes, "b0l0"),)
    assert tie.kernel == (4, 4) and tie.stride == (4, 4) and tie.shape == (3, 3, 5)
    assert set(n["b1_add"].inputs) == {index_of(nodes, "b0_tie"), index_of(nodes, "b1l1")}


def test_three_branches_are_added_up() -> None:
    arch = Architecture(
        (8, 8, 1), 3, (serial(conv(4, s=2)), parallel(pw(9)), parallel(dw(s=2), dw(s=2)))
    )
    nodes = lower(arch)
    adds = [n for n in nodes if n.op == "ADD"]
    assert len(adds) == 2 and all(a.shape == (2, 2, 4) for a in adds)
    n = by_name(nodes)
    assert n["b1l0"].shape == (8, 8, 4)  # 1x1 branch ends with 4 channels
    assert n["b1_tie"].kernel == (4, 4)
    assert n["b2l1"].shape == (2, 2, 1) and n["b2_proj"].shape == (2, 2, 4)
    assert n["b0_tie"].shape == (2, 2, 4)
    # the last ADD reads the other one: the sum is running
    last = nodes.index(adds[-1])
    assert nodes.index(adds[0]) in nodes[last].inputs
    assert n["flatten"].inputs == (last,)


def test_identical_pre_pools_are_merged() -> None:
    arch = Architecture(
        (8, 8, 2), 3, (serial(conv(4, pre_pool=True)), parallel(conv(5, k=5, pre_pool=True)))
    )
    nodes = lower(arch)
    pools = [i for i, n in enumerate(nodes) if n.op == "MAX_POOL_2D"]
    assert len(pools) == 1
    assert nodes[pools[0]].inputs == (0,) and nodes[pools[0]].shape == (4, 4, 2)
    n = by_name(nodes)
    assert n["b0l0"].inputs == (pools[0],) and n["b1l0"].inputs == (pools[0],)
    kept = nodes[pools[0]].name
    dropped = ({"b0l0_pool", "b1l0_pool"} - {kept}).pop()
    assert merged_names(arch) == {dropped: kept}


def test_different_pools_are_not_merged() -> None:
    # same input, one pre-pool, one branch without: nothing to merge
    arch = Architecture((8, 8, 2), 3, (serial(conv(4, pre_pool=True)), parallel(conv(4))))
    assert sum(n.op == "MAX_POOL_2D" for n in lower(arch)) == 2  # the pre-pool and a tie
    assert merged_names(arch) == {}


def _check_node(nodes: list[Node], i: int) -> None:
    node = nodes[i]
    assert all(0 <= j < i for j in node.inputs), (i, node)
    assert len(node.inputs) == (2 if node.op == "ADD" else 1)
    src = nodes[node.inputs[0]]
    if node.op == "ADD":
        assert nodes[node.inputs[0]].shape == nodes[node.inputs[1]].shape == node.shape
    elif node.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"):
        h, w, c = src.shape
        if node.padding == "same":
            expect = (math.ceil(h / node.stride[0]), math.ceil(w / node.stride[1]))
        else:
            assert node.kernel == node.stride
            expect = (h // node.kernel[0], w // node.kernel[1])
        assert node.shape[:2] == expect, (i, node)
        if node.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            assert node.kernel[0] <= h and node.kernel[1] <= w  # clipped (a tie pool is not)
        if node.op != "CONV_2D":
            assert node.channels == c
    elif node.op == "RESHAPE":
        assert math.prod(node.shape) == math.prod(src.shape)


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (49, 10, 1), (640,), (64, 3), (3, 3, 2)],
                         ids=str)
def test_sampled_graphs_are_topologically_ordered_and_consistent(
    input_shape: tuple[int, ...]
) -> None:
    for seed in range(30):
        arch = sample(input_shape, 7, seed)
        nodes = lower(arch)
        assert nodes[0] == Node("INPUT", "input", (), input_shape)
        for i in range(1, len(nodes)):
            _check_node(nodes, i)
        assert nodes[-1].name == "classifier" and nodes[-1].shape == (7,)
        names = [n.name for n in nodes]
        assert len(set(names)) == len(names)
        # every node but the last is read by someone
        read = {j for n in nodes for j in n.inputs}
        assert read == set(range(len(nodes) - 1))
