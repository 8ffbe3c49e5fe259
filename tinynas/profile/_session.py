"""Profiling one model end to end: connect, upload, run, check the output, report.

:func:`profile_model` is what ``tinynas profile`` and a search call. It talks to a board on a
serial port, or starts an emulated board in this process, and returns a
:class:`ProfileResult` whose every figure says whether it was measured or emulated.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinynas.errors import ProfilerError
from tinynas.profile._client import ProfilerClient, Timeouts
from tinynas.profile._emulator import EmulatedBoard, Faults
from tinynas.profile._protocol import crc_hex, random_input
from tinynas.profile._result import BoardInfo, Inference, OpProfile, ProfileResult
from tinynas.profile._transport import SerialTransport
from tinynas.tflite_file import TFLiteModel, read_tflite

DEFAULT_BAUD = 115200


def profile_model(
    model: str | Path,
    *,
    port: str | None = None,
    emulate: str | None = None,
    runs: int = 10,
    warmup: int = 1,
    input_seed: int | None = 1,
    baud: int | None = None,
    devices_dir: str | Path | None = None,
    timeouts: Timeouts | None = None,
) -> ProfileResult:
    """Measure ``model`` on a board (``port``) or an emulated board (``emulate``).

    Args:
        model: An int8 ``.tflite`` file.
        port: A serial port, pty path or ``socket://`` URL of a board running the profiler.
        emulate: A catalogue board to emulate in this process (on a pty) instead.
        runs: Timed runs (the latency is their median).
        warmup: Untimed runs before them.
        input_seed: Seed of the protocol's input generator; None for an all-zeros input.
        baud: Line rate (default: the board's ``serial_baud``, else 115200); with
            ``emulate`` the emulated board paces bytes at it when given.
        devices_dir: Folder of extra board TOML files, for ``emulate``.
        timeouts: Every wait of the host.

    Raises:
        ModelFileError: ``model`` is not an int8 TFLite file.
        BoardError: The board refused the model (too large, arena, not runnable) or a command.
        ProfilerError: Bad arguments, a lost connection, a failed upload.
        DeviceTimeoutError: The board stopped answering.
    """
    _check_arguments(port, emulate, runs, warmup, timeouts)
    info = read_tflite(model)
    data = Path(model).read_bytes()
    with contextlib.ExitStack() as stack:
        url, line_baud = stack.enter_context(_board(port, emulate, baud, devices_dir))
        client = ProfilerClient(stack.enter_context(SerialTransport.open(url, line_baud)),
                                timeouts)  # fmt: skip
        client.sync()
        board = client.info()
        upload = client.upload_model(data)
        client.set_input(input_seed)
        inference = client.infer(runs, warmup, board)
        arena = client.arena()
    return ProfileResult(
        model_path=str(model), model_bytes=len(data), model_crc32=upload.crc32, port=url,
        board=board, runs=runs, warmup=warmup,
        input="zeros" if input_seed is None else f"random:{input_seed}",
        run_latency_ms=tuple(1000.0 * c / board.clock_hz for c in inference.run_cycles),
        ops=_op_profiles(inference, board), arena=arena, output_crc32=inference.output_crc32,
        host_output_crc32=host_output_crc32(data, info, input_seed), upload=upload,
    )  # fmt: skip


def _check_arguments(port: str | None, emulate: str | None, runs: int, warmup: int,
                     timeouts: Timeouts | None) -> None:  # fmt: skip
    if (port is None) == (emulate is None):
        raise ProfilerError("give exactly one of a port (--port) or a board to "
                            "emulate (--emulate); run 'tinynas ports' to find "
                            "attached boards")  # fmt: skip
    if not 1 <= runs <= 10000 or not 0 <= warmup <= 10000:
        raise ProfilerError(f"runs must be 1..10000 and warm-up runs 0..10000, got runs={runs}, "
                            f"warmup={warmup}")  # fmt: skip
    if timeouts is not None and not (0 < timeouts.reply_s <= 3600
                                     and 0 < timeouts.infer_line_s <= 86400):
        raise ProfilerError(f"timeouts must be positive (reply at most 3600 s, inference at "
                            f"most 86400 s), got reply {timeouts.reply_s:g} s, inference "
                            f"{timeouts.infer_line_s:g} s")  # fmt: skip


@contextlib.contextmanager
def _board(port: str | None, emulate: str | None, baud: int | None,
           devices_dir: str | Path | None) -> Iterator[tuple[str, int]]:  # fmt: skip
    """(port URL, baud) of the board: the given port, or an emulated board on a new pty."""
    if port is not None:
        yield port, baud or DEFAULT_BAUD
        return
    from tinynas.devices import get_device

    assert emulate is not None
    device = get_device(emulate, devices_dir)
    with EmulatedBoard(device, baud=baud, faults=Faults.from_env()) as board:
        yield board.start_pty(), baud or device.serial_baud


def host_input(info: TFLiteModel, input_seed: int | None) -> np.ndarray:
    """The input tensor the board uses (PROTOCOL.md section 4), shaped as the model's input."""
    size = int(np.prod(info.input_shape))
    raw = bytes(size) if input_seed is None else random_input(input_seed, size)
    return np.frombuffer(raw, np.int8).reshape(info.input_shape)


def host_output_crc32(data: bytes, info: TFLiteModel, input_seed: int | None) -> str:
    """CRC32 of the output TFLM gives on this machine for the board's input."""
    from tinynas.convert import run_tflm

    output = run_tflm(data, host_input(info, input_seed))  # batch of one: (1, ...) in and out
    return crc_hex(np.ascontiguousarray(output, dtype=np.int8).tobytes())


def _op_profiles(inference: Inference, board: BoardInfo) -> tuple[OpProfile, ...]:
    """Median cycles of each op over the timed runs."""
    by_op: dict[tuple[int, str], list[int]] = {}
    for sample in inference.ops:
        by_op.setdefault((sample.index, sample.op), []).append(sample.cycles)
    profiles = []
    for (index, op), cycles in sorted(by_op.items()):
        median = float(statistics.median(cycles))
        profiles.append(OpProfile(index, op, median, 1000.0 * median / board.clock_hz))
    return tuple(profiles)
