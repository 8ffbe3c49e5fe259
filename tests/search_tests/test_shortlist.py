import pytest

from tinynas.search._shortlist import diverse_shortlist, family
from tinynas.space import Architecture, Pooling
from tinynas.store import CandidateRecord, CandidateStatus
from tinynas.testing.archs import conv, dw, serial


def _arch(filters: int, kernel: int = 3, stride: int = 1, units: int = 16) -> Architecture:
    return Architecture((28, 28, 1), 10, (serial(conv(filters, kernel, stride), dw(3)),),
                        Pooling("avg", 2), (units,))


def _record(i: int, arch: Architecture, score: float) -> CandidateRecord:
    return CandidateRecord(i, arch.content_hash, arch.to_json(), CandidateStatus.SCORED, None,
                           scores={"m": score})


def test_family_ignores_widths_kernels_and_pool_size_but_not_topology():
    base = _arch(8)
    assert family(_arch(32, kernel=5, units=64)) == family(base)
    assert family(Architecture(base.input_shape, 10, base.blocks, Pooling("avg", 4), (16,))) \
        == family(base)
    assert family(_arch(8, stride=2)) != family(base)
    assert family(Architecture(base.input_shape, 10, base.blocks, Pooling("max", 2), (16,))) \
        != family(base)
    assert family(Architecture(base.input_shape, 10, base.blocks, base.pooling, ())) != family(base)


def test_shortlist_takes_the_best_of_each_family_before_a_second_of_any():
    records = [_record(1, _arch(8), 9.0), _record(2, _arch(9), 8.0), _record(3, _arch(10), 7.0),
               _record(4, _arch(8, stride=2), 5.0), _record(5, _arch(8, units=32), 6.0)]
    assert [r.id for r in diverse_shortlist(records, "m", 2)] == [1, 4]
    # when the families run out the rest follow in score order
    assert [r.id for r in diverse_shortlist(records, "m", 4)] == [1, 4, 2, 3]
    assert [r.id for r in diverse_shortlist(records, "m", 10)] == [1, 4, 2, 3, 5]


def _sized(i: int, arch: Architecture, score: float, macs: int) -> CandidateRecord:
    record = _record(i, arch, score)
    return CandidateRecord(record.id, record.hash, record.arch_json, record.status, None,
                           scores=record.scores, estimates={"macs": macs})


def _in_family(filters: int, variant: int) -> Architecture:
    """Architectures of four families (stride 1 or 2, one or two dense layers)."""
    stride, dense = (1, 2)[variant % 2], ((16,), (16, 16))[variant // 2]
    return Architecture((28, 28, 1), 10, (serial(conv(filters, 3, stride), dw(3)),),
                        Pooling("avg", 2), dense)


def test_capacity_picks_take_the_most_macs_above_the_median_score():
    records = [
        _sized(1, _in_family(8, 0), 9.0, 1_000),
        _sized(2, _in_family(8, 1), 8.0, 2_000),
        _sized(3, _in_family(64, 2), 7.0, 90_000),  # the most MACs above the median score
        _sized(4, _in_family(32, 3), 6.9, 50_000),
        _sized(5, _in_family(96, 3), 1.0, 500_000),  # the most MACs, but scored below it
        _sized(6, _in_family(48, 2), 6.8, 80_000),  # below the median (6.9)
        _sized(7, _in_family(4, 0), 0.5, 100),
    ]
    assert [r.id for r in diverse_shortlist(records, "m", 3, capacity=1)] == [1, 2, 3]
    assert [r.id for r in diverse_shortlist(records, "m", 3, capacity=2)] == [1, 3, 4]
    # median 6.9: candidate 6 is below it, so 2 takes the third capacity slot
    assert [r.id for r in diverse_shortlist(records, "m", 4, capacity=3)] == [1, 3, 4, 2]
    assert [r.id for r in diverse_shortlist(records, "m", 2)] == [1, 2]  # by score alone
    assert [r.id for r in diverse_shortlist(records, "m", 2, capacity=1)] == [1, 3]


def test_capacity_slots_that_cannot_be_filled_go_to_the_next_by_score():
    records = [_sized(1, _in_family(8, 0), 9.0, 10), _sized(2, _in_family(8, 1), 8.0, 20)]
    # median 8.5: only candidate 1 can be a capacity pick; 2 fills the slot left
    assert [r.id for r in diverse_shortlist(records, "m", 2, capacity=2)] == [1, 2]
    assert [r.id for r in diverse_shortlist(records[:1], "m", 3, capacity=1)] == [1]
    with pytest.raises(ValueError, match="capacity picks must be 0..2"):
        diverse_shortlist(records, "m", 2, capacity=3)


def test_capacity_picks_take_one_network_per_family_first():
    records = [
        _sized(1, _in_family(8, 0), 9.0, 1_000),
        _sized(2, _in_family(64, 2), 8.0, 90_000),
        _sized(3, _in_family(60, 2), 7.9, 80_000),  # second of 2's family
        _sized(4, _in_family(16, 3), 7.8, 10_000),
        *(_sized(5 + i, _in_family(4, 1), 0.1 * (i + 1), 10) for i in range(3)),
    ]
    assert [r.id for r in diverse_shortlist(records, "m", 3, capacity=2)] == [1, 2, 4]
    assert [r.id for r in diverse_shortlist(records, "m", 4, capacity=3)] == [1, 2, 4, 3]
