"""One supernet for several boards against a separate search per board at equal total compute.

    python benchmarks/boards_comparison.py \\
        --devices nucleo-f446re,nucleo-l4r5zi,sparkfun-edge --max-latency 100

1. `tinynas search --device A,B,C --max-latency L`: one supernet trained by progressive
   shrinking, then per board the best sub-network under its flash, RAM and latency, fine-tuned
   from its inherited weights, converted to int8 and tested in TFLM. Its total compute (the
   supernet's training counted once, plus every board's search and fine-tune) is T seconds.
2. For each board, `tinynas search --device B --max-latency L --time-budget T/N`: the ordinary
   search of that board alone, given an equal share of the same compute.
3. `tinynas check --device B --max-latency L` on every delivered .tflite.

Every command is the CLI's as typed (plus --json and an --out under
benchmarks/out/boards-comparison/), wall-clock timed from outside; each step is kept once done,
so a killed comparison is rerun with the same arguments and goes on (the supernet search with
--resume). The record is benchmarks/data/boards-comparison/<devices>-<L>ms.json (or --name);
accuracies are measured on Fashion-MNIST's 10,000 test images in TFLM, latencies predicted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "boards-comparison"
DATA = ROOT / "benchmarks" / "data" / "boards-comparison"


def _tinynas(*args: str, answered: tuple[int, ...] = (0,)) -> tuple[dict[str, Any], float]:
    """Runs `tinynas ARGS --json`; its parsed output and wall-clock seconds. An exit status
    outside `answered` ends the comparison with the command's error."""
    command = [sys.executable, "-m", "tinynas", *args, "--json"]
    start = time.monotonic()
    # run from the repository root with relative paths, so no record holds this machine's paths
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.monotonic() - start
    if done.returncode not in answered:
        sys.exit(f"tinynas {' '.join(args)} failed ({done.returncode}): "
                 f"{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout), seconds


def _kept(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _relative(path: str | Path) -> str:
    # the searches' summaries name their folders relative to ROOT, older records absolutely
    return os.path.relpath(ROOT / path, ROOT)


def _check(tflite: str, device: str, max_latency: float) -> dict[str, Any]:
    # check exits 1 when a limit is exceeded: that is still a verdict
    verdict, _ = _tinynas("check", _relative(tflite), "--device", device, "--max-latency",
                          f"{max_latency:g}", answered=(0, 1))
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", required=True, help="Comma-separated boards.")
    parser.add_argument("--max-latency", type=float, required=True,
                        help="Milliseconds (predicted), every board.")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--name", help="The record's name [default: the boards and limit].")
    parser.add_argument("search_args", nargs=argparse.REMAINDER,
                        help="-- then more arguments of tinynas search, given to both routes "
                             "(e.g. --train-subset 2000 for a quick trial).")
    args = parser.parse_args()
    extra = tuple(a for a in args.search_args if a != "--")
    devices = [d.strip() for d in args.devices.split(",")]
    name = args.name or f"{'-'.join(devices)}-{args.max_latency:g}ms"
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    limits = ("--max-latency", f"{args.max_latency:g}", "--dataset", args.dataset, *extra)

    one_path = out / "one-supernet.json"
    one = _kept(one_path)
    if one is None:
        folder = out / "one-supernet"
        resume = ("--resume",) if (folder / "supernet").exists() else ()
        summary, wall_s = _tinynas("search", "--device", ",".join(devices), *limits,
                                   "--out", _relative(folder), *resume)
        one = {"summary": summary, "wall_s": wall_s}
        one_path.write_text(json.dumps(one, indent=2) + "\n")
    total_s = float(one["summary"]["total_s"])
    share_s = total_s / len(devices)

    separate = {}
    for device in devices:
        path = out / f"separate-{device}.json"
        kept = _kept(path)
        if kept is None:
            folder = out / f"separate-{device}-{time.strftime('%Y%m%d-%H%M%S')}"
            summary, wall_s = _tinynas("search", "--device", device, *limits, "--time-budget",
                                       f"{share_s:.0f}s", "--out", _relative(folder))
            kept = {"summary": summary, "wall_s": wall_s}
            path.write_text(json.dumps(kept, indent=2) + "\n")
        separate[device] = kept

    rows = []
    for board in one["summary"]["boards"]:
        device = board["device"]
        alone = separate[device]["summary"]
        rows.append({
            "device": device,
            "one_supernet": {
                "int8_accuracy": board["int8_accuracy"], "flash_bytes": board["flash_bytes"],
                "arena_bytes": board["arena_bytes"], "latency_ms": board["latency_ms"],
                "macs": board["macs"], "seconds": board["search_s"] + board["finetune_s"],
                "check": _check(str(Path(board["out"]) / "model.tflite"), device,
                                args.max_latency)},
            "separate": {
                "int8_accuracy": alone["int8_accuracy"], "flash_bytes": alone["flash_bytes"],
                "arena_bytes": alone["arena_bytes"], "latency_ms": alone["latency_ms"],
                "seconds": separate[device]["wall_s"],
                "check": _check(str(Path(alone["out"]) / "model.tflite"), device,
                                args.max_latency)},
        })
    record = {
        "command": "python benchmarks/boards_comparison.py " + " ".join(sys.argv[1:]),
        "devices": devices, "max_latency_ms": args.max_latency, "dataset": args.dataset,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "one_supernet": {"supernet_train_s": one["summary"]["supernet"]["train_s"],
                         "total_s": total_s, "wall_s": one["wall_s"]},
        "separate_total_s": sum(s["wall_s"] for s in separate.values()),
        "share_s": share_s, "boards": rows,
    }
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print("| board | one supernet: int8 acc | flash B | arena B | latency ms (predicted) | "
          "check | separate search: int8 acc | flash B | arena B | latency ms (predicted) | "
          "check |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for row in rows:
        cells = []
        for route in ("one_supernet", "separate"):
            r = row[route]
            int8 = "-" if r["int8_accuracy"] is None else f"{r['int8_accuracy']:.2%}"
            verdict = "pass" if r["check"]["passed"] else "FAIL"
            cells.append(f"{int8} | {r['flash_bytes']:,} | {r['arena_bytes']:,} | "
                         f"{r['latency_ms']:.1f} | {verdict}")
        print(f"| {row['device']} | " + " | ".join(cells) + " |")
    print(f"compute: one supernet {total_s:.0f} s in all (supernet "
          f"{record['one_supernet']['supernet_train_s']:.0f} s, once); separate searches "
          f"{record['separate_total_s']:.0f} s in all ({share_s:.0f} s budget each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
