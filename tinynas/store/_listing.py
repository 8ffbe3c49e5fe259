"""``list_runs`` and ``show_run``: runs read back without taking any lock."""

from __future__ import annotations

from pathlib import Path

from tinynas.errors import StoreError
from tinynas.store._lock import LOCK_NAME, is_locked
from tinynas.store._records import (
    CandidateDetails,
    CandidateRecord,
    CandidateStatus,
    RunDetails,
    RunSummary,
)
from tinynas.store._schema import DB_NAME
from tinynas.store._store import CREATING_NAME, SIDE_SUFFIXES, RunStore


def list_runs(root: Path | str) -> list[RunSummary]:
    """Every run under ``root`` (folders holding a run.db), oldest first.

    A run whose store cannot be read is listed as "unreadable" with the reason, so that one
    damaged folder does not hide the others.

    Raises:
        StoreError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"no runs folder '{root}'; start a run with 'tinynas search' or pass "
                         "--root")  # fmt: skip
    try:
        folders = sorted(root.iterdir())
    except OSError as e:
        raise StoreError(f"cannot read runs folder '{root}' ({e}); check its permissions") from e
    summaries = [summarize(d) for d in folders if _may_hold_run(d)]
    return sorted(summaries, key=lambda s: (s.created_at or "", s.name))


def _may_hold_run(folder: Path) -> bool:
    """Whether `folder` holds a run.db; a folder that cannot be looked into is listed too (as
    "unreadable", with the reason) rather than hidden or stopping the listing."""
    try:
        return (folder / DB_NAME).is_file()
    except OSError:
        return True


def summarize(run_dir: Path) -> RunSummary:
    """The summary of one run folder (read-only; "unreadable" when its store is not sound)."""
    try:
        with RunStore.open(run_dir, writable=False) as store:
            return _summary(store, run_dir)
    except (StoreError, OSError) as e:
        return RunSummary(
            name=run_dir.name, path=str(run_dir), created_at=None, device=None, dataset=None,
            status="unreadable", candidates=0, evaluated=0, trained=0, best_accuracy=None,
            error=str(e),
        )  # fmt: skip


def run_status(stored: str, run_dir: Path) -> str:
    """The stored status, except that a "running" run that no process writes is "interrupted"."""
    if stored == "running" and not is_locked(run_dir):
        return "interrupted"
    return stored


def _summary(store: RunStore, run_dir: Path) -> RunSummary:
    meta = store.meta()
    total = store.count()
    best = store.best_trained("test_accuracy")
    return RunSummary(
        name=run_dir.name,
        path=str(run_dir),
        created_at=_text(meta.get("created_at")),
        device=_text(meta.get("device")),
        dataset=_text(meta.get("dataset")),
        status=run_status(str(meta.get("status", "unknown")), run_dir),
        candidates=total,
        evaluated=total - store.count(CandidateStatus.PROPOSED),
        trained=len({t.candidate_id for t in store.trainings()}),
        best_accuracy=None if best is None else best.test_accuracy,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def show_run(run_dir: Path | str) -> RunDetails:
    """One run in full: summary, metadata, Pareto front and chosen model (read-only).

    Raises:
        StoreError: no run there, or its store cannot be read.
    """
    run_dir = Path(run_dir)
    with RunStore.open(run_dir, writable=False) as store:
        chosen = store.chosen()
        return RunDetails(
            summary=_summary(store, run_dir),
            meta=store.meta(),
            front=tuple(_details(store, c) for c in store.front()),
            chosen=None if chosen is None else _details(store, chosen),
            files=_artifacts(run_dir),
        )


def _details(store: RunStore, candidate: CandidateRecord) -> CandidateDetails:
    return CandidateDetails(
        candidate, tuple(store.trainings(candidate.id)), tuple(store.measurements(candidate.id))
    )


def _artifacts(run_dir: Path) -> tuple[str, ...]:
    own = {LOCK_NAME} | {name + suffix for name in (DB_NAME, CREATING_NAME)
                         for suffix in ("", *SIDE_SUFFIXES)}  # fmt: skip
    return tuple(sorted(p.name for p in run_dir.iterdir() if p.is_file() and p.name not in own))


def resolve_run(run: str, root: Path | str) -> Path:
    """The folder of run ``run``: a run folder path, or a run name under ``root``.

    Raises:
        StoreError: neither holds a run store.
    """
    for candidate in (Path(run), Path(root) / run):
        if (candidate / DB_NAME).is_file():
            return candidate
    raise StoreError(f"no run '{run}' in '{root}' (no {Path(root) / run / DB_NAME}); see "
                     "'tinynas runs' for the runs there")  # fmt: skip
