"""Small real .tflite models, made by TensorFlow's converter, for the tests of the inspector.

Every builder returns the converted flatbuffer as bytes. Weights and calibration data are seeded
and every layer is named, so a builder gives the same bytes on every call (with one TensorFlow
version); each builds in about a second on a CPU. TensorFlow is imported inside the builders:
importing this module at test collection costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinynas.native import import_quietly, quiet

SEED = 0
CALIBRATION_SAMPLES = 16


def float_conv_model() -> bytes:
    """float32: 1x16x16x1 -> Conv2D(4, 3x3, valid) + ReLU -> MaxPool 2x2 -> Dense(10), softmax."""
    tf = _tensorflow()
    return _convert(tf.lite.TFLiteConverter.from_keras_model(_conv_net(tf)))


def int16x8_conv_model() -> bytes:
    """The network of `float_conv_model` in 16x8 mode: int16 activations (and input and output),
    int8 weights."""
    tf = _tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(_conv_net(tf))
    ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    return _convert(converter, _calibration((16, 16, 1)), tf.int16, ops)


def float_lstm_model(time_steps: int = 8, features: int = 6, units: int = 12,
                     classes: int = 4) -> bytes:  # fmt: skip
    """float32: (1, time_steps, features) -> LSTM(units), last output -> Dense(classes), the LSTM
    one fused UNIDIRECTIONAL_SEQUENCE_LSTM op."""
    tf = _tensorflow()
    fn = _lstm_function(tf, time_steps, features, units, classes)
    return _convert(tf.lite.TFLiteConverter.from_concrete_functions([fn], tf.Module()))


def int8_lstm_model(time_steps: int = 8, features: int = 6, units: int = 12,
                    classes: int = 4) -> bytes:  # fmt: skip
    """The network of `float_lstm_model`, full-integer int8 (int8 input and output)."""
    tf = _tensorflow()
    fn = _lstm_function(tf, time_steps, features, units, classes)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], tf.Module())
    return _convert(converter, _calibration((time_steps, features)), tf.int8)


def transpose_conv_model(padding: str = "valid") -> bytes:
    """Full-integer int8: 1x5x5x3 -> Conv2DTranspose(4, 3x3, stride 2, `padding`) -> Dense(2)."""
    tf = _tensorflow()
    layers = tf.keras.layers
    inputs = layers.Input((5, 5, 3), batch_size=1, name="input")
    x = layers.Conv2DTranspose(
        4, 3, strides=2, padding=padding, bias_initializer="random_normal", name="deconv"
    )(inputs)  # a zero bias would be dropped
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(2, name="dense")(x)
    model = tf.keras.Model(inputs, outputs, name="transpose_conv")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return _convert(converter, _calibration((5, 5, 3)), tf.int8)


def batch_matmul_model() -> bytes:
    """float32: x of shape (1, 4, 6) -> x @ transpose(x), one BATCH_MATMUL of two activations."""
    tf = _tensorflow()

    @tf.function(input_signature=[tf.TensorSpec((1, 4, 6), tf.float32, name="x")])
    def gram(x: Any) -> Any:
        return tf.matmul(x, x, transpose_b=True)

    fn = gram.get_concrete_function()
    return _convert(tf.lite.TFLiteConverter.from_concrete_functions([fn], gram))


def top_k_model() -> bytes:
    """float32: the 3 largest of 16 values, a TOPK_V2 op: a builtin TFLite Micro lacks."""
    tf = _tensorflow()

    @tf.function(input_signature=[tf.TensorSpec((1, 16), tf.float32, name="x")])
    def top3(x: Any) -> Any:
        return tf.math.top_k(x * 2.0, k=3).values

    fn = top3.get_concrete_function()
    return _convert(tf.lite.TFLiteConverter.from_concrete_functions([fn], top3))


def _tensorflow() -> Any:
    """TensorFlow, imported quietly, with every random generator seeded."""
    tf = import_quietly("tensorflow")
    tf.keras.utils.set_random_seed(SEED)
    return tf


def _conv_net(tf: Any) -> Any:
    layers = tf.keras.layers
    inputs = layers.Input((16, 16, 1), batch_size=1, name="input")
    x = layers.Conv2D(4, 3, padding="valid", activation="relu", name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="dense")(x)
    return tf.keras.Model(inputs, outputs, name="conv_net")


def _lstm_function(tf: Any, time_steps: int, features: int, units: int, classes: int) -> Any:
    """The LSTM network as a concrete function the converter fuses into one LSTM op.

    Keras 3's LSTM traces to a while loop, which the converter keeps as a WHILE op. The converter
    fuses a function marked as a Keras 2 LSTM (``api_implements`` "lstm_...", with ``time_major``
    and ``go_backwards``; arguments input, h0, c0, kernel, recurrent kernel, bias; five results,
    of which only the first two may be used): the LSTM step is written here in that form, with
    the seeded weights of a Keras 3 LSTM layer (gates i, f, c, o).
    """
    layers = tf.keras.layers
    lstm = layers.LSTM(units, name="lstm")
    dense = layers.Dense(classes, name="dense")
    inputs = layers.Input((time_steps, features), batch_size=1, name="input")
    tf.keras.Model(inputs, dense(lstm(inputs)), name="lstm_net")  # builds the weights
    kernel, recurrent_kernel, bias = (tf.constant(w) for w in lstm.get_weights())
    dense_kernel, dense_bias = (tf.constant(w) for w in dense.get_weights())

    @tf.function(autograph=False, experimental_attributes={
        "api_implements": "lstm_inspection_tests", "api_preferred_device": "CPU",
        "time_major": False, "go_backwards": False})  # fmt: skip
    def keras_lstm(x: Any, h: Any, c: Any, kernel: Any, recurrent_kernel: Any,
                   bias: Any) -> tuple[Any, ...]:  # fmt: skip
        outputs = []
        for t in range(time_steps):
            z = tf.matmul(x[:, t], kernel) + tf.matmul(h, recurrent_kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            outputs.append(h)
        return h, tf.stack(outputs, axis=1), h, c, tf.constant(1.0)

    @tf.function(input_signature=[tf.TensorSpec((1, time_steps, features), tf.float32,
                                                name="input")])  # fmt: skip
    def network(x: Any) -> Any:
        zeros = tf.zeros((1, units))
        last, _, _, _, _ = keras_lstm(x, zeros, zeros, kernel, recurrent_kernel, bias)
        return tf.matmul(last, dense_kernel) + dense_bias

    return network.get_concrete_function()


def _calibration(shape: tuple[int, ...]) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A representative dataset of seeded standard-normal samples of `shape` (batch 1)."""
    samples = np.random.default_rng(SEED).standard_normal((CALIBRATION_SAMPLES, 1, *shape))

    def dataset() -> Iterator[list[np.ndarray]]:
        for sample in samples.astype(np.float32):
            yield [sample]

    return dataset


