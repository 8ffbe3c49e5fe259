"""Latency model: fit the per-op cycle model to MLPerf Tiny's published reference latencies.

Fits tinynas's cycle model (tinynas/estimators/_calibrate.py) to the four MLPerf Tiny v0.5
reference latencies on NUCLEO-L4R5ZI (TFLM 2.3.1 + CMSIS-NN, Cortex-M4F at 120 MHz), checks it
leave-one-model-out (fit on three, predict the fourth), and shows how the one prior the data
cannot check (FULLY_CONNECTED cost per MAC relative to CONV_2D) moves the AD prediction.

The Cortex-M7 boards get the fit scaled by the median M7/M4F cycle ratio of ST's own v1.2
results (NUCLEO-H7A3ZI-Q vs NUCLEO-L4R5ZI): an estimate, not a fit, since no TFLM + CMSIS-NN
latency on a Cortex-M7 is published in the same table. Plumerai's DISCO-F746NG figures are a
different stack and are not used.

    python benchmarks/latency_model.py [--fixtures ../shared/fixtures/mlperf-tiny]
                                       [--out benchmarks/out]

This is the fit from published figures alone. The catalogue's Cortex-M coefficients come from
benchmarks/instruction_model.py instead: instruction counts of the real firmware give the
per-op cost shape (and the FULLY_CONNECTED / CONV_2D ratio this fit has to take from a prior),
and the published figures only the cycles per instruction.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import asdict, replace
from pathlib import Path

from tinynas.estimators._calibrate import (
    M4F_TFLM_REFERENCE_PRIOR,
    MLPERF_TINY_V05_CLOCK_HZ,
    MLPERF_TINY_V05_REFERENCE_MS,
    Calibration,
    LatencySample,
    Prior,
    leave_one_out,
    mlperf_reference_samples,
)

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"kws_ref_model.tflite": "KWS", "vww_96_int8.tflite": "VWW",
         "pretrainedResnet_quant.tflite": "IC", "ad01_int8.tflite": "AD"}  # fmt: skip

# Every stack of the fixtures README's latency table, ms per inference (KWS, VWW, IC, AD).
PUBLISHED_STACKS_MS = {
    "NUCLEO-L4R5ZI, TFLM 2.3.1 + CMSIS-NN (reference), v0.5": (181.9, 600.6, 704.2, 10.1),
    "NUCLEO-L4R5ZI, ST X-CUBE-AI, v1.2": (43.2, 88.9, 165.1, 5.3),
    "NUCLEO-L4R5ZI, microTVM + CMSIS-NN, v1.0": (99.8, 301.2, 389.6, 8.6),
    "DISCO-F746NG, Plumerai, v1.1": (17.7, 34.1, 62.9, 1.7),
    "NUCLEO-H7A3ZI-Q, ST, v1.2": (11.3, 23.8, 40.8, 1.2),
    "NUCLEO-U575ZI-Q, ST, v1.2": (29.1, 59.3, 111.1, 3.4),
    "NUCLEO-G0B1RE, Bosch, v1.2": (474.6, 1414.0, 1522.0, 40.9),
}
MODELS = ("KWS", "VWW", "IC", "AD")


def _stack_ms(stack: str) -> dict[str, float]:
    return dict(zip(MODELS, PUBLISHED_STACKS_MS[stack], strict=True))


# ST's own software on a Cortex-M4F and a Cortex-M7, so their cycle ratio isolates the core.
ST_V12_M4F_MS = _stack_ms("NUCLEO-L4R5ZI, ST X-CUBE-AI, v1.2")
ST_V12_M7_MS = _stack_ms("NUCLEO-H7A3ZI-Q, ST, v1.2")
ST_V12_M4F_HZ, ST_V12_M7_HZ = 120_000_000, 280_000_000
# microTVM + CMSIS-NN on the same board and clock as the reference: the same CMSIS-NN kernels
# under another runtime, the one published stack whose FC/conv cost ratio bears most directly
# on the reference's.
TVM_V10_MS = _stack_ms("NUCLEO-L4R5ZI, microTVM + CMSIS-NN, v1.0")


def m7_cycle_ratio() -> tuple[float, dict[str, float]]:
    """Median over the four models of (M7 cycles / M4F cycles) in ST's v1.2 results."""
    ratios = {k: ST_V12_M7_MS[k] * ST_V12_M7_HZ / (ST_V12_M4F_MS[k] * ST_V12_M4F_HZ)
              for k in ST_V12_M4F_MS}  # fmt: skip
    return statistics.median(ratios.values()), ratios


