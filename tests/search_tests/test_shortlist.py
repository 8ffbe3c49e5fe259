from tinynas.search import diverse_shortlist, family
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
    assert family(Architecture(base.input_shape, 10, base.blocks, base.pooling, ())) \
        != family(base)


def test_shortlist_takes_the_best_of_each_family_before_a_second_of_any():
    records = [_record(1, _arch(8), 9.0), _record(2, _arch(9), 8.0), _record(3, _arch(10), 7.0),
               _record(4, _arch(8, stride=2), 5.0), _record(5, _arch(8, units=32), 6.0)]
    assert [r.id for r in diverse_shortlist(records, "m", 2)] == [1, 4]
    # when the families run out the rest follow in score order
    assert [r.id for r in diverse_shortlist(records, "m", 4)] == [1, 4, 2, 3]
    assert [r.id for r in diverse_shortlist(records, "m", 10)] == [1, 4, 2, 3, 5]


def test_equal_scores_go_to_the_older_candidate_whatever_order_the_records_come_in():
    # a resumed run reads scored records before trained ones: the shortlist must not change
    records = [_record(7, _arch(8, stride=2), 5.0), _record(3, _arch(8, stride=2, units=32), 5.0),
               _record(5, _arch(16), 9.0), _record(2, _arch(24), 9.0)]
    for ordering in (records, records[::-1], sorted(records, key=lambda r: r.id)):
        assert [r.id for r in diverse_shortlist(ordering, "m", 2)] == [2, 3]
        assert [r.id for r in diverse_shortlist(ordering, "m", 4)] == [2, 3, 5, 7]


def test_shortlist_passes_over_the_excluded_ids():
    records = [_record(1, _arch(8), 9.0), _record(2, _arch(8, stride=2), 8.0),
               _record(3, _arch(16), 7.0)]
    assert [r.id for r in diverse_shortlist(records, "m", 2, exclude=[1])] == [2, 3]
    assert [r.id for r in diverse_shortlist(records, "m", 3, exclude=[2])] == [1, 3]
    assert diverse_shortlist(records, "m", 0) == []
