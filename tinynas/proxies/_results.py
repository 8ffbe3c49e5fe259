"""The files of a proxy validation, and where kept results live.

A validation folder holds:

- ``config.json``: the settings; a resumed validation must use the same ones (only
  ``samples`` may grow, because the sampled architectures are a seeded sequence).
- ``results.csv``: one row per architecture, appended and flushed (and synced) as soon as
  the architecture is trained, so a killed run loses at most the architecture in flight.
  Columns: ``FIXED_COLUMNS``, then ``score:<metric>`` and ``ms:<metric>`` for each metric,
  then the architecture as compact JSON, then ``accuracy_curve``: the first training's
  accuracy after each epoch, ``;``-separated (empty in rows written before curves were
  kept; a file without the column gains it, empty, when it is resumed). Floats are written
  with ``repr`` and read back exactly; an empty ``accuracy_repeat`` means the architecture
  was trained once.
- ``summary.json`` and ``scatter.png``, written when every architecture is done.

Kept results are looked up under ``proxies_root()``: the ``root`` argument, else
``$TINYNAS_PROXIES_DIR``, else ``runs/proxies`` under the current directory; one folder per
dataset (``<root>/<dataset>/summary.json``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinynas.errors import TinyNASError
from tinynas.space import Architecture

ENV_VAR = "TINYNAS_PROXIES_DIR"
DEFAULT_ROOT = Path("runs") / "proxies"
CSV_NAME, CONFIG_NAME, SUMMARY_NAME, PLOT_NAME = (
    "results.csv", "config.json", "summary.json", "scatter.png")
FIXED_COLUMNS = ("index", "arch_hash", "params", "macs", "flash_bytes", "arena_bytes",
                 "latency_ms", "accuracy", "accuracy_repeat", "train_seconds", "train_device")
ESTIMATE_KEYS = ("params", "macs", "flash_bytes", "arena_bytes", "latency_ms")
# settings a resumed validation may change: it grows by more sampled or added architectures
# (every kept row is checked against the architecture of its index before anything trains)
ADDED = ("added_architectures", "added_architectures_sha256")
GROWABLE = ("samples", *ADDED)


class ProxyValidationError(TinyNASError):
    """A proxy validation that cannot start, resume or be read."""


@dataclass(frozen=True)
class ArchResult:
    """One architecture of a validation: estimates, measured accuracy, predicted scores."""

    index: int  # position in the seeded sequence of sampled architectures
    architecture: Architecture = field(repr=False)
    estimates: dict[str, float | None]  # ESTIMATE_KEYS (latency predicted for the device)
    accuracy: float  # measured: float accuracy on the validation images after training
    accuracy_repeat: float | None  # measured again with another training seed, or None
    train_seconds: float  # measured wall-clock of the first training
    train_device: str  # "cpu" or "cuda"
    scores: dict[str, float]  # metric -> score (predicted; NaN where the metric failed)
    ms: dict[str, float]  # metric -> milliseconds its score took on this host (measured)
    accuracy_curve: tuple[float, ...] = ()  # measured after each epoch of the first training

    @property
    def arch_hash(self) -> str:
        return self.architecture.content_hash


def slug(name: str) -> str:
    """A dataset name as a folder name: ``fashion-mnist``; ``my data.npz`` -> ``my-data.npz``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-") or "dataset"