def fc_sensitivity(samples: list[LatencySample], ratios: list[float]) -> list[dict[str, float]]:
    """Leave-one-out errors when the prior's FC/conv cost-per-MAC ratio takes other values."""
    rows = []
    base = M4F_TFLM_REFERENCE_PRIOR
    for ratio in ratios:
        fc = ratio * base.centre.conv_cycles_per_mac
        prior = Prior.around(replace(base.centre, fc_cycles_per_mac=fc), 1.0)
        cal = leave_one_out(samples, MLPERF_TINY_V05_CLOCK_HZ, prior)
        rows.append({"fc_ratio": ratio, **{SHORT[r.name]: r.error for r in cal.rows}})
    return rows


def _ad_error(samples: list[LatencySample], ratio: float) -> float:
    base = M4F_TFLM_REFERENCE_PRIOR
    prior = Prior.around(replace(base.centre,
                                 fc_cycles_per_mac=ratio * base.centre.conv_cycles_per_mac), 1.0)
    cal = leave_one_out(samples, MLPERF_TINY_V05_CLOCK_HZ, prior)
    return next(r.error for r in cal.rows if SHORT[r.name] == "AD")


def implied_fc_ratio(samples: list[LatencySample], low: float = 0.1, high: float = 3.0) -> float:
    """The FC/conv prior ratio at which AD's leave-one-out error is zero (bisection: the
    error grows with the ratio)."""
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if _ad_error(samples, mid) < 0 else (low, mid)
    return (low + high) / 2


def independent_ratio(samples: list[LatencySample]) -> dict[str, float]:
    """The FC/conv ratio that microTVM + CMSIS-NN's own four latencies imply, and AD's
    leave-one-out error on the reference stack when the prior takes that ratio: a check of
    the prior with data it was not chosen on."""
    tvm = [replace(s, latency_ms=TVM_V10_MS[SHORT[s.name]]) for s in samples]
    ratio = implied_fc_ratio(tvm)
    return {"tvm_fc_ratio": ratio, "reference_ad_error": _ad_error(samples, ratio),
            "reference_fc_ratio": implied_fc_ratio(samples)}


def stack_fc_ratios(samples: list[LatencySample]) -> dict[str, float]:
    """Per published stack: AD's time per MAC over the mean time per MAC of KWS, VWW and IC.

    A model-free view of what FC work costs against convolution work in each stack (AD is all
    FULLY_CONNECTED; the others almost none); the clock cancels within a stack.
    """
    macs = {SHORT[s.name]: sum(op.macs for op in s.ops) for s in samples}
    ratios = {}
    for stack in PUBLISHED_STACKS_MS:
        per_mac = {k: ms / macs[k] for k, ms in _stack_ms(stack).items()}
        ratios[stack] = per_mac["AD"] / statistics.mean(per_mac[k] for k in MODELS[:3])
    return ratios


def shared_cost_forms(fixtures: Path) -> dict[str, dict[str, float]]:
    """Leave-one-out errors of model forms with no per-op-type prior, fitted by non-negative
    least squares on relative error: one cost per MAC for every kernel, plus a cost per
    output element of the MAC ops, plus (second form) a cost per im2col element of CONV_2D
    (MACs / output channels: the input patch a convolution copies per output position)."""
    import numpy as np
    from scipy.optimize import nnls

    from tinynas.tflite_file import read_tflite

    rows, cycles = [], []
    for name, ms in MLPERF_TINY_V05_REFERENCE_MS.items():
        macs = outputs = im2col = 0
        for op in read_tflite(fixtures / name).ops:
            if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                macs += op.macs
                outputs += math.prod(op.output_shape)
            if op.op == "CONV_2D":
                im2col += op.macs // op.output_shape[-1]
        rows.append((macs, outputs, im2col))
        cycles.append(ms * 1e-3 * MLPERF_TINY_V05_CLOCK_HZ)
    x, y = np.array(rows, dtype=float), np.array(cycles)
    forms = {"per MAC + per output": [0, 1],
             "per MAC + per output + per im2col element": [0, 1, 2]}
    names = [SHORT[n] for n in MLPERF_TINY_V05_REFERENCE_MS]
    result = {}
    for form, cols in forms.items():
        errors = {}
        for held in range(len(y)):
            fit = [i for i in range(len(y)) if i != held]
            coef, _ = nnls(x[fit][:, cols] / y[fit, None], np.ones(len(fit)))
            errors[names[held]] = float(x[held, cols] @ coef / y[held] - 1)
        result[form] = errors
    return result


