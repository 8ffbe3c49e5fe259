"""Keras twin -> full-integer int8 TFLite (int8 input and output, per-channel weights).

Tensor names, the subgraph name and signature definitions are stripped after conversion
(TFLM needs none of them): the file gets smaller and its size becomes a function of the
architecture alone, which is what the flash estimator predicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinynas.errors import ConversionError
from tinynas.native import import_quietly, quiet
from tinynas.space import Architecture, lower, merged_names


def to_int8_tflite(
    model: Any, representative: np.ndarray, arch: Architecture | None = None, strip: bool = True
) -> bytes:
    """Converts a Keras model to a full-integer int8 .tflite.

    Args:
        model: a Keras model with a fixed batch size of 1 (see `build_keras`).
        representative: float inputs (N, *input_shape) that calibrate activation ranges;
            a few hundred training samples is the usual choice.
        arch: the architecture the twin was built from; its ops are then put in the graph's
            execution order, the order whose arena the RAM estimator plans.
        strip: strip tensor names and signatures (smaller file, predictable size).
    """
    tf = import_quietly("tensorflow")

    samples = np.asarray(representative, dtype=np.float32)
    if samples.ndim != len(model.input_shape) or samples.shape[1:] != tuple(model.input_shape[1:]):
        raise ConversionError(
            f"representative data has shape {samples.shape[1:]} but the model takes "
            f"{tuple(model.input_shape[1:])}"
        )

    def batches() -> Iterator[list[np.ndarray]]:
        for sample in samples:
            yield [sample[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = batches
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with quiet():  # the converter's log lines, warnings and prints
            flatbuffer = converter.convert()
    except Exception as e:  # the converter raises many unrelated types
        raise ConversionError(f"int8 conversion failed: {e}") from e
    if arch is None and not strip:
        return flatbuffer
    flatbuffer_utils = import_quietly("tensorflow.lite.tools.flatbuffer_utils")

    model_t = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    if arch is not None:
        _reorder_ops(model_t, arch)
    if strip:
        flatbuffer_utils.strip_strings(model_t)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model_t))


def strip_strings(flatbuffer: bytes) -> bytes:
    """Removes tensor names, the subgraph name and signature defs from a .tflite."""
    flatbuffer_utils = import_quietly("tensorflow.lite.tools.flatbuffer_utils")

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _reorder_ops(model_t: Any, arch: Architecture) -> None:
    """Puts the converter's operators in the lowered graph's order.

    The converter orders the ops of branched graphs its own way; each op is matched to its node
    through the Keras layer names in its output tensor's name ("model/b1l0_1/convolution;...").
    """
    nodes = lower(arch)
    rank = {node.name: i for i, node in enumerate(nodes)}
    for merged, kept in merged_names(arch).items():
        rank[merged] = rank[kept]
    subgraph = model_t.subgraphs[0]
    keys = []
    for op in subgraph.operators:
        name = subgraph.tensors[op.outputs[0]].name.decode(errors="replace")
        keys.append(_node_rank(name, rank))
    unmatched = [i for i, k in enumerate(keys) if k is None]
    if len(unmatched) == 1 and keys[-1] is None:  # the output op's tensor is renamed
        keys[-1] = len(nodes)
    elif unmatched:
        raise ConversionError(f"could not match {len(unmatched)} converted op(s) to the graph")
    ranks = [len(nodes) + 1 if k is None else k for k in keys]  # none left unmatched here
    subgraph.operators = [op for _, op in sorted(zip(ranks, subgraph.operators),
                                                  key=lambda p: p[0])]
    _renumber_outputs(model_t)


def _renumber_outputs(model_t: Any) -> None:
    """Numbers the op output tensors in execution order, as the converter does for the order
    it chose: TFLM's planner breaks ties between equal-sized buffers by tensor index."""
    subgraph = model_t.subgraphs[0]
    produced = [int(op.outputs[0]) for op in subgraph.operators]
    slots = sorted(produced)
    remap = {old: new for old, new in zip(produced, slots)}
    tensors = list(subgraph.tensors)
    for old, new in remap.items():
        tensors[new] = subgraph.tensors[old]
    subgraph.tensors = tensors

    def fix(indices: Any) -> list[int]:
        return [remap.get(int(i), int(i)) for i in indices]

    for op in subgraph.operators:
        op.inputs, op.outputs = fix(op.inputs), fix(op.outputs)
    subgraph.inputs, subgraph.outputs = fix(subgraph.inputs), fix(subgraph.outputs)
    for signature in model_t.signatureDefs or []:
        for tensor_map in (*(signature.inputs or []), *(signature.outputs or [])):
            tensor_map.tensorIndex = remap.get(tensor_map.tensorIndex, tensor_map.tensorIndex)


def _node_rank(tensor_name: str, rank: dict[str, int]) -> int | None:
    """The latest graph node named in a tensor name (fused ops name several layers)."""
    found = []
    for part in re.split(r"[;/]", tensor_name):
        for candidate in (part, re.sub(r"_\d+$", "", part)):
            base = re.sub(r"_(bn|relu)$", "", candidate)
            if base in rank:
                found.append(rank[base])
                break
    return max(found) if found else None
