"""`SearchSummary`: what a finished search reports of its chosen model, and how it got there.

It is what `tinynas search` prints, what `--json` writes (`to_dict`) and what report.md says.
Every figure is labelled by `provenance`: measured, estimated or predicted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tinynas.estimators import ARENA_X86, Budget, estimate
from tinynas.pipeline._config import SearchConfig
from tinynas.pipeline._finish import Finished
from tinynas.space import Architecture
from tinynas.store import CandidateStatus, RunStore

# the start of a rejection reason (Budget.violations) -> the option that sets that limit
LIMIT_OPTIONS = (("flash", "--max-flash"), ("ram", "--max-ram"), ("latency", "--max-latency"),
                 ("μNAS peak", "--max-unas-peak"), ("μNAS size", "--max-unas-size"))

PROVENANCE = {
    "float_accuracy": "measured", "int8_accuracy": "measured (TFLM)",
    "flash_bytes": "measured (file)", "arena_bytes": "measured on the host (TFLM x86 build)",
    "arena_cortex_m_bytes": "estimated from the .tflite (TFLM on a Cortex-M with CMSIS-NN)",
    "*_estimated_bytes": "estimated (arena: arena_estimated_source)", "latency_ms": "predicted",
}


@dataclass(frozen=True)
class TeacherSummary:
    """The distillation teacher of a run: its size, training and test accuracy (measured)."""

    params: int
    macs: int
    epochs: float
    train_seconds: float
    test_accuracy: float


@dataclass(frozen=True)
class SearchSummary:
    run: str  # the run folder's name
    out: str  # the run folder
    device: str
    budget_text: str  # the limits the candidates were held to
    dataset: str
    strategy: str
    metric: str  # the ranker, 'auto' resolved
    seed: int
    evaluated: int  # candidates in the store, rejected ones included
    rejected: int  # over budget by the estimators
    scored: int
    trained: int  # candidates with at least one training
    seconds: float  # wall-clock of this process's part of the run
    train_device: str  # "cpu" or "cuda"
    candidate_id: int  # the chosen model
    hash: str
    architecture: dict[str, Any]
    float_accuracy: float  # test split, measured
    int8_accuracy: float | None  # test split, the int8 model in TFLM
    flash_bytes: int  # the .tflite file
    flash_estimated_bytes: int
    arena_bytes: int  # measured in TFLM's x86 build, on the host
    arena_estimated_bytes: int  # the arena the budget held (arena_estimated_source)
    unas_peak_bytes: int  # μNAS's peak-activation figure, estimated
    latency_ms: float  # predicted for the board
    teacher: TeacherSummary | None = None
    executor: str = "local, in this process"  # where the halving trainings ran
    arena_cortex_m_bytes: int | None = None  # of the .tflite; None: not estimated (ram_basis)
    arena_estimated_source: str = ARENA_X86  # which arena arena_estimated_bytes is
    ram_basis: str = ""  # which arena the delivered model's RAM verdict held, and why
    plan: dict[str, Any] | None = None  # the run's settings and predicted seconds (RunPlan)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # measured, this process
    provenance: dict[str, str] = field(default_factory=lambda: dict(PROVENANCE))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def ram_text(self) -> str:
        """The chosen model's RAM in one line: both arena figures, each labelled, the estimate
        the search held, and which figure the fit verdict used."""
        text = f"TFLM arena {self.arena_bytes:,} B measured on the host (x86 build)"
        if self.arena_cortex_m_bytes is not None:
            text += f", {self.arena_cortex_m_bytes:,} B estimated for a Cortex-M with CMSIS-NN"
        which = self.arena_estimated_source.removesuffix(" (estimated)")
        text += f"; estimated from the architecture {self.arena_estimated_bytes:,} B ({which})"
        if self.ram_basis:
            text += f"; fit verdict on {self.device}: {self.ram_basis}"
        return text


def budget_text(budget: Budget) -> str:
    """'flash <= 1,024 B, RAM <= 512 B, ...': the limits of `budget` that are set."""
    parts = []
    if budget.flash_bytes is not None:
        parts.append(f"flash <= {budget.flash_bytes:,} B")
    if budget.ram_bytes is not None:
        parts.append(f"RAM <= {budget.ram_bytes:,} B")
    if budget.latency_ms is not None:
        parts.append(f"latency <= {budget.latency_ms} ms")
    if budget.unas_peak_bytes is not None:
        parts.append(f"μNAS peak <= {budget.unas_peak_bytes:,} B")
    if budget.unas_size_bytes is not None:
        parts.append(f"μNAS size <= {budget.unas_size_bytes:,} B")
    return ", ".join(parts)


def nothing_fits(store: RunStore, budget: Budget) -> str:
    """The error line of a run in which no candidate fits: the smallest one's needs."""
    rejected = store.candidates(CandidateStatus.REJECTED)
    if not rejected:
        return "no candidate was scored; raise --candidates or --time-budget"
    smallest = min(rejected,
                   key=lambda r: (r.estimates["arena_bytes"], r.estimates["flash_bytes"]))
    e = smallest.estimates
    needs = f"{e['flash_bytes']:,} B flash and {e['arena_bytes']:,} B RAM"
    if budget.latency_ms is not None and e.get("latency_ms") is not None:
        needs += f", {e['latency_ms']:.2f} ms"
    unas = f"μNAS peak {e['unas_peak_bytes']:,} B"
    if budget.unas_size_bytes is not None:
        unas += f", μNAS size {e['params']:,} B"
    binding = [option for limit, option in LIMIT_OPTIONS
               if any((r.reject_reason or "").startswith(limit)
                      or f"; {limit}" in (r.reject_reason or "") for r in rejected)]
    return (f"no architecture of {len(rejected)} tried fits the budget ({budget_text(budget)}); "
            f"the smallest needs {needs} ({unas}): relax {'/'.join(binding) or 'the limits'} "
            "or choose a larger board")


