"""Starting a run, or resuming one: the checks that a stored run may be continued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinynas.errors import TinyNASError
from tinynas.store._layout import RunLayout
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
    db = RunLayout(run_dir).db
    if not resume:
        if db.exists():
            raise TinyNASError(f"{run_dir} already holds a run; pass --resume to continue it or "
                               "choose another --out")
        return RunStore.create(run_dir, dict(config))
    if not db.exists():
        raise TinyNASError(f"nothing to resume in {run_dir}: no run.db; drop --resume")
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
