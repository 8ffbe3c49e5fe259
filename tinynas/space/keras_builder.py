"""The Keras twin: the same lowered graph as a Keras functional model, for int8 conversion.

Trained weights live in the torch module; `copy_weights` moves them into the twin. The twin has
a fixed batch size (1 by default) so that the converter emits a static RESHAPE for the flatten.
TensorFlow is imported lazily by the functions here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tinynas.native import import_quietly
from tinynas.space._arch import Architecture
from tinynas.space._graph import Node, lower
from tinynas.space.torch_builder import BN_EPSILON

if TYPE_CHECKING:
    from tinynas.space.torch_builder import TorchNet


def build_keras(arch: Architecture, batch_size: int | None = 1) -> Any:
    """A Keras model of `arch` (random weights until `copy_weights`)."""
    keras = import_quietly("keras")  # loads TensorFlow: its start-up log lines are silenced
    L = keras.layers

    nodes = lower(arch)
    values: list[Any] = [keras.Input(shape=nodes[0].shape, batch_size=batch_size, name="input")]
    for node in nodes[1:]:
        xs = [values[j] for j in node.inputs]
        values.append(_keras_op(L, node, xs))
    return keras.Model(values[0], values[-1], name=f"tinynas_{arch.content_hash}")


def _keras_op(L: Any, node: Node, xs: list[Any]) -> Any:
    x = xs[0]
    if node.op == "RESHAPE":
        return L.Reshape(node.shape, name=node.name)(x)
    if node.op == "ADD":
        return L.Add(name=node.name)(xs)
    if node.op == "MAX_POOL_2D":
        return L.MaxPool2D(node.kernel, node.stride, node.padding, name=node.name)(x)
    if node.op == "AVERAGE_POOL_2D":
        return L.AveragePooling2D(node.kernel, node.stride, node.padding, name=node.name)(x)
    if node.op == "FULLY_CONNECTED":
        return L.Dense(node.shape[0], activation="relu" if node.relu else None, name=node.name)(x)
    if node.op == "DEPTHWISE_CONV_2D":
        conv = L.DepthwiseConv2D(node.kernel, node.stride, "same", use_bias=not node.batch_norm,
                                 name=node.name)
    else:
        conv = L.Conv2D(node.channels, node.kernel, node.stride, "same",
                        use_bias=not node.batch_norm, name=node.name)
    x = conv(x)
    if node.batch_norm:
        x = L.BatchNormalization(epsilon=BN_EPSILON, name=node.name + "_bn")(x)
    if node.relu:
        x = L.ReLU(name=node.name + "_relu")(x)
    return x


def copy_weights(net: TorchNet, model: Any) -> None:
    """Copies every weight of the torch module into its Keras twin (layouts transposed)."""
    for node in net.nodes:
        if node.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        module: Any = net.layers[node.name]
        if node.op == "FULLY_CONNECTED":
            w = _np(module.weight).T  # torch (out, in) -> keras (in, out)
            model.get_layer(node.name).set_weights([w, _np(module.bias)])
            continue
        conv = module[0] if node.batch_norm else module
        w = _np(conv.weight)  # (out, in/groups, kh, kw)
        if node.op == "DEPTHWISE_CONV_2D":
            kernel = w.transpose(2, 3, 0, 1)  # -> (kh, kw, channels, 1)
        else:
            kernel = w.transpose(2, 3, 1, 0)  # -> (kh, kw, in, out)
        weights = [kernel] if node.batch_norm else [kernel, _np(conv.bias)]
        model.get_layer(node.name).set_weights(weights)
        if node.batch_norm:
            bn = module[1]
            model.get_layer(node.name + "_bn").set_weights(
                [_np(bn.weight), _np(bn.bias), _np(bn.running_mean), _np(bn.running_var)]
            )


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)
