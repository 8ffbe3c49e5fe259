"""The CI gate: does a model (int8, int16x8, float or mixed: any model TFLite Micro runs) fit a
board's flash, RAM and latency budget?

For each model and board the gate computes three figures, each with where it comes from::

    flash   = model file size + the board's firmware_reserve_bytes          (measured + catalogue)
    RAM     = TFLM arena + the board's runtime_reserve_bytes     (estimated/measured + catalogue)
    latency = the board's per-op cycle model over the model's ops           (predicted)

Two arena figures are made for every model. The host measurement loads the model in the TFLite
Micro interpreter (x86 reference build). The Cortex-M figure is estimated from the file for a
32-bit Cortex-M with CMSIS-NN kernels (:func:`tinynas.inspection.cortex_m_estimate`); it is
smaller or larger than the x86 one (4-byte pointers; CMSIS-NN's scratch buffers), so neither
bounds the other. On a board that runs TFLM with CMSIS-NN the RAM verdict uses the Cortex-M
figure; on any other board, or for a model the Cortex-M estimate does not cover (an op it does
not model, a model that is not int8), it uses the x86 measurement, and the RAM row says which
(``CheckRow.basis``). An arena larger than the first measuring buffer is measured in a larger
one (up to far above any board's SRAM, beyond which it is reported as "more than" and fails
every board that uses it): a valid model that is too large is a failed check (exit 1), never
an error. A damaged model, or one that crashes TFLite Micro (which runs in a worker process),
is a ``ModelFileError``.
Each figure is held against a limit: the user's (``--max-flash``, ``--max-ram``,
``--max-latency``) or, for flash and RAM, the board's own size, whichever is tighter. Latency has
no limit unless one is given; it is then reported but not checked. A latency prediction that
lacks the cost of some op (an LSTM the board's model was not fitted on, a custom op) is partial,
a lower bound: held to a limit it fails closed, unless ``Limits.allow_partial_latency`` holds the
partial figure to the limit instead. Each check reports the model's tensor types.

The report renders as JSON (:meth:`CheckReport.to_dict`) and as JUnit XML (:func:`junit_xml`):
one ``<testsuite>`` per model and board (its properties: model, board, sha256, both arena
figures and the RAM row's basis), one ``<testcase>`` per resource, a ``<failure>`` for an
over-budget resource and ``<skipped>`` for one without a limit.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from tinynas.convert import start_tflm_worker
from tinynas.devices import Device
from tinynas.errors import TinyNASError
from tinynas.estimators import LatencyPrediction, file_op_costs, predict_latency
from tinynas.inspection import (
    ARENA_SOURCE,
    CORTEX_M_SOURCE,
    InspectReport,
    fit_rows,
    inspect_model,
    types_dict,
)
from tinynas.units import format_size

FLASH_SOURCE = "measured: model file size, plus the board's firmware_reserve_bytes (catalogue)"
RESERVE_SOURCE = "plus the board's runtime_reserve_bytes (catalogue)"
RAM_SOURCE = f"{ARENA_SOURCE}, {RESERVE_SOURCE}"  # the x86 arena
RAM_CORTEX_M_SOURCE = f"{CORTEX_M_SOURCE}, {RESERVE_SOURCE}"
RAM_RULE = ("TFLM arena plus the board's runtime_reserve_bytes (catalogue); the arena is the "
            "Cortex-M CMSIS-NN estimate on a TFLM + CMSIS-NN board, else the x86 measurement "
            "(each ram row's basis says which and why)")
LATENCY_SOURCE = "predicted: the board's per-op cycle model"


class CheckError(TinyNASError):
    """A limit that is not a number, or a report that cannot be written."""


@dataclass(frozen=True)
class Limits:
    """The user's budget; None leaves flash and RAM to the board's size and latency unchecked."""

    max_flash_bytes: int | None = None
    max_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    allow_partial_latency: bool = False  # hold a partial (lower-bound) prediction to the limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_flash_bytes": self.max_flash_bytes,
            "max_ram_bytes": self.max_ram_bytes,
            "max_latency_ms": self.max_latency_ms,
            "allow_partial_latency": self.allow_partial_latency,
        }


@dataclass(frozen=True)
class CheckRow:
    """One resource of one model on one board, against its limit."""

    resource: str  # "flash", "ram" or "latency"
    value: float  # bytes, or milliseconds for latency
    limit: float | None  # None: nothing to check against
    unit: str  # "bytes" or "ms"
    source: str  # where `value` comes from
    limit_source: str  # where `limit` comes from
    parts: tuple[tuple[str, float], ...] = ()  # (what, amount) adding up to `value`
    uncovered: str = ""  # ops a partial latency prediction lacks, e.g. "SVDF x2"
    fails_closed: bool = False  # partial, held to a limit, and not allowed: fails
    basis: str = ""  # RAM: which arena the row holds and why (inspection.RamArena.basis)
    estimated: bool = False  # the value is an estimate (RAM: the Cortex-M arena)

    @property
    def partial(self) -> bool:
        return bool(self.uncovered)

    @property
    def kind(self) -> str:
        """Where the value comes from, in one word: "measured", "estimated" or "predicted"."""
        if self.unit == "ms":
            return "predicted"
        return "estimated" if self.estimated else "measured"

    @property
    def margin(self) -> float | None:
        """Room to spare (negative when over budget); None without a limit."""
        return None if self.limit is None else self.limit - self.value

    @property
    def checked(self) -> bool:
        return self.limit is not None

    @property
    def ok(self) -> bool:
        margin = self.margin
        return not self.fails_closed and (margin is None or margin >= 0)

    def describe(self) -> str:
        """One sentence: value, its parts, limit and margin."""
        parts = " + ".join(f"{what} {_amount(v, self.unit)}" for what, v in self.parts)
        at_least = ">= " if self.partial else ""
        text = f"{self.resource} {at_least}{_amount(self.value, self.unit)}"
        text += f" (= {parts})" if parts else ""
        text += f" (partial: no cost for {self.uncovered})" if self.partial else ""
        if self.fails_closed and self.limit is not None:
            return (f"{text}; limit {_amount(self.limit, self.unit)} ({self.limit_source}); "
                    "fails: a partial prediction cannot show the limit holds (pass "
                    "--allow-partial-latency to hold the partial figure to it)")  # fmt: skip
        if self.limit is None or self.margin is None:
            return f"{text}; {self.limit_source}"
        verdict = "over budget by" if self.margin < 0 else "margin"
        return (f"{text}; limit {_amount(self.limit, self.unit)} ({self.limit_source}); "
                f"{verdict} {_amount(abs(self.margin), self.unit)}")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "value": self.value,
            "kind": self.kind,
            "limit": self.limit,
            "margin": self.margin,
            "ok": self.ok,
            "checked": self.checked,
            "unit": self.unit,
            "source": self.source,
            "limit_source": self.limit_source,
            "parts": dict(self.parts),
            "partial": self.partial,
            "uncovered": self.uncovered or None,
            "basis": self.basis or None,
        }


def _amount(value: float, unit: str) -> str:
    return f"{value:,.2f} ms" if unit == "ms" else f"{value:,.0f} B"


@dataclass(frozen=True)
class ModelCheck:
    """Every row of one model on one board."""

    path: Path
    device: str
    rows: tuple[CheckRow, ...]
    sha256: str
    seconds: float  # wall time of reading the model and measuring its arena
    types: dict[str, Any] = field(default_factory=dict)  # inspection.types_dict of the model
    arenas: dict[str, Any] = field(default_factory=dict)  # InspectReport.arena_dict()

    @property
    def passed(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> tuple[CheckRow, ...]:
        return tuple(row for row in self.rows if not row.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": str(self.path),
            "device": self.device,
            "sha256": self.sha256,
            "types": self.types,
            **self.arenas,
            "passed": self.passed,
            "rows": [row.to_dict() for row in self.rows],
        }


@dataclass(frozen=True)
class CheckReport:
    """The verdict on every model and board of one ``tinynas check`` call."""

    checks: tuple[ModelCheck, ...]
    limits: Limits

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every limit holds, 1 when any is exceeded."""
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "exit_code": self.exit_code,
            "limits": self.limits.to_dict(),
            "checks": [check.to_dict() for check in self.checks],
            "provenance": {"flash": FLASH_SOURCE, "ram": RAM_RULE, "latency": LATENCY_SOURCE,
                           "arena_bytes": ARENA_SOURCE, "arena_cortex_m_bytes": CORTEX_M_SOURCE},
        }


