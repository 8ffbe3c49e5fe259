"""Model upload rate of the profiler protocol against the line rate, over a paced pty.

Starts ``tinynas emulate DEVICE --pty --baud B`` as a separate process (its bytes paced at B
baud, 10 bits per byte, like a UART), uploads the model with the host client, and prints one
JSON object: for each baud rate the transfer time, bytes per second, and the fraction of the
line rate (B / 10 bytes per second) reached. MLPerf Tiny's hex protocol (31-byte `db` chunks,
one round trip each) reaches about 3.7 kB/s at 115200 baud, about 32 % of the line rate.

    python benchmarks/upload_rate.py [--model PATH] [--baud 115200 --baud 921600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from tinynas.profile import ProfilerClient, SerialTransport, spawn_emulator

DEFAULT_MODEL = (Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "mlperf-tiny"
                 / "kws_ref_model.tflite")  # fmt: skip


def measure(model: bytes, device: str, baud: int, repeat: int) -> dict[str, Any]:
    """Upload ``model`` ``repeat`` times to an emulated ``device`` paced at ``baud``."""
    proc, url = spawn_emulator(device, "--pty", "--baud", str(baud))
    try:
        with SerialTransport.open(url, baud) as transport:
            client = ProfilerClient(transport)
            client.sync()
            stats = [client.upload_model(model) for _ in range(repeat)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    seconds = statistics.median(s.seconds for s in stats)
    line_bytes_per_s = baud / 10
    return {
        "baud": baud,
        "model_bytes": len(model),
        "chunk_bytes": stats[0].chunk_bytes,
        "frames": stats[0].frames,
        "retries": sum(s.retries for s in stats),
        "seconds_median": round(seconds, 4),
        "seconds_all": [round(s.seconds, 4) for s in stats],
        "bytes_per_s": round(len(model) / seconds, 1),
        "line_bytes_per_s": line_bytes_per_s,
        "fraction_of_line_rate": round(len(model) / seconds / line_bytes_per_s, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--device", default="nucleo-l4r5zi")
    parser.add_argument("--baud", type=int, action="append", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = args.model.read_bytes()
    rates = [measure(model, args.device, b, args.repeat) for b in args.baud or [115200, 921600]]
    print(json.dumps({
        "benchmark": "upload_rate",
        "model": args.model.name,
        "device": args.device,
        "measured": "wall clock on this machine, emulated board paced at the baud rate",
        "rates": rates,
        "meets_80_percent": all(r["fraction_of_line_rate"] >= 0.8 for r in rates),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
