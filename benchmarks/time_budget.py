"""A search under a time budget, timed from outside: does it end inside its budget, and how
accurate is what it delivers?

    python benchmarks/time_budget.py --name stm32-default -- --device=stm32
    python benchmarks/time_budget.py --name unas-2h -- --device stm32 \\
        --max-unas-size 64000 --max-unas-peak 12600 --time-budget 2h

Everything after ``--`` is passed to ``tinynas search`` as typed (plus ``--json`` and an
``--out`` under benchmarks/out/). The record (benchmarks/data/time-budget/NAME.json) holds the
command, the machine, the date, the wall-clock measured around the process, the plan, each
stage's measured seconds and the summary's accuracies (int8 in TFLM on the test split).
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

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "time-budget"
OUT = ROOT / "benchmarks" / "out" / "time-budget"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="The record's name.")
    parser.add_argument("search_args", nargs=argparse.REMAINDER,
                        help="-- then the arguments of tinynas search.")
    args = parser.parse_args()
    search_args = [a for a in args.search_args if a != "--"]
    out = OUT / f"{args.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [sys.executable, "-m", "tinynas", "search", *search_args, "--json",
               "--out", str(out)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"tinynas search failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    summary = json.loads(done.stdout)
    record = {
        "command": "tinynas search " + " ".join(search_args),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}, {summary['train_device']}",
        "wall_s": wall_s,
        "plan": summary["plan"],
        "stage_seconds": summary["stage_seconds"],
        "int8_accuracy": summary["int8_accuracy"],
        "float_accuracy": summary["float_accuracy"],
        "metric": summary["metric"],
        "hash": summary["hash"],
        "architecture": summary["architecture"],
        "flash_bytes": summary["flash_bytes"],
        "arena_bytes": summary["arena_bytes"],
        "arena_cortex_m_bytes": summary["arena_cortex_m_bytes"],
        "unas_peak_bytes": summary["unas_peak_bytes"],
        "latency_ms": summary["latency_ms"],
        "teacher": summary["teacher"],
    }
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    budget = summary["plan"].get("budget_s")
    print(f"{args.name}: {wall_s / 60:.1f} min wall-clock"
          + (f" of a {budget / 60:.0f} min budget" if budget else "")
          + f"; int8 {summary['int8_accuracy']:.2%} (TFLM, test split)")


if __name__ == "__main__":
    main()