# ---- checking -----------------------------------------------------------------------------------


def check_models(
    paths: Sequence[str | Path], devices: Sequence[Device], limits: Limits = Limits()
) -> CheckReport:
    """Check every model on every board. Every model is read before any verdict is given.

    Raises:
        ModelFileError: A model that is missing, not TFLite, or not runnable in TFLM.
    """
    checks = []
    if paths:
        start_tflm_worker()  # one worker measures every model; it boots while the first is read
    for path in paths:
        started = time.perf_counter()
        report = inspect_model(path)  # reads the file and measures the arena, once per model
        seconds = time.perf_counter() - started
        digest = hashlib.sha256(report.model.data).hexdigest()
        types, arenas = types_dict(report.model), report.arena_dict()
        for device in devices:
            rows = check_rows(report, device, limits)
            checks.append(ModelCheck(Path(path), device.name, rows, digest, seconds, types,
                                     arenas))  # fmt: skip
    return CheckReport(tuple(checks), limits)


def check_rows(report: InspectReport, device: Device, limits: Limits) -> tuple[CheckRow, ...]:
    """The flash, RAM and latency rows of one inspected model on one board."""
    flash, ram = fit_rows(report.model, report.arena, device, report.cortex_m)
    latency = predict_latency(file_op_costs(report.model), device)
    ram_source = RAM_CORTEX_M_SOURCE if ram.estimated else f"{RAM_SOURCE}; {ram.basis}"
    ram_row = _bytes_row(ram.resource, ram.parts, ram_source, device, ram.limit,
                         limits.max_ram_bytes, "--max-ram")
    return (
        _bytes_row(flash.resource, flash.parts, FLASH_SOURCE, device, flash.limit,
                   limits.max_flash_bytes, "--max-flash"),
        replace(ram_row, basis=ram.basis, estimated=ram.estimated),
        _latency_row(latency, device, limits),
    )  # fmt: skip


