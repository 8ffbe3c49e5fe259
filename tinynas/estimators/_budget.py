"""Hard constraints: a candidate over a budget is rejected by the estimators before any tensor
is built. Budgets come from the board (flash and RAM left after its reserves) and may be
tightened by the user (--max-flash, --max-ram, --max-latency) or by μNAS's own figures."""

from __future__ import annotations

from dataclasses import dataclass

from tinynas.devices import Device
from tinynas.estimators._estimate import Estimate


@dataclass(frozen=True)
class Budget:
    """Limits on a candidate; None = unlimited."""

    flash_bytes: int | None = None  # the .tflite file (estimated)
    ram_bytes: int | None = None  # the TFLM arena (estimated)
    latency_ms: float | None = None  # predicted on the board
    unas_peak_bytes: int | None = None  # μNAS's peak-activation figure (for its reference point)
    unas_size_bytes: int | None = None  # μNAS's model-size figure: one byte per parameter

    @classmethod
    def for_device(
        cls,
        device: Device,
        max_flash_bytes: int | None = None,
        max_ram_bytes: int | None = None,
        max_latency_ms: float | None = None,
        max_unas_peak_bytes: int | None = None,
        max_unas_size_bytes: int | None = None,
    ) -> Budget:
        """The board's budgets (its flash and SRAM less the firmware and runtime reserves),
        each tightened by the user's limit where given. The user's limits bound the model
        itself (file size, arena); `tinynas check --max-flash/--max-ram` bound the model plus
        the board's reserves instead."""
        return cls(
            _tighter(device.flash_budget_bytes, max_flash_bytes),
            _tighter(device.ram_budget_bytes, max_ram_bytes),
            max_latency_ms,
            max_unas_peak_bytes,
            max_unas_size_bytes,
        )

    def violations(self, est: Estimate) -> list[str]:
        """Each limit `est` exceeds, as 'what value > limit'."""
        out = []
        if self.flash_bytes is not None and est.flash_bytes > self.flash_bytes:
            out.append(f"flash {est.flash_bytes} B > {self.flash_bytes} B")
        if self.ram_bytes is not None and est.arena_bytes > self.ram_bytes:
            out.append(f"ram {est.arena_bytes} B > {self.ram_bytes} B")
        if self.latency_ms is not None and est.latency_ms is not None \
                and est.latency_ms > self.latency_ms:
            out.append(f"latency {est.latency_ms:.2f} ms > {self.latency_ms} ms")
        if self.unas_peak_bytes is not None and est.unas_peak_bytes > self.unas_peak_bytes:
            out.append(f"μNAS peak {est.unas_peak_bytes} B > {self.unas_peak_bytes} B")
        if self.unas_size_bytes is not None and est.params > self.unas_size_bytes:
            out.append(f"μNAS size {est.params} B > {self.unas_size_bytes} B")
        return out

    def fractions(self, est: Estimate) -> dict[str, float]:
        """Each resource as a fraction of its limit (the binding one is the largest)."""
        out = {}
        if self.flash_bytes:
            out["flash"] = est.flash_bytes / self.flash_bytes
        if self.ram_bytes:
            out["ram"] = est.arena_bytes / self.ram_bytes
        if self.latency_ms and est.latency_ms is not None:
            out["latency"] = est.latency_ms / self.latency_ms
        if self.unas_peak_bytes:
            out["unas_peak"] = est.unas_peak_bytes / self.unas_peak_bytes
        if self.unas_size_bytes:
            out["unas_size"] = est.params / self.unas_size_bytes
        return out


def _tighter(limit: int, user: int | None) -> int:
    return limit if user is None else min(limit, user)