def markdown(cal: Calibration, samples: list[LatencySample], sensitivity: list[dict],
             m7: tuple[float, dict[str, float]], check: dict[str, float],
             stacks: dict[str, float],
             forms: dict[str, dict[str, float]]) -> str:  # fmt: skip
    macs = {s.name: sum(op.macs for op in s.ops) for s in samples}
    title = ("## Latency model: leave-one-model-out on MLPerf Tiny v0.5 reference "
             "(NUCLEO-L4R5ZI, TFLM 2.3.1 + CMSIS-NN, 120 MHz)")  # fmt: skip
    header = ("| model | MACs | published ms | fit on all 4, ms | fit on the other 3, ms | "
              "leave-one-out error |")  # fmt: skip
    lines = [title, "", header, "|---|---:|---:|---:|---:|---:|"]
    for r in cal.rows:
        lines.append(
            f"| {SHORT[r.name]} | {macs[r.name]:,} | {r.latency_ms:.1f} | "
            f"{r.fitted_ms:.1f} | {r.held_out_ms:.1f} | {100 * r.error:+.1f}% |"
        )
    lines += ["", f"max |error| {100 * cal.max_abs_error:.1f}%. Fitted parameters (cycles):", ""]
    lines += [f"- {k} = {v:.4g}" for k, v in asdict(cal.parameters).items()]
    note = ("AD leans on the prior FC/conv cost-per-MAC ratio (the other models have almost no "
            "FC MACs); leave-one-out error as that ratio varies:")  # fmt: skip
    lines += ["", note, "", "| FC/conv prior ratio | KWS | VWW | IC | AD |",
              "|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in sensitivity:
        cells = " | ".join(f"{100 * row[k]:+.1f}%" for k in ("KWS", "VWW", "IC", "AD"))
        lines.append(f"| {row['fc_ratio']:.2f} | {cells} |")
    lines += [
        "",
        f"Check with other data: microTVM + CMSIS-NN's v1.0 latencies on the same board imply an "
        f"FC/conv ratio of {check['tvm_fc_ratio']:.2f} (AD's leave-one-out error is zero there); "
        f"with that ratio as the prior, the reference stack's AD error is "
        f"{100 * check['reference_ad_error']:+.1f}%. The reference stack's own AD figure implies "
        f"{check['reference_fc_ratio']:.2f}.",
    ]
    lines += ["", "AD's time per MAC over the conv models' (mean of KWS, VWW, IC), per published "
              "stack:", "", "| stack | AD / conv time per MAC |", "|---|---:|"]
    lines += [f"| {stack} | {r:.2f} |" for stack, r in stacks.items()]
    lines += ["", "Model forms without a per-op-type prior (NNLS on relative error), "
              "leave-one-out:", "", "| form | KWS | VWW | IC | AD |", "|---|---:|---:|---:|---:|"]
    for form, errors in forms.items():
        cells = " | ".join(f"{100 * errors[k]:+.1f}%" for k in MODELS)
        lines.append(f"| {form} | {cells} |")
    ratio, per_model = m7
    detail = ", ".join(f"{k} {v:.3f}" for k, v in per_model.items())
    lines += [
        "",
        f"Cortex-M7 scale (ST v1.2, H7A3ZI-Q vs L4R5ZI cycles): median {ratio:.3f} ({detail}).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path,
                        default=ROOT.parent / "shared" / "fixtures" / "mlperf-tiny")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    samples = mlperf_reference_samples(args.fixtures)
    cal = leave_one_out(samples, MLPERF_TINY_V05_CLOCK_HZ, M4F_TFLM_REFERENCE_PRIOR)
    sensitivity = fc_sensitivity(samples, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    m7 = m7_cycle_ratio()
    check = independent_ratio(samples)
    stacks = stack_fc_ratios(samples)
    forms = shared_cost_forms(args.fixtures)
    report = markdown(cal, samples, sensitivity, m7, check, stacks, forms)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency_model.md").write_text(report, encoding="utf-8")
    result = {
        "clock_hz": cal.clock_hz,
        "prior": {"centre": asdict(M4F_TFLM_REFERENCE_PRIOR.centre),
                  "width": asdict(M4F_TFLM_REFERENCE_PRIOR.width)},
        "parameters": asdict(cal.parameters),
        "leave_one_out": [{**asdict(r), "error": r.error} for r in cal.rows],
        "max_abs_error": cal.max_abs_error,
        "fc_ratio_sensitivity": sensitivity,
        "fc_ratio_check": check,
        "stack_ad_over_conv_per_mac": stacks,
        "shared_cost_forms_leave_one_out": forms,
        "m7_cycle_ratio": m7[0],
        "m7_parameters": asdict(cal.parameters.scaled(m7[0])),
        "provenance": {"latency_ms": "published (MLPerf Tiny v0.5)", "fitted_ms": "predicted",
                       "held_out_ms": "predicted"},
    }  # fmt: skip
    (args.out / "latency_model.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
