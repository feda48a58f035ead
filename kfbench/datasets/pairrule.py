"""The one pair rule every clip dataset uses.

A pair spans ``num_frames`` frames taken every ``frame_stride`` source frames: keyframes at s and
s + (num_frames - 1) * frame_stride, ground truth the frames between them at that stride. Each
source is cut into back-to-back, non-overlapping windows from frame 0. When ``num_pairs`` is set,
windows are taken round by round (every source's first window, then every second window, ...);
in the round that would overshoot, the sources are picked evenly spaced in name order
(index floor(i * m / k) of the m candidates for the k pairs still wanted). The selection depends
only on the sorted source names and their frame counts.
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

    def select(self, lengths: dict[str, int]) -> list[tuple[str, int]]:
        """(source, start) of every selected pair, ordered by source name then start."""
        windows = {name: self.starts(lengths[name]) for name in sorted(lengths)}
        chosen: list[tuple[str, int]] = []
        for round_index in range(max((len(w) for w in windows.values()), default=0)):
            candidates = [name for name, starts in windows.items() if len(starts) > round_index]
            wanted = len(candidates) if self.num_pairs is None else self.num_pairs - len(chosen)
            if len(candidates) > wanted:
                candidates = [candidates[i * len(candidates) // wanted] for i in range(wanted)]
            chosen += [(name, windows[name][round_index]) for name in candidates]
            if self.num_pairs is not None and len(chosen) >= self.num_pairs:
                break
        return sorted(chosen)


def pair_id(source: str, start: int, rule: PairRule) -> str:
    """'<source>_<first keyframe>-<last keyframe>_s<stride>', e.g. 'bear_00000-00024_s1'."""
    return f"{source}_{start:05d}-{start + rule.span - 1:05d}_s{rule.frame_stride}"
