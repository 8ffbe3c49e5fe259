"""The run report: report.md and pareto.png in the run folder.

As optuna's visualisations do, the data half (`pareto_info`) is computed without matplotlib and
the drawing half (`draw_pareto`) only draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinynas.pipeline._summary import SearchSummary, TeacherSummary
from tinynas.search import pareto_front
from tinynas.store import CandidateStatus, RunLayout, RunStore
from tinynas.units import format_duration, format_latency, format_seconds


@dataclass(frozen=True)
class ParetoInfo:
    metric: str
    scored: list[tuple[float, float]]  # (predicted latency ms, score) of every scored candidate
    front: list[tuple[float, float]]  # on the front of score, latency, RAM and flash
    front_2d: list[tuple[float, float]]  # the front of score against latency alone
    chosen: tuple[float, float] | None


def pareto_info(store: RunStore, metric: str) -> ParetoInfo:
    def point(record: Any) -> tuple[float, float]:
        return float(record.estimates.get("latency_ms") or 0.0), float(record.scores[metric])

    scored = [r for r in store.candidates() if metric in r.scores
              and r.status != CandidateStatus.REJECTED]
    front = [r for r in scored if r.on_front]
    chosen = store.chosen()
    points = [point(r) for r in scored]
    front_2d = sorted(points[i] for i in pareto_front([(lat, -score) for lat, score in points]))
    return ParetoInfo(metric, points, sorted(point(r) for r in front), front_2d,
                      point(chosen) if chosen is not None and metric in chosen.scores else None)


def draw_pareto(info: ParetoInfo, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    if info.scored:
        latency, score = zip(*info.scored)
        ax.scatter(latency, score, s=6, c="#9aa", label="scored candidates")
    if info.front_2d:
        ax.step(*zip(*info.front_2d), where="post", c="#c33", lw=1,
                label="front: score vs latency")
    if info.front:
        latency, score = zip(*info.front)
        ax.scatter(latency, score, s=14, c="#c33", label="front: score, latency, RAM, flash")
    if info.chosen:
        ax.scatter([info.chosen[0]], [info.chosen[1]], s=90, marker="*", c="#13c", label="chosen")
    ax.set_xlabel("latency, ms (predicted)")
    ax.set_ylabel(f"{info.metric} score (higher is better)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(store: RunStore, summary: SearchSummary, layout: RunLayout) -> Path:
    """Writes report.md (and pareto.png) and returns the report's path."""
    info = pareto_info(store, summary.metric)
    draw_pareto(info, layout.pareto_plot)
    lines = [
        f"# tinynas run {summary.run}",
        "",
        f"- board: {summary.device} ({summary.budget_text})",
        f"- dataset: {summary.dataset}, strategy: {summary.strategy}, "
        f"metric: {summary.metric}, seed: {summary.seed}",
        f"- candidates: {summary.evaluated} evaluated, {summary.rejected} rejected by the "
        f"estimators, {summary.scored} scored, {summary.trained} trained",
        f"- compute: {format_seconds(summary.seconds)} on {summary.train_device}",
        *_compute_lines(summary),
        "",
        "## Chosen model",
        "",
        f"- architecture `{summary.hash}` ({layout.architecture.name})",
        f"- accuracy on the test split: float {summary.float_accuracy:.2%} (measured), "
        f"int8 {_pct(summary.int8_accuracy)} (measured with the int8 model in TFLM)",
        f"- flash: {summary.flash_bytes:,} B .tflite (estimated "
        f"{summary.flash_estimated_bytes:,} B)",
        f"- RAM: {summary.ram_text()}",
        f"- latency on {summary.device}: {format_latency(summary.latency_ms)} (predicted)",
        *_teacher_lines(summary.teacher),
        "",
        "## Pareto front (score against predicted latency)",
        "",
        f"![Pareto front]({layout.pareto_plot.name})",
        "",
        "| id | score | latency ms (pred.) | arena B (est.) | flash B (est.) |",
        "|---|---|---|---|---|",
    ]
    for r in store.front():
        e = r.estimates
        lines.append(f"| {r.id} | {r.scores.get(summary.metric, float('nan')):.4g} | "
                     f"{e.get('latency_ms') or 0:.2f} | {e.get('arena_bytes', 0):,} | "
                     f"{e.get('flash_bytes', 0):,} |")
    layout.report.write_text("\n".join(lines) + "\n")
    return layout.report


def _compute_lines(summary: SearchSummary) -> list[str]:
    """Each stage's measured seconds beside the plan's prediction, when there was a plan."""
    if not summary.stage_seconds:
        return []
    predicted = (summary.plan or {}).get("stage_s") or {}
    budget = (summary.plan or {}).get("budget_s")
    head = "" if budget is None else f" (time budget {format_duration(budget)})"
    lines = ["", f"| stage{head} | measured | predicted |", "|---|---:|---:|"]
    final_predicted = sum(predicted.get(k, 0.0) for k in ("teacher", "winner", "finish"))
    for stage, seconds in summary.stage_seconds.items():
        guess = final_predicted if stage == "final" else predicted.get(stage)
        lines.append(f"| {stage} | {format_duration(seconds)} | "
                     f"{'-' if not guess else format_duration(guess)} |")
    return lines


def _teacher_lines(teacher: TeacherSummary | None) -> list[str]:
    if teacher is None:
        return []
    return [(f"- distilled from a teacher CNN of {teacher.params:,} parameters and "
             f"{teacher.macs:,} MACs, trained {teacher.epochs:g} epochs in "
             f"{format_seconds(teacher.train_seconds)}: float {teacher.test_accuracy:.2%} on the "
             "test split (measured); the teacher is not a deliverable")]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"
