"""Records of on-board measurement: what a board says about itself, one inference, one profile.

Every latency here is measured on a board or emulated by the emulated board; the record says
which (``BoardInfo.emulated``, ``ProfileResult.source``), and ``ProfileResult.to_dict`` carries
a provenance entry for every figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tinynas.errors import ProfilerError
from tinynas.profile._protocol import PROTOCOL, PROTOCOL_MAJOR

_INT_KEYS = ("clock_hz", "sram_bytes", "flash_bytes", "pool_bytes", "slot_bytes", "chunk_bytes",
             "timer_bits")  # fmt: skip
_TEXT_KEYS = ("protocol", "board", "core", "runtime", "kernels")
COUNTS = ("cycles", "instructions")


@dataclass(frozen=True)
class BoardInfo:
    """A board's answer to ``info%`` (PROTOCOL.md section 4)."""

    protocol: str
    board: str
    emulated: bool
    core: str
    clock_hz: int
    sram_bytes: int
    flash_bytes: int
    pool_bytes: int  # RAM for a model kept in RAM plus its arena
    slot_bytes: int  # largest model of the flash slot; 0 = no slot
    chunk_bytes: int  # largest upload frame payload
    timer_bits: int
    us_timer: bool
    runtime: str
    kernels: str
    latency_source: str | None = None
    counts: str = "cycles"  # what its counters count: "cycles" or "instructions" (QEMU -icount)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> BoardInfo:
        """Build from ``info%`` key/value pairs, checking presence, types and protocol version.

        Raises:
            ProfilerError: A missing or non-numeric key, or another protocol major version.
        """
        missing = [k for k in (*_INT_KEYS, *_TEXT_KEYS, "emulated", "us_timer") if k not in fields]
        if missing:
            raise ProfilerError(f"the board's info% reply lacks {', '.join(missing)}; "
                                "is its firmware older than tinynas-profiler/1?")  # fmt: skip
        _check_protocol(fields["protocol"])
        try:
            numbers = {k: int(fields[k]) for k in (*_INT_KEYS, "emulated", "us_timer")}
        except ValueError as e:
            raise ProfilerError(f"the board's info% reply has a non-numeric value: {e}") from e
        counts = fields.get("counts", "cycles")
        if counts not in COUNTS:
            raise ProfilerError(f"the board's info% says counts={counts}; this host knows "
                                f"{' and '.join(COUNTS)}")  # fmt: skip
        return cls(
            protocol=fields["protocol"], board=fields["board"], emulated=bool(numbers["emulated"]),
            core=fields["core"], clock_hz=numbers["clock_hz"], sram_bytes=numbers["sram_bytes"],
            flash_bytes=numbers["flash_bytes"], pool_bytes=numbers["pool_bytes"],
            slot_bytes=numbers["slot_bytes"], chunk_bytes=numbers["chunk_bytes"],
            timer_bits=numbers["timer_bits"], us_timer=bool(numbers["us_timer"]),
            runtime=fields["runtime"], kernels=fields["kernels"],
            latency_source=fields.get("latency_source"), counts=counts,
        )  # fmt: skip

    @property
    def source(self) -> str:
        """``"emulated"`` or ``"measured"``: what a latency from this board is."""
        return "emulated" if self.emulated else "measured"


def _check_protocol(protocol: str) -> None:
    name, _, version = protocol.partition("/")
    major = version.split(".")[0]
    if name != PROTOCOL.split("/")[0] or major != str(PROTOCOL_MAJOR):
        raise ProfilerError(
            f"the board speaks protocol '{protocol}', this host speaks {PROTOCOL}; "
            "update the board's profiler firmware or tinynas"
        )


@dataclass(frozen=True)
class OpSample:
    """Cycles of one op in one timed run, as the board reported them."""

    run: int
    index: int  # op index in the model's main subgraph
    op: str
    cycles: int


@dataclass(frozen=True)
class Inference:
    """The reply to ``infer N W%``: cycles per timed run, per-op cycles, the output."""

    run_cycles: tuple[int, ...]  # wraps already undone
    ops: tuple[OpSample, ...]
    results: tuple[int, ...]  # raw int8 output values (at most the first 256)
    output_bytes: int
    output_crc32: str  # 8 uppercase hex digits