def _convert(converter: Any, calibration: Callable[[], Iterator[list[np.ndarray]]] | None = None,
             io_type: Any = None, ops: Any = None) -> bytes:  # fmt: skip
    """Converts; with `calibration`, full-integer with `io_type` input and output, in the
    `ops` set (default int8)."""
    if calibration is not None:
        tf = import_quietly("tensorflow")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [ops or tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    with quiet():
        return _zero_unused_buffers(converter.convert())


def _zero_unused_buffers(flatbuffer: bytes) -> bytes:
    """Zeroes, in place, the data of the buffers that no tensor or metadata entry refers to.

    The LSTM conversions leave the buffers of the constant initial states behind when the states
    become variable tensors; after int8 calibration they hold values that differ between the
    first conversion in a process and the later ones.
    """
    from ai_edge_litert import schema_py_generated as schema

    data = bytearray(flatbuffer)
    model = schema.Model.GetRootAs(data, 0)
    used = {model.Metadata(i).Buffer() for i in range(model.MetadataLength())}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        used.update(subgraph.Tensors(t).Buffer() for t in range(subgraph.TensorsLength()))
    for i in set(range(model.BuffersLength())) - used:
        if model.Buffers(i).DataLength():
            model.Buffers(i).DataAsNumpy()[:] = 0  # a view into `data`
    return bytes(data)
