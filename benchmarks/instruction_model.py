"""Latency model from instruction counts: per-op instruction models fitted on the firmware's
QEMU measurements, tested on held-aside architectures and the MLPerf Tiny models, then mapped
to cycles with one number per core pinned by published MLPerf Tiny latencies.

1. Instructions (EMULATED: QEMU -icount, benchmarks/qemu_firmware.py) per op type, two forms:
   - "catalogue": per_mac * MACs + per_output * output elements + per_op, the form of the
     devices' [latency] tables (tinynas/estimators/_latency.py);
   - "window": the same plus per_window * window elements: output positions x kernel height x
     kernel width for CONV_2D and DEPTHWISE_CONV_2D (CMSIS-NN's im2col and window loops pay
     per kernel tap, whatever the channel count), window reads for pooling.
   Fitted by non-negative least squares on relative error over the ops of the "fit" half (even
   seeds); op types with fewer than MIN_OPS samples share the "default" row (without any,
   it is fitted on every op other than the MAC ops, for op types the fit never saw). The
   FULLY_CONNECTED / CONV_2D cost per MAC is read off the fit, not set by hand.
2. Test: predicted against measured instructions per model on the "test" half (odd seeds)
   and on the four MLPerf Tiny models, which the fit never saw.
3. Cycles = CPI x instructions, one CPI (cycles per instruction) for the Cortex-M4F, fitted to
   a published stack on NUCLEO-L4R5ZI (120 MHz) as the geometric mean of published cycles /
   instructions, and checked leave-one-model-out (fit on three models, predict the fourth),
   once with the measured instructions (the mapping alone) and once with the predicted ones
   (what a search candidate gets).

    python benchmarks/instruction_model.py [--data benchmarks/data/qemu_mps2_an386.jsonl]
                                           [--json benchmarks/out/instruction_model.json]
                                           [--write-devices]

--write-devices rewrites the [latency] section of every catalogue board that runs TFLM +
CMSIS-NN on a Cortex-M4F with CPI x the "window" form's coefficients (CPI from the MLPerf Tiny
v0.5 reference stack: TFLM + CMSIS-NN, as the firmware), and of every such Cortex-M7 board with
that CPI times the median M7/M4F cycle ratio of ST's v1.2 results (an estimate, not a fit).
`tinynas calibrate` refits any of them from latencies measured on the board.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency_model import PUBLISHED_STACKS_MS, m7_cycle_ratio  # noqa: E402

from tinynas.devices import (  # noqa: E402
    LatencyModel,
    OpLatencyCoefficients,
    load_catalogue,
    parse_device,
)
from tinynas.estimators import latency_toml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
DEVICE_FORM, DEVICE_STACK = "window", "reference"
WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")
FORMS = ("catalogue", "window")
MIN_OPS = 10
L4R5_CLOCK_HZ = 120_000_000
MLPERF = {"kws_ref_model": "KWS", "vww_96_int8": "VWW", "pretrainedResnet_quant": "IC",
          "ad01_int8": "AD"}  # fmt: skip
STACKS = {"reference": "NUCLEO-L4R5ZI, TFLM 2.3.1 + CMSIS-NN (reference), v0.5",
          "microtvm": "NUCLEO-L4R5ZI, microTVM + CMSIS-NN, v1.0"}  # fmt: skip


def load_rows(path: Path) -> list[dict]:
    """The measured models whose output matched host TFLM."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [r for r in rows if r["output_matches_host"]]