@dataclass(frozen=True)
class LapInference:
    """``infer N W%`` timed by EEMBC's ``m-lap-us`` lines alone (any EEMBC-compatible board)."""

    runs: int
    elapsed_us: int  # between the two m-lap-us lines (mod 2**32), all N runs
    results: tuple[float, ...]  # as the board printed them (MLPerf: dequantised floats)

    @property
    def latency_ms(self) -> float:
        """Mean time per run (on a tinynas board it includes printing the per-run lines)."""
        return self.elapsed_us / self.runs / 1000.0


@dataclass(frozen=True)
class UploadStats:
    """How a model upload went."""

    model_bytes: int
    crc32: str
    chunk_bytes: int
    frames: int
    retries: int  # frames sent again after a NAK or a missing ack
    seconds: float  # from the `model` command to the last frame's ack
    model_in: str  # "ram" or "flash"

    @property
    def bytes_per_s(self) -> float:
        """Model bytes per second of the transfer."""
        return self.model_bytes / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class ArenaInfo:
    """The board's answer to ``arena%``."""

    used_bytes: int
    available_bytes: int
    model_bytes: int
    model_in: str


@dataclass(frozen=True)
class OpProfile:
    """One op of the model: median cycles over the timed runs, and that in milliseconds."""

    index: int
    op: str
    cycles: float
    latency_ms: float


@dataclass(frozen=True)
class ProfileResult:
    """Latency, arena and output check of one model on one board (or emulated board)."""

    model_path: str
    model_bytes: int
    model_crc32: str
    port: str
    board: BoardInfo
    runs: int
    warmup: int
    input: str  # "random:SEED" or "zeros" (PROTOCOL.md section 4)
    run_latency_ms: tuple[float, ...]
    ops: tuple[OpProfile, ...]
    arena: ArenaInfo
    output_crc32: str  # the board's
    host_output_crc32: str  # the TFLM interpreter's on this machine, same model and input
    upload: UploadStats

    @property
    def source(self) -> str:
        """``"measured"`` on a board, ``"emulated"`` on the emulated board."""
        return self.board.source

    @property
    def latency_ms(self) -> float:
        """Median latency of the timed runs."""
        return statistics.median(self.run_latency_ms)

    @property
    def min_latency_ms(self) -> float:
        return min(self.run_latency_ms)

    @property
    def max_latency_ms(self) -> float:
        return max(self.run_latency_ms)

    @property
    def output_matches(self) -> bool:
        """Whether the board's output equals the host TFLM's, byte for byte (CRC32)."""
        return self.output_crc32 == self.host_output_crc32

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data, with the provenance of every figure."""
        data = asdict(self)
        data["ops"] = [asdict(op) for op in self.ops]
        data.update(
            source=self.source,
            latency_ms=self.latency_ms,
            min_latency_ms=self.min_latency_ms,
            max_latency_ms=self.max_latency_ms,
            output_matches=self.output_matches,
            upload_bytes_per_s=self.upload.bytes_per_s,
            provenance=self._provenance(),
        )
        return data

    @property
    def counts_instructions(self) -> bool:
        """Whether the board's counters count instructions (QEMU), not cycles: its "latency"
        is then instructions at a nominal clock, not a time."""
        return self.board.counts == "instructions"

    def _provenance(self) -> dict[str, str]:
        where = f"{self.source} on {self.board.board}"
        if self.counts_instructions:
            where += (f" (instructions, at a nominal {self.board.clock_hz:,} Hz: "
                      f"{self.board.latency_source})")
        elif self.board.emulated:
            where += f" (cycles from its latency model: {self.board.latency_source})"
        return {
            "latency_ms": where,
            "ops": where,
            "arena": f"reported by the board ({self.board.runtime})",
            "output_crc32": f"reported by the board ({self.board.runtime})",
            "host_output_crc32": "computed: TFLM interpreter on this machine, same input",
            "upload": "measured on this machine (wall clock)",
            "board": "reported by the board (info%)",
        }