def proxies_root(root: str | Path | None = None) -> Path:
    """Where kept validations live (module docstring)."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_ROOT


def default_out(dataset_name: str, root: str | Path | None = None) -> Path:
    """The folder a validation of `dataset_name` is kept in."""
    return proxies_root(root) / slug(dataset_name)


def columns(metrics: Sequence[str], curve: bool = True) -> list[str]:
    """The CSV header for `metrics` (without the last column, the one files written before
    learning curves were kept had)."""
    return [*FIXED_COLUMNS, *(f"score:{m}" for m in metrics), *(f"ms:{m}" for m in metrics),
            "architecture", *(("accuracy_curve",) if curve else ())]


def _text(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _row(result: ArchResult, metrics: Sequence[str]) -> list[str]:
    est = result.estimates
    return [
        str(result.index), result.arch_hash, *(_text(est.get(k)) for k in ESTIMATE_KEYS[:4]),
        _text(est.get("latency_ms")), _text(result.accuracy), _text(result.accuracy_repeat),
        _text(result.train_seconds), result.train_device,
        *(_text(result.scores.get(m, math.nan)) for m in metrics),
        *(_text(result.ms.get(m, math.nan)) for m in metrics),
        result.architecture.to_json(indent=None),
        ";".join(repr(float(a)) for a in result.accuracy_curve),
    ]  # fmt: skip


def _parse(record: dict[str, str], metrics: Sequence[str]) -> ArchResult:
    arch = Architecture.from_json(record["architecture"])
    if arch.content_hash != record["arch_hash"]:
        raise ValueError("architecture does not match its hash")
    estimates: dict[str, float | None] = {k: float(record[k]) for k in ESTIMATE_KEYS
                                          if record[k] != ""}
    repeat = record["accuracy_repeat"]
    return ArchResult(
        int(record["index"]), arch, estimates, float(record["accuracy"]),
        float(repeat) if repeat else None, float(record["train_seconds"]),
        record["train_device"], {m: float(record[f"score:{m}"]) for m in metrics},
        {m: float(record[f"ms:{m}"]) for m in metrics},
        tuple(float(a) for a in record["accuracy_curve"].split(";") if a),
    )  # fmt: skip


class ResultsFile:
    """``results.csv`` of one validation: read what is kept, append one row at a time."""

    def __init__(self, path: Path, metrics: Sequence[str]) -> None:
        self.path = Path(path)
        self.metrics = tuple(metrics)

    def create(self) -> None:
        """Starts a new file holding only the header."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(columns(self.metrics))

    def load(self) -> list[ArchResult]:
        """The complete rows, in file order. A row cut short by a killed run (no final
        newline, missing fields, unreadable values) is dropped with everything after it, and
        the file is rewritten without it so appending continues cleanly.

        Raises:
            ProxyValidationError: The file is missing or its header is not this validation's.
        """
        if not self.path.exists():
            raise ProxyValidationError(f"no {CSV_NAME} in {self.path.parent}; nothing to "
                                       "resume: drop --resume")
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if lines and next(csv.reader([lines[0]]), []) == columns(self.metrics, curve=False):
            lines = _with_curve_column(lines)
            self.path.write_text("".join(lines), encoding="utf-8")
        self._check_header(lines[0] if lines else "")
        kept, results = [lines[0]], []
        for line in lines[1:]:
            result = self._parse_line(line)
            if result is None:
                break
            kept.append(line)
            results.append(result)
        if len(kept) != len(lines):
            self.path.write_text("".join(kept), encoding="utf-8")
        return results

    def append(self, result: ArchResult) -> None:
        """Writes one row and makes it durable before returning."""
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(_row(result, self.metrics))
            f.flush()
            os.fsync(f.fileno())

    def _check_header(self, line: str) -> None:
        header = next(csv.reader([line]), [])
        if header != columns(self.metrics):
            raise ProxyValidationError(
                f"{self.path} has columns {','.join(header) or '(none)'}, not those of the "
                f"metrics {', '.join(self.metrics)}; resume with the same --metrics or "
                "choose another --out"
            )

    def _parse_line(self, line: str) -> ArchResult | None:
        if not line.endswith("\n"):
            return None
        fields = next(csv.reader(io.StringIO(line)), [])
        header = columns(self.metrics)
        if len(fields) != len(header):
            return None
        try:
            return _parse(dict(zip(header, fields)), self.metrics)
        except (ValueError, KeyError, TinyNASError):
            return None


def _with_curve_column(lines: list[str]) -> list[str]:
    """The lines of a file written before learning curves were kept, each complete row (and
    the header) given the empty last column; a row cut short stays as it was, for `load` to
    drop."""
    out = []
    for line in lines:
        if not line.endswith("\n"):
            out.append(line)
            continue
        fields = next(csv.reader(io.StringIO(line)), [])
        buffer = io.StringIO()
        csv.writer(buffer).writerow([*fields, "accuracy_curve" if not out else ""])
        out.append(buffer.getvalue())
    return out


def write_json(path: Path, data: Any) -> None:
    """Writes `data` as indented JSON, replacing the file atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The JSON in `path`.

    Raises:
        ProxyValidationError: The file is not valid JSON.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ProxyValidationError(f"cannot read {path}: {e}; delete it or re-run "
                                   "'tinynas proxies validate'") from e


def check_config(out: Path, config: dict[str, Any], resume: bool) -> None:
    """Writes ``config.json`` for a new validation, or checks it against a resumed one.

    Raises:
        ProxyValidationError: A new validation where one is kept (without `resume`), nothing
            to resume, or a resumed validation with other settings.
    """
    path = out / CONFIG_NAME
    if not resume:
        if path.exists():
            raise ProxyValidationError(f"{out} already holds a proxy validation; pass --resume "
                                       "to continue it or choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        write_json(path, config)
        return
    if not path.exists():
        raise ProxyValidationError(f"nothing to resume in {out}: no {CONFIG_NAME}; drop "
                                   "--resume")
    kept = read_json(path)
    for key in sorted(set(kept) | set(config)):
        if key not in GROWABLE and kept.get(key) != config.get(key):
            raise ProxyValidationError(
                f"{out} was validated with {key}={kept.get(key)!r}, not {config.get(key)!r}; "
                "resume with the same settings or choose another --out"
            )
    grown = config.get("samples", 0) > kept.get("samples", 0)
    if grown or any(kept.get(k) != config.get(k) for k in ADDED):
        write_json(path, config)


# Validations that ship with tinynas (their numbers are in docs/benchmarks.md); a kept
# validation of the user's own overrides them.
SHIPPED_VALIDATIONS = Path(__file__).resolve().parent.parent / "_validations"


def find_summary(dataset_name: str, root: str | Path | None = None) -> Path | None:
    """The kept summary of `dataset_name`: ``<root>/<dataset>/summary.json``, or
    ``<root>/summary.json`` when that one is of `dataset_name` (a validation kept directly in
    its own folder, as the benchmark does); None when there is none."""
    base = proxies_root(root)
    nested = base / slug(dataset_name) / SUMMARY_NAME
    if nested.exists():
        return nested
    direct = base / SUMMARY_NAME
    if direct.exists() and read_json(direct).get("dataset") == dataset_name:
        return direct
    shipped = SHIPPED_VALIDATIONS / slug(dataset_name) / SUMMARY_NAME
    if root is None and shipped.exists():  # the validation published in docs/benchmarks.md
        return shipped
    return None
