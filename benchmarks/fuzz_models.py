"""Damaged models through the real CLI: no crash, no traceback, no hang; every failure one line.

Mutates the four MLPerf Tiny int8 models (seeded: one flipped bit, one overwritten byte, or a
truncation per variant; half of the positions in the flatbuffer's structure rather than its
weights, see ``tinynas.testing.fuzz``) and runs every variant through real ``tinynas`` processes:

    tinynas inspect VARIANT
    tinynas check VARIANT --device stm32 --junit FILE
    tinynas profile VARIANT --emulate stm32 --runs 3      (every --profile-every'th variant)

Each run is classified by how it ended: exit 0, exit 1 (check: over budget; profile: outputs
differ), exit 2 with one ``error: ...`` line (the contract for bad input), and the failures of
the contract: death by a signal (crash), a ``Traceback``, no exit within --timeout (hang), an
exit 2 whose stderr is not one ``error:`` line, any other exit status, and a check that exited
0 or 1 without writing its JUnit file. Prints a table and writes JSON (counts, every contract
failure, and the error lines' kinds) to OUT/fuzz_models.json.

The processes run a copy of ``tinynas/`` and ``devices/`` taken at the start, so that edits to
the working tree during the run (it takes about 20 minutes on 2 cores) do not mix versions.
``--code DIR`` takes them from another checkout instead, e.g. the code of a commit (DIR an
empty folder)::

    git archive COMMIT | tar -x -C DIR
    python benchmarks/fuzz_models.py --code DIR --out DIR/out

    python benchmarks/fuzz_models.py [--count 2000] [--seed 1] [--jobs 2] [--profile-every 2]
                                     [--timeout 180] [--models DIR] [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinynas.testing.fuzz import mutations

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT.parent / "shared" / "fixtures" / "mlperf-tiny"
MODELS = ("kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite",
          "ad01_int8.tflite")  # fmt: skip
COMMANDS = ("inspect", "check", "profile")
CONTRACT_FAILURES = ("crash", "traceback", "hang", "multi-line", "other-exit", "junit-missing")


@dataclass
class Run:
    model: str
    mutation: str
    command: str
    outcome: str  # exit-0, exit-1, error (exit 2, one line), or one of CONTRACT_FAILURES
    returncode: int | None
    seconds: float
    line: str  # the error line, or the start of stderr


def snapshot(source: Path, folder: Path) -> Path:
    """A copy of the package and its board catalogue to run (see the module's docstring)."""
    code = folder / "code"
    for part in ("tinynas", "devices"):
        shutil.copytree(source / part, code / part,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return code


def run_one(command: str, variant: Path, model: str, label: str, timeout_s: float,
            code: Path) -> Run:  # fmt: skip
    """One tinynas process (of the copy in ``code``) on one variant, classified."""
    junit = variant.with_suffix(f".{command}.xml")
    args = {"inspect": ["inspect", str(variant)],
            "check": ["check", str(variant), "--device", "stm32", "--junit", str(junit)],
            "profile": ["profile", str(variant), "--emulate", "stm32", "--runs", "3"]}[command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYNAS_")}
    env["PYTHONPATH"] = str(code)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tinynas", *args], cwd=code, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        _, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its TFLM worker
        proc.communicate()
        return Run(model, label, command, "hang", None, time.monotonic() - started, "")
    seconds = time.monotonic() - started
    lines = [line for line in stderr.splitlines() if line.strip()]
    first = lines[0][:300] if lines else ""
    code = proc.returncode
    if code < 0:
        outcome = "crash"
        first = f"killed by {signal.Signals(-code).name}"
    elif "Traceback" in stderr:
        outcome = "traceback"
        first = lines[-1][:300]  # the exception
    elif code == 2:
        outcome = "error" if len(lines) == 1 and first.startswith("error: ") else "multi-line"
    elif code == 0 or (code == 1 and command in ("check", "profile")):
        outcome = f"exit-{code}"
        if command == "check" and not junit.exists():
            outcome = "junit-missing"
    else:
        outcome = "other-exit"
    junit.unlink(missing_ok=True)
    return Run(model, label, command, outcome, code, seconds, first)


def error_kind(line: str) -> str:
    """The kind of an error line, for the summary: what stopped the model."""
    if "TFLite Micro crashed" in line:
        return "TFLM crash contained: " + re.sub(r".*crashed \((\w+)\).*", r"\1", line)
    if "TFLite Micro hung" in line:
        return "TFLM hang contained"
    for words, kind in (("the file is damaged or not a TFLite model", "structural check"),
                        ("is not a TFLite model", "no TFL3 identifier"),
                        ("empty or truncated", "too short"),
                        ("truncated or corrupt", "reader"),
                        ("cannot run", "TFLM refused"),
                        ("model full-integer", "not int8"),
                        ("int8 model", "not int8"),
                        ("the board refused", "emulated board refused"),
                        ("does not match", "output mismatch")):  # fmt: skip
        if words in line:
            return kind
    return "other: " + line[7:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="variants over all models")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="tinynas processes at a time")
    parser.add_argument("--profile-every", type=int, default=2,
                        help="profile --emulate every N-th variant (1: all)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds before a hang")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="checkout whose tinynas/ and devices/ run (default: this one)")
    args = parser.parse_args()

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="tinynas-fuzz-") as folder:
        code = snapshot(args.code, Path(folder))
        jobs = []
        per_model = -(-args.count // len(MODELS))
        for m, name in enumerate(MODELS):
            data = (args.models / name).read_bytes()
            for i, mutation in enumerate(mutations(data, per_model, args.seed * 1000 + m)):
                variant = Path(folder) / f"{Path(name).stem}-{i:04d}.tflite"
                variant.write_bytes(mutation.apply(data))
                for command in COMMANDS:
                    if command != "profile" or i % args.profile_every == 0:
                        jobs.append((command, variant, name, mutation.label))
        print(f"{per_model * len(MODELS)} variants, {len(jobs)} tinynas processes, "
              f"{args.jobs} at a time", file=sys.stderr, flush=True)
        done: list[Run] = []

        def run(job: tuple[str, Path, str, str]) -> Run:
            result = run_one(*job, args.timeout, code)
            done.append(result)
            if len(done) % 500 == 0:
                print(f"{len(done)} of {len(jobs)} runs, {time.time() - started:,.0f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
            return result

        with ThreadPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(run, jobs))
    wall_s = time.time() - started

    table = {c: Counter(r.outcome for r in runs if r.command == c) for c in COMMANDS}
    kinds = {c: Counter(error_kind(r.line) for r in runs if r.command == c
                        and r.outcome == "error") for c in COMMANDS}  # fmt: skip
    failures = [asdict(r) for r in runs if r.outcome in CONTRACT_FAILURES]
    columns = ("runs", "exit-0", "exit-1", "error", *CONTRACT_FAILURES)
    print(f"\n{'command':<9}" + "".join(f"{c:>14}" for c in columns))
    for c in COMMANDS:
        counts = {"runs": sum(table[c].values()), **table[c]}
        print(f"{c:<9}" + "".join(f"{counts.get(k, 0):>14,}" for k in columns))
    print("\nerror lines (exit 2) by kind:")
    for c in COMMANDS:
        for kind, n in kinds[c].most_common():
            print(f"  {c:<9} {n:>6,}  {kind}")
    slowest = max(runs, key=lambda r: r.seconds)
    print(f"\nwall {wall_s:,.0f} s; slowest run {slowest.seconds:.1f} s "
          f"({slowest.command} {slowest.model} {slowest.mutation}); "
          f"contract failures: {len(failures)}")

    result: dict[str, Any] = {
        "benchmark": "fuzz_models",
        "command": "python benchmarks/fuzz_models.py " + " ".join(sys.argv[1:]),
        "code": "this checkout" if args.code.resolve() == ROOT else str(args.code),
        "date": time.strftime("%Y-%m-%d", time.localtime(started)),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "variants": per_model * len(MODELS),
        "models": list(MODELS),
        "seed": args.seed,
        "timeout_s": args.timeout,
        "profile_every": args.profile_every,
        "wall_s": round(wall_s, 1),
        "counts": {c: dict(table[c]) for c in COMMANDS},
        "error_kinds": {c: dict(kinds[c]) for c in COMMANDS},
        "contract_failures": failures,
        "seconds_max": {c: round(max((r.seconds for r in runs if r.command == c), default=0), 2)
                        for c in COMMANDS},  # fmt: skip
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz_models.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {args.out / 'fuzz_models.json'}")


if __name__ == "__main__":
    main()
