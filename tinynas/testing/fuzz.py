"""Seeded damage to ``.tflite`` files: the fuzz tests' and ``benchmarks/fuzz_models.py``'s.

A :class:`Mutation` is one flipped bit, one overwritten byte, or a truncation, at a position of
the file; :func:`mutations` draws them from a seed, so a run is repeatable and a failing variant
is named by its label (``flip@37303.1``, ``byte@25352=107``, ``truncate@20000``) and rebuilt
with :meth:`Mutation.parse`. Most of a model file is weights, where damage changes numbers but
not structure, so half the positions (``structure_share``) are drawn from the bytes outside the
constant buffers' data: tables, vtables, shapes, indices, quantisation, options.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

KINDS = ("flip", "byte", "truncate")
_WEIGHTS = (5, 3, 2)  # flips, overwritten bytes, truncations
_LABEL = re.compile(r"(flip|byte|truncate)@(\d+)(?:[.=](\d+))?")


@dataclass(frozen=True)
class Mutation:
    """One change to a file: ``flip`` bit `value` of byte `position`, set byte `position` to
    ``byte`` `value`, or ``truncate`` the file to its first `position` bytes."""

    kind: str
    position: int
    value: int = 0

    def apply(self, data: bytes) -> bytes:
        if self.kind == "truncate":
            return data[: self.position]
        out = bytearray(data)
        if self.kind == "flip":
            out[self.position] ^= 1 << self.value
        else:
            out[self.position] = self.value
        return bytes(out)

    @property
    def label(self) -> str:
        if self.kind == "flip":
            return f"flip@{self.position}.{self.value}"
        if self.kind == "byte":
            return f"byte@{self.position}={self.value}"
        return f"truncate@{self.position}"

    @classmethod
    def parse(cls, label: str) -> Mutation:
        """The mutation of a :attr:`label`."""
        match = _LABEL.fullmatch(label)
        if match is None:
            raise ValueError(f"not a mutation label: {label!r}")
        return cls(match[1], int(match[2]), int(match[3] or 0))


def structure_ranges(data: bytes) -> list[tuple[int, int]]:
    """[start, end) byte ranges of a valid model outside its constant buffers' data."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    weights = []
    for i in range(model.BuffersLength()):
        table = model.Buffers(i)._tab  # the flatbuffers Table under the generated accessor
        field = table.Offset(4)  # Buffer.data
        if field:
            start = table.Vector(field)
            weights.append((start, start + table.VectorLen(field)))
    ranges, at = [], 0
    for start, end in sorted(weights):
        if start > at:
            ranges.append((at, start))
        at = max(at, end)
    if at < len(data):
        ranges.append((at, len(data)))
    return ranges


def mutations(data: bytes, count: int, seed: int, structure_share: float = 0.5
              ) -> list[Mutation]:  # fmt: skip
    """`count` seeded mutations of the valid model `data` (see the module's docstring)."""
    rng = random.Random(seed)
    ranges = structure_ranges(data)
    total = sum(end - start for start, end in ranges)
    out = []
    for _ in range(count):
        kind = rng.choices(KINDS, _WEIGHTS)[0]
        if kind == "truncate":
            out.append(Mutation(kind, rng.randrange(8, len(data))))
            continue
        position = rng.randrange(len(data))
        if rng.random() < structure_share and total:
            position = _nth_byte(ranges, rng.randrange(total))
        value = rng.randrange(8) if kind == "flip" else rng.randrange(256)
        out.append(Mutation(kind, position, value))
    return out


def _nth_byte(ranges: list[tuple[int, int]], n: int) -> int:
    for start, end in ranges:
        if n < end - start:
            return start + n
        n -= end - start
    raise IndexError(n)