def teacher_summary(store: RunStore) -> TeacherSummary | None:
    """The distillation teacher kept in the run's metadata, if any."""
    kept = store.get_meta("teacher")
    if kept is None:
        return None
    est = estimate(Architecture.from_dict(kept["architecture"]))
    return TeacherSummary(est.params, est.macs, kept["epochs"], kept["train_seconds"],
                          kept["test_accuracy"])


def summarize(config: SearchConfig, store: RunStore, device: str, budget: Budget, metric: str,
              finished: Finished, seconds: float, train_device: str,
              executor: str = "local, in this process", plan: dict[str, Any] | None = None,
              stage_s: dict[str, float] | None = None) -> SearchSummary:
    """The summary of a finished run."""
    chosen = finished.candidate
    est = chosen.estimates
    return SearchSummary(
        run=config.out.name, out=str(config.out), device=device, budget_text=budget_text(budget),
        dataset=config.dataset, strategy=config.strategy, metric=metric, seed=config.seed,
        evaluated=store.count(), rejected=store.count(CandidateStatus.REJECTED),
        scored=store.count() - store.count(CandidateStatus.REJECTED),
        trained=len({t.candidate_id for t in store.trainings()}),
        seconds=seconds, train_device=train_device,
        candidate_id=chosen.id, hash=chosen.hash, architecture=chosen.architecture.to_dict(),
        float_accuracy=finished.float_accuracy, int8_accuracy=finished.int8_accuracy,
        flash_bytes=finished.flash_bytes, flash_estimated_bytes=est["flash_bytes"],
        arena_bytes=finished.arena_bytes, arena_estimated_bytes=est["arena_bytes"],
        unas_peak_bytes=est["unas_peak_bytes"], latency_ms=est.get("latency_ms") or 0.0,
        teacher=teacher_summary(store), executor=executor,
        arena_cortex_m_bytes=finished.arena_cortex_m_bytes,
        arena_estimated_source=est.get("arena_source", ARENA_X86), ram_basis=finished.ram_basis,
        plan=plan, stage_seconds=dict(stage_s or {}),
    )