def window_elements(op: dict) -> int:
    """Output positions x kernel taps (convolutions), window reads (pooling), else 0."""
    if op["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        _, kernel_h, kernel_w, _ = op["input_shapes"][1]
        positions = math.prod(op["output_shape"][:-1])
        return positions * kernel_h * kernel_w
    return op["element_ops"] if op["op"] in WINDOW_OPS else 0


def features(op: dict, form: str) -> list[float]:
    outputs = math.prod(op["output_shape"])
    row = [float(op["macs"]) if op["op"] in MAC_OPS else 0.0, float(outputs)]
    if form == "window":
        row.append(float(window_elements(op)))
    return [*row, 1.0]


def _row_name(op: str, names: set[str]) -> str:
    return op if op in names else "default"


def fit(rows: list[dict], form: str) -> dict[str, np.ndarray]:
    """Per op type: coefficients of `features` (NNLS on relative error)."""
    samples: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        for op in row["ops"]:
            samples[op["op"]].append(op)
    rare = [n for n, ops in samples.items() if n not in MAC_OPS and len(ops) < MIN_OPS]
    others = [op for n, ops in samples.items() if n not in MAC_OPS for op in ops]
    samples["default"] = [op for n in rare for op in samples.pop(n)] or others  # unseen ops
    coefficients = {}
    for name, ops in samples.items():
        if not ops:
            continue
        a = np.array([features(op, form) for op in ops], float)
        y = np.array([op["instructions"] for op in ops], float)
        weight = 1.0 / np.maximum(y, 1.0)  # relative error
        coefficients[name], _ = nnls(a * weight[:, None], y * weight)
    return coefficients


def predict_model(coefficients: dict[str, np.ndarray], row: dict, form: str) -> float:
    names = set(coefficients)
    return sum(float(coefficients[_row_name(op["op"], names)] @ features(op, form))
               for op in row["ops"])  # fmt: skip


def model_errors(coefficients: dict[str, np.ndarray], rows: list[dict], form: str
                 ) -> list[float]:  # fmt: skip
    """Relative error of the predicted instructions of each model."""
    return [predict_model(coefficients, r, form) / r["run_instructions"] - 1.0 for r in rows]


def summary(values: list[float]) -> dict[str, float]:
    absolute = [abs(v) for v in values]
    return {"models": len(values), "median_abs_error": statistics.median(absolute),
            "max_abs_error": max(absolute)}


def cpi_leave_one_out(instructions: dict[str, float], stack: str
                      ) -> tuple[float, dict[str, float]]:  # fmt: skip
    """CPI fitted to all four models of `stack`, and each model's latency error when its CPI
    comes from the other three (geometric mean of published cycles / instructions)."""
    published = dict(zip(("KWS", "VWW", "IC", "AD"), PUBLISHED_STACKS_MS[STACKS[stack]],
                         strict=True))  # fmt: skip
    cycles = {k: published[k] * 1e-3 * L4R5_CLOCK_HZ for k in instructions}
    ratio = {k: cycles[k] / instructions[k] for k in instructions}
    held_out = {}
    for k in ratio:
        cpi = math.exp(statistics.mean(math.log(v) for j, v in ratio.items() if j != k))
        held_out[k] = cpi * instructions[k] / cycles[k] - 1.0
    return math.exp(statistics.mean(math.log(v) for v in ratio.values())), held_out


def device_latency(coefficients: dict[str, list[float]], cpi: float, source: str
                   ) -> LatencyModel:  # fmt: skip
    """Cycle coefficients = CPI x the "window" form's instruction coefficients."""
    ops = {}
    for name, (per_mac, per_output, per_window, per_op) in coefficients.items():
        ops[name] = OpLatencyCoefficients(*(float(f"{cpi * v:.4g}") for v in
                                            (per_mac, per_output, per_op, per_window)))
    return LatencyModel(source, ops)


def write_devices(result: dict) -> list[str]:
    """Rewrite the [latency] section of each TFLM + CMSIS-NN Cortex-M4F / M7 board."""
    form = result["forms"][DEVICE_FORM]
    cpi, held_out = form["cpi_predicted_instructions"][DEVICE_STACK]
    test = form["test"]
    worst = max(abs(v) for v in held_out.values())
    source = (
        f"instruction model of TFLM + CMSIS-NN (QEMU Cortex-M4, emulated instructions; "
        f"held-aside error median {100 * test['median_abs_error']:.0f}%, max "
        f"{100 * test['max_abs_error']:.0f}%) x {cpi:.3f} cycles per instruction from MLPerf "
        f"Tiny v0.5 on NUCLEO-L4R5ZI (leave-one-model-out within {100 * worst:.0f}%); "
        "benchmarks/instruction_model.py; refit with 'tinynas calibrate'")
    m7_ratio, _ = m7_cycle_ratio()
    written = []
    for device in load_catalogue(ROOT / "devices").values():
        if device.runtime != "tflm" or device.kernel_library != "cmsis-nn":
            continue
        if device.core == "cortex-m4f":
            model = device_latency(form["coefficients"], cpi, source)
        elif device.core == "cortex-m7":
            model = device_latency(form["coefficients"], cpi * m7_ratio, (
                f"scaled estimate, not a fit: the Cortex-M4F model x {m7_ratio:.3f}, ST's "
                "median Cortex-M7/M4F cycle ratio in MLPerf Tiny v1.2 (no TFLM + CMSIS-NN "
                f"latency on a Cortex-M7 is published); {source}"))
        else:
            continue
        path = ROOT / "devices" / f"{device.name}.toml"
        text = path.read_text(encoding="utf-8")
        text = text[: text.index("\n[latency]\n") + 1] + latency_toml(model)
        parse_device(str(path), device.name, text)  # never write a file the catalogue refuses
        path.write_text(text, encoding="utf-8")
        written.append(device.name)
    return written


def _percent(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:+.1f}%" for k, v in values.items())


def report(rows: list[dict]) -> dict:
    split = {s: [r for r in rows if r["split"] == s] for s in ("fit", "test", "mlperf")}
    mlperf = {MLPERF[r["id"].split(":", 1)[1]]: r for r in split["mlperf"]}
    result: dict = {"fit_models": len(split["fit"]), "forms": {}}
    measured = {k: float(r["run_instructions"]) for k, r in mlperf.items()}
    result["cpi_measured_instructions"] = {s: cpi_leave_one_out(measured, s) for s in STACKS}
    for form in FORMS:
        coefficients = fit(split["fit"], form)
        predicted = {k: predict_model(coefficients, r, form) for k, r in mlperf.items()}
        result["forms"][form] = {
            "coefficients": {k: [round(float(x), 4) for x in v]
                             for k, v in sorted(coefficients.items())},
            "fc_to_conv_per_mac": float(coefficients["FULLY_CONNECTED"][0]
                                        / coefficients["CONV_2D"][0]),
            "dw_to_conv_per_mac": float(coefficients["DEPTHWISE_CONV_2D"][0]
                                        / coefficients["CONV_2D"][0]),
            **{name: summary(model_errors(coefficients, split[name], form))
               for name in ("fit", "test", "mlperf")},
            "mlperf_instruction_error": {k: predicted[k] / measured[k] - 1.0 for k in measured},
            "cpi_predicted_instructions": {s: cpi_leave_one_out(predicted, s) for s in STACKS},
        }  # fmt: skip
    return result


def print_report(result: dict) -> None:
    print(f"instruction models fitted on {result['fit_models']} architectures (even seeds)")
    for form, r in result["forms"].items():
        terms = "per MAC, per output, " + ("per window element, " if form == "window" else "")
        print(f"\nform '{form}' (coefficients: {terms}per op)")
        for name, c in r["coefficients"].items():
            print(f"  {name:20s} {c}")
        print(f"  instructions per MAC: FULLY_CONNECTED / CONV_2D = {r['fc_to_conv_per_mac']:.3f}"
              f", DEPTHWISE_CONV_2D / CONV_2D = {r['dw_to_conv_per_mac']:.3f}")
        for name in ("fit", "test", "mlperf"):
            s = r[name]
            print(f"  {name:6s}: median |error| {100 * s['median_abs_error']:.1f}%, max "
                  f"{100 * s['max_abs_error']:.1f}% over {s['models']} models")
        print(f"  MLPerf Tiny instructions: {_percent(r['mlperf_instruction_error'])}")
        for stack, (cpi, held_out) in r["cpi_predicted_instructions"].items():
            print(f"  CPI {cpi:.3f} from {stack} (predicted instructions); leave-one-model-out "
                  f"latency: {_percent(held_out)}")
    print("\nthe mapping alone (measured instructions of the four models):")
    for stack, (cpi, held_out) in result["cpi_measured_instructions"].items():
        print(f"  CPI {cpi:.3f} from '{STACKS[stack]}'; leave-one-model-out latency: "
              f"{_percent(held_out)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT / "benchmarks" / "data" / "qemu_mps2_an386.jsonl")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--write-devices", action="store_true")
    args = parser.parse_args(argv)
    rows = load_rows(args.data)
    if len([r for r in rows if r["split"] == "mlperf"]) < 4:
        print("the data must hold the four MLPerf Tiny models (benchmarks/qemu_firmware.py)")
        return 1
    result = report(rows)
    print_report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    if args.write_devices:
        print("rewrote [latency] of:", ", ".join(write_devices(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
