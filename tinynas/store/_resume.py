"""Starting a run, or resuming one: the checks that a stored run may be continued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinynas.errors import TinyNASError
from tinynas.store._layout import CREATING_PREFIX, RunLayout
from tinynas.store._store import RunStore


def open_run(run_dir: Path, config: Mapping[str, Any], resume: bool,
             fixed: Sequence[str]) -> RunStore:
    """A new run in `run_dir` holding `config`, or with `resume` the unfinished run there.

    A resumed run must have been started with the same values of the `fixed` settings as
    `config` has (a run's candidates were evaluated under them); a setting the stored run
    does not record is not compared.

    Raises:
        TinyNASError: Nothing to resume, a finished run, a setting that differs, or a new run
            where one exists.
        StoreError: The store cannot be created or opened (see :class:`RunStore`).
    """
    layout = RunLayout(run_dir)
    if not resume:
        if RunStore.holds_run(run_dir):
            raise TinyNASError(f"{run_dir} already holds a run; pass --resume to continue it or "
                               "choose another --out")
        others = _foreign_entries(layout)
        if others:
            raise TinyNASError(f"{run_dir} holds files that are not a tinynas run "
                               f"({', '.join(others)}); a run folder must be new or empty: "
                               "choose another --out")
        return RunStore.create(run_dir, dict(config))
    if not layout.db.exists():
        raise TinyNASError(f"nothing to resume in {run_dir}: no run.db; drop --resume")
    if not RunStore.holds_run(run_dir):
        raise TinyNASError(f"nothing to resume in {run_dir}: the run was stopped while its "
                           "store was being created, before anything was stored; start it "
                           "again without --resume")
    store = RunStore.open(run_dir)
    try:
        if store.get_meta("status") == "finished":
            raise TinyNASError(f"{run_dir} is a finished run; see tinynas runs show "
                               f"{run_dir}, or start a new run with another --out")
        stored = store.config()
        for key in fixed:
            if key in stored and stored[key] != config[key]:
                raise TinyNASError(f"{run_dir} was searched with {key}={stored[key]!r}, not "
                                   f"{config[key]!r}; resume with the same settings")
    except BaseException:
        store.close()
        raise
    return store


def _foreign_entries(layout: RunLayout, shown: int = 3) -> list[str]:
    """The first few entries of the run folder that a new run would not have made: a search
    writes its deliverables into the folder, so it must never start among a user's files."""
    if not layout.root.is_dir():
        return []
    names = sorted(p.name for p in layout.root.iterdir()
                   if p.name != layout.lock.name and not p.name.startswith(CREATING_PREFIX)
                   and not p.name.startswith(layout.db.name))  # an empty store cut short
    return names[:shown] + ([f"{len(names) - shown} more"] if len(names) > shown else [])
