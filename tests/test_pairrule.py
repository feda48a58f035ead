"""The shared pair rule: windows, stride, the num_pairs selection and pair ids."""

import pytest

from kfbench.datasets.pairrule import PairRule, pair_id
from kfbench.errors import KfbenchError


def test_windows_are_back_to_back_from_frame_zero():
    rule = PairRule(num_frames=25)
    assert rule.span == 25 and rule.frame_indices(25) == list(range(25, 50))
    assert (
        rule.starts(24) == []
        and rule.starts(25) == [0]
        and rule.starts(74) == [0, 25]
        and rule.starts(75) == [0, 25, 50]
    )


def test_stride_spreads_the_keyframes_and_subsamples_the_ground_truth():
    rule = PairRule(num_frames=5, frame_stride=3)
    assert rule.span == 13 and rule.frame_indices(13) == [13, 16, 19, 22, 25]
    assert rule.starts(30) == [0, 13]
    assert pair_id("bear", 13, rule) == "bear_00013-00025_s3"


def test_every_window_without_a_target():
    lengths = {"b": 60, "a": 30, "short": 10}
    assert PairRule(num_frames=25).select(lengths) == [("a", 0), ("b", 0), ("b", 25)]


def test_target_takes_first_windows_of_all_sources_then_second_windows():
    lengths = {f"s{i}": 100 for i in range(4)} | {"x": 30}
    picked = PairRule(num_frames=25, num_pairs=7).select(lengths)
    # Round 0: all five first windows; round 1 (4 candidates, 2 wanted): s0 and s2 (evenly spaced).
    assert picked == [("s0", 0), ("s0", 25), ("s1", 0), ("s2", 0), ("s2", 25), ("s3", 0), ("x", 0)]


def test_target_below_the_number_of_sources_picks_evenly_spaced_sources():
    lengths = {f"seq{i:03d}": 40 for i in range(150)}
    picked = PairRule(num_pairs=117).select(lengths)
    assert len(picked) == 117 and len({s for s, _ in picked}) == 117
    names = sorted(lengths)
    assert [s for s, _ in picked] == [names[i * 150 // 117] for i in range(117)]
    # Deterministic and independent of dict order.
    assert PairRule(num_pairs=117).select(dict(reversed(list(lengths.items())))) == picked


def test_target_larger_than_all_windows_takes_them_all():
    assert PairRule(num_frames=25, num_pairs=100).select({"a": 80}) == [("a", 0), ("a", 25), ("a", 50)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_frames": 1}, "num_frames must be at least 2"),
        ({"frame_stride": 0}, "frame_stride must be at least 1"),
        ({"num_pairs": 0}, "num_pairs must be at least 1"),
    ],
)
def test_bad_rules_are_clear_errors(kwargs, message):
    with pytest.raises(KfbenchError, match=message):
        PairRule(**kwargs)
