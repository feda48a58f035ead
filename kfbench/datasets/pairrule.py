"""The one pair rule every clip dataset uses.

A pair spans ``num_frames`` frames taken every ``frame_stride`` source frames: keyframes at s and
s + (num_frames - 1) * frame_stride, ground truth the frames between them at that stride. Each
source is cut into back-to-back, non-overlapping windows from frame 0. When ``num_pairs`` is set,
windows are taken round by round (every source's first window, then every second window, ...);
in the round that would overshoot, the sources are picked evenly spaced in name order
(index floor(i * m / k) of the m candidates for the k pairs still wanted). The selection depends
only on the sorted source names and their frame counts.

A gap-length sweep (``gaps``, e.g. 9,17,25,33,49) cuts pairs of several lengths from the same clips: each
chosen source gives, from frame 0, one pair per gap whose span it holds (nested windows, so the pairs of
one clip differ only in how far apart their keyframes are). ``num_pairs`` then counts sources, picked
evenly spaced in name order among those long enough for the smallest gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from kfbench.errors import KfbenchError


@dataclass(frozen=True)
class PairRule:
    num_frames: int = 25
    frame_stride: int = 1
    num_pairs: int | None = None

    def __post_init__(self) -> None:
        if self.num_frames < 2:
            raise KfbenchError(f"num_frames must be at least 2 (the two keyframes), got {self.num_frames}")
        if self.frame_stride < 1:
            raise KfbenchError(f"frame_stride must be at least 1, got {self.frame_stride}")
        if self.num_pairs is not None and self.num_pairs < 1:
            raise KfbenchError(f"num_pairs must be at least 1 (or none for every window), got {self.num_pairs}")

    @property
    def span(self) -> int:
        """Source frames from the first keyframe to the last, both included."""
        return (self.num_frames - 1) * self.frame_stride + 1

    def frame_indices(self, start: int) -> list[int]:
        return list(range(start, start + self.span, self.frame_stride))

    def starts(self, length: int) -> list[int]:
        """Start frames of the non-overlapping windows of a source with ``length`` frames."""
        return list(range(0, length - self.span + 1, self.span))

    def pick(self, names: list[str]) -> list[str]:
        """``num_pairs`` of the candidate names, evenly spaced (all of them when there are not more)."""
        if self.num_pairs is None or len(names) <= self.num_pairs:
            return names
        return [names[i * len(names) // self.num_pairs] for i in range(self.num_pairs)]

    def sweep(self, lengths: dict[str, int], gaps: tuple[int, ...]) -> list[tuple[str, int]]:
        """(source, num_frames) of a gap-length sweep: each picked source's pairs from frame 0, one per gap it holds."""
        spans = {gap: PairRule(gap, self.frame_stride).span for gap in gaps}
        names = self.pick([n for n in sorted(lengths) if lengths[n] >= min(spans.values())])
        return [(name, gap) for name in names for gap in sorted(gaps) if lengths[name] >= spans[gap]]

    def select(self, lengths: dict[str, int]) -> list[tuple[str, int]]:
        """(source, start) of every selected pair, ordered by source name then start."""
        windows = {name: self.starts(lengths[name]) for name in sorted(lengths)}
        chosen: list[tuple[str, int]] = []
        for round_index in range(max((len(w) for w in windows.values()), default=0)):
            candidates = [name for name, starts in windows.items() if len(starts) > round_index]
            if self.num_pairs is not None:
                candidates = PairRule(self.num_frames, self.frame_stride, self.num_pairs - len(chosen)).pick(candidates)
            chosen += [(name, windows[name][round_index]) for name in candidates]
            if self.num_pairs is not None and len(chosen) >= self.num_pairs:
                break
        return sorted(chosen)


def pair_id(source: str, start: int, rule: PairRule) -> str:
    """'<source>_<first keyframe>-<last keyframe>_s<stride>', e.g. 'bear_00000-00024_s1'."""
    return f"{source}_{start:05d}-{start + rule.span - 1:05d}_s{rule.frame_stride}"


def parse_gaps(text: str | None) -> tuple[int, ...] | None:
    """'9,17,25' -> (9, 17, 25): a sweep's gap lengths in frames (keyframes included), each at least 2."""
    if text is None or str(text).strip() == "":
        return None
    try:
        gaps = tuple(sorted({int(g) for g in str(text).split(",") if g.strip()}))
    except ValueError:
        raise KfbenchError(f"gaps takes comma-separated frame counts (e.g. 9,17,25,33,49), got '{text}'") from None
    if not gaps or gaps[0] < 2:
        raise KfbenchError(f"gaps: every gap needs at least 2 frames (the two keyframes), got '{text}'")
    return gaps
