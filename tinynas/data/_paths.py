"""Where datasets are looked for: ``--data-dir``, then ``$TINYNAS_DATA``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TINYNAS_DATA"  # os.pathsep-separated folders holding datasets


def data_dirs(data_dir: str | Path | None) -> list[tuple[str, Path]]:
    """The user's data folders in search order, each with where it came from.

    Args:
        data_dir: The ``--data-dir`` argument, or None.

    Returns:
        ``(origin, folder)`` pairs: ``--data-dir`` first, then each folder of ``$TINYNAS_DATA``.
    """
    places = [] if data_dir is None else [("--data-dir", Path(data_dir))]
    env_value = os.environ.get(ENV_VAR, "")
    places += [(f"${ENV_VAR}", Path(p)) for p in env_value.split(os.pathsep) if p]
    return places