def _bytes_row(
    resource: str,
    parts: tuple[tuple[str, int], ...],
    source: str,
    device: Device,
    board_limit: int,
    user_limit: int | None,
    option: str,
) -> CheckRow:
    """A flash or RAM row whose limit is the tighter of the board's size and the user's."""
    memory = "flash" if resource == "flash" else "SRAM"
    board = f"{device.name} {memory} size"
    if user_limit is None:
        limit, limit_source = board_limit, board
    elif user_limit <= board_limit:
        limit, limit_source = user_limit, f"{option} {format_size(user_limit)}"
    else:
        limit = board_limit
        limit_source = f"{board}, tighter than {option} {format_size(user_limit)}"
    value = sum(size for _, size in parts)
    return CheckRow(resource, value, limit, "bytes", source, limit_source, parts)


def _latency_row(latency: LatencyPrediction, device: Device, limits: Limits) -> CheckRow:
    source = f"{LATENCY_SOURCE} of {device.name}; coefficients: {latency.source}"
    limit_ms = limits.max_latency_ms
    limit_source = "no --max-latency given" if limit_ms is None else f"--max-latency {limit_ms:g}"
    if latency.partial:
        source += "; partial, a lower bound"
    fails_closed = latency.partial and limit_ms is not None and not limits.allow_partial_latency
    return CheckRow("latency", latency.latency_ms, limit_ms, "ms", source, limit_source,
                    uncovered=latency.uncovered_text(), fails_closed=fails_closed)


def parse_latency_ms(text: str) -> float:
    """Milliseconds of a latency limit: ``"50"``, ``"12.5"`` or ``"12.5ms"``.

    Raises:
        CheckError: Not a positive number of milliseconds.
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(ms)?\s*", text, re.IGNORECASE)
    value = float(match[1]) if match else 0.0
    if value <= 0:
        raise CheckError(
            f"latency limit {text!r} is not a positive number of milliseconds; "
            "give e.g. --max-latency 50 or --max-latency 12.5ms"
        )
    return value


# ---- JUnit XML ----------------------------------------------------------------------------------


def junit_xml(report: CheckReport, timestamp: datetime | None = None) -> str:
    """The report as JUnit XML: ``testsuites/testsuite/testcase`` with ``failure``/``skipped``.

    One test suite per (model, board), one test case per resource. A resource without a limit
    is a skipped test case, so CI systems show that it was not checked.
    """
    stamp = (timestamp or datetime.now()).replace(microsecond=0, tzinfo=None).isoformat()
    root = ET.Element("testsuites", name="tinynas check")
    for check in report.checks:
        root.append(_testsuite(check, stamp))
    _set_counts(root, [row for check in report.checks for row in check.rows])
    root.set("time", f"{sum({c.path: c.seconds for c in report.checks}.values()):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testsuite(check: ModelCheck, timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{check.path.name} on {check.device}")
    _set_counts(suite, list(check.rows))
    suite.set("time", f"{check.seconds:.3f}")
    suite.set("timestamp", timestamp)
    suite.set("hostname", socket.gethostname() or "localhost")
    properties = ET.SubElement(suite, "properties")
    arenas = {key: check.arenas.get(key) for key in ("arena_bytes", "arena_cortex_m_bytes")}
    ram_basis = next((row.basis for row in check.rows if row.basis), None)
    for name, value in (("model", str(check.path)), ("device", check.device),
                        ("sha256", check.sha256), *arenas.items(), ("ram_basis", ram_basis)):
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=str(value))
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{check.path.name}_{check.device}")
    classname = f"tinynas.check.{safe}"  # Jenkins splits class names at dots
    for row in check.rows:
        suite.append(_testcase(row, classname, check.device))
    return suite


def _testcase(row: CheckRow, classname: str, device: str) -> ET.Element:
    case = ET.Element("testcase", name=f"{row.resource} fits {device}", classname=classname)
    case.set("time", "0")
    text = row.describe()
    if not row.checked:
        ET.SubElement(case, "skipped", message=text)
    elif not row.ok:
        failure = ET.SubElement(case, "failure", message=text, type="OverBudget")
        failure.text = f"{text}\nsource: {row.source}"
    ET.SubElement(case, "system-out").text = f"{text}\nsource: {row.source}"
    return case


def _set_counts(element: ET.Element, rows: list[CheckRow]) -> None:
    element.set("tests", str(len(rows)))
    element.set("failures", str(sum(not row.ok for row in rows)))
    element.set("errors", "0")
    element.set("skipped", str(sum(not row.checked for row in rows)))


def write_junit(report: CheckReport, path: str | Path) -> Path:
    """Write :func:`junit_xml` to `path` (its folder is created).

    Raises:
        CheckError: The file cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(junit_xml(report), encoding="utf-8")
    except OSError as e:
        raise CheckError(f"cannot write the JUnit report '{path}': {e.strerror or e}") from e
    return path
