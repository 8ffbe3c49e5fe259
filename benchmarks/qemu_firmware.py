"""The profiler firmware (TFLM + CMSIS-NN, built for QEMU's Cortex-M) on real models: the arena
it allocates and the instructions each op runs, for the MLPerf Tiny models and seeded random
architectures (regular, branched and 1-D inputs).

Every figure in the output is EMULATED: QEMU with -icount shift=0 counts instructions (one per
ns of virtual time, read from SysTick in steps of 40), not cycles. The arena is what TFLM on
the emulated Cortex-M allocated (``arena_used_bytes()``, 32-bit build, CMSIS-NN kernels); the
x86 arena beside it is TFLM's Python build on this machine (reference kernels, 64-bit).

Build the firmware first (profilers/firmware/README.md, "On QEMU"), then:

    python benchmarks/qemu_firmware.py --firmware build/qemu-m4/tinynas-profiler.elf \\
        --count 160 --seed 5000 --out benchmarks/data/qemu_mps2_an386.jsonl

One JSON line per model; a run resumes where the file ends (models already in it are skipped).
Architecture ``seed`` s is sampled from SHAPES[s % 6] with ``random.Random(s)`` and CONFIG, so
the models can be rebuilt; even seeds are the fitting half, odd seeds the held-aside half.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinynas.estimators import estimate
from tinynas.profile import ProfilerClient, QemuBoard
from tinynas.profile._session import host_output_crc32
from tinynas.profile._transport import SerialTransport
from tinynas.space import SpaceConfig, sample
from tinynas.tflite_file import read_tflite

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (96, 96, 1), (640,), (64, 3)]
CONFIG = SpaceConfig(max_blocks=6, max_filters=64, max_units=128)
INPUT_SEED = 1  # `input random 1`, the host's default
RUNS, WARMUP = 2, 1


def sampled_architecture(seed: int):  # noqa: ANN201 (an Architecture)
    """The architecture of ``seed`` (see the module docstring)."""
    return sample(SHAPES[seed % len(SHAPES)], 10, random.Random(seed), CONFIG)


def _convert(seed: int) -> tuple[bytes, dict]:
    """The int8 model of architecture ``seed`` and what is known of it before the board."""
    import torch

    from tinynas.convert import convert_architecture
    from tinynas.space.torch_builder import build_torch
    from tinynas.testing.weights import trained_like

    arch = sampled_architecture(seed)
    shape = SHAPES[seed % len(SHAPES)]
    torch.manual_seed(seed)
    samples = np.random.default_rng(seed).random((16, *shape), np.float32)
    result = convert_architecture(arch, samples, trained_like(build_torch(arch), seed))
    return result.tflite, {
        "id": f"arch:{seed}", "seed": seed, "split": "fit" if seed % 2 == 0 else "test",
        "hash": arch.content_hash, "input_shape": list(shape),
        "branches": sum(b.parallel for b in arch.blocks),
        "arena_x86_bytes": result.arena.total_bytes,
        "arena_estimated_x86_bytes": estimate(arch).arena_bytes,
    }  # fmt: skip


def _models(count: int, seed: int, mlperf: Path | None) -> Iterator[tuple[str, object]]:
    """(id, source) pairs: the MLPerf Tiny files first, then the architecture seeds."""
    for path in sorted(mlperf.glob("*.tflite")) if mlperf else ():
        yield f"mlperf:{path.stem}", path
    for s in range(seed, seed + count):
        yield f"arch:{s}", s


def _measure(client: ProfilerClient, data: bytes, path: Path) -> dict:
    """Upload, run and read back one model on the firmware."""
    board = client.info()
    upload = client.upload_model(data)
    client.set_input(INPUT_SEED)
    inference = client.infer(RUNS, WARMUP, board)
    arena = client.arena()
    info = read_tflite(path)
    host_crc = host_output_crc32(data, info, INPUT_SEED)
    runs = [[s for s in inference.ops if s.run == r] for r in range(RUNS)]
    ops = []
    for k, op in enumerate(info.ops):
        counts = [run[k].cycles for run in runs if k < len(run)]
        ops.append({
            "op": op.op, "input_shapes": [list(s) for s in op.input_shapes],
            "output_shape": list(op.output_shape), "macs": op.macs,
            "element_ops": op.element_ops, "instructions": min(counts) if counts else None,
        })  # fmt: skip
    return {
        "model_bytes": len(data), "model_crc32": upload.crc32,
        "arena_firmware_bytes": arena.used_bytes,
        "run_instructions": min(inference.run_cycles),
        "output_crc32": inference.output_crc32, "host_output_crc32": host_crc,
        "output_matches_host": inference.output_crc32 == host_crc,
        "board": board.board, "core": board.core, "runtime": board.runtime,
        "kernels": board.kernels, "counts": "instructions (QEMU -icount shift=0), emulated",
        "ops": ops,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firmware", type=Path, required=True)
    parser.add_argument("--machine", default="mps2-an386")
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--mlperf", type=Path,
                        default=ROOT.parent / "shared" / "fixtures" / "mlperf-tiny",
                        help="folder of the MLPerf Tiny .tflite files (none: skip them)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit-s", type=float, default=0.0,
                        help="stop after this many seconds (0: no limit); rerun to go on")
    args = parser.parse_args(argv)
    done = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text().splitlines() if line}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    mlperf = args.mlperf if args.mlperf and args.mlperf.is_dir() else None
    start = time.monotonic()
    board = QemuBoard(args.machine, args.firmware)
    url = board.start()
    try:
        with SerialTransport.open(url, 115200) as transport, \
                tempfile.TemporaryDirectory() as work, args.out.open("a") as out:  # fmt: skip
            client = ProfilerClient(transport)
            client.sync()
            for model_id, source in _models(args.count, args.seed, mlperf):
                if model_id in done:
                    continue
                if args.limit_s and time.monotonic() - start > args.limit_s:
                    print(f"time limit reached; rerun to go on from {model_id}")
                    break
                t0 = time.perf_counter()
                if isinstance(source, Path):
                    data, row = source.read_bytes(), {"id": model_id, "split": "mlperf"}
                    path = source
                else:
                    data, row = _convert(int(source))  # type: ignore[arg-type]
                    path = Path(work) / f"{model_id.replace(':', '_')}.tflite"
                    path.write_bytes(data)
                row.update(_measure(client, data, path))
                row["seconds"] = round(time.perf_counter() - t0, 1)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(f"{model_id}: {row['run_instructions']:,} instructions, arena "
                      f"{row['arena_firmware_bytes']:,} B, output "
                      f"{'matches' if row['output_matches_host'] else 'DIFFERS from'} host "
                      f"TFLM ({row['seconds']} s)", flush=True)
    finally:
        board.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
