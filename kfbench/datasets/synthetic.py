"""Procedural clips of textured shapes over a textured background, with known motion.

Each pair is generated from (seed, index) alone, so any size and length is deterministic.
Motion kinds: translation, rotation, scale, occlusion (two shapes crossing), or mixed (cycling).
The exact motion parameters of every shape are recorded in the pair's metadata.

``gaps`` (e.g. "5,9,17") makes a gap-length sweep: each scene gives one pair per gap, ids
``synthetic-<seed>-<index>-g<gap>``, all starting at the scene's frame 0 and moving at the speed of the
``num_frames``-frame clip (frame k at time k / (num_frames - 1)), so a pair of g frames spans (g - 1) / (num_frames - 1)
of the scene's unit of motion and its known displacement grows with g (past 1 the motion is extrapolated linearly).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import cv2
import numpy as np

from kfbench.datasets.pairrule import parse_gaps
from kfbench.errors import KfbenchError
from kfbench.interfaces import Pair, PairDataset
from kfbench.utils.imageops import stack_frames

Motion = Literal["mixed", "translation", "rotation", "scale", "occlusion"]
_KINDS = ("translation", "rotation", "scale", "occlusion")


@dataclass
class ShapeMotion:
    """An affine trajectory in pixels and degrees over normalised time t in [0, 1]."""

    kind: str
    center0: tuple[float, float]
    velocity: tuple[float, float]
    angle0: float
    angular_velocity: float
    scale0: float
    scale_rate: float
    radius: float

    def at(self, t: float) -> tuple[tuple[float, float], float, float]:
        cx = self.center0[0] + self.velocity[0] * t
        cy = self.center0[1] + self.velocity[1] * t
        return (cx, cy), self.angle0 + self.angular_velocity * t, self.scale0 * (1 + self.scale_rate * t)


class SyntheticDataset(PairDataset):
    """Deterministic textured shapes with translation, rotation, scaling and occlusion."""

    def __init__(
        self,
        *,
        num_pairs: int = 4,
        num_frames: int = 25,
        height: int = 64,
        width: int = 96,
        motion: Motion = "mixed",
        scene_seed: int = 0,
        gaps: str | None = None,
    ) -> None:
        if num_pairs < 1 or num_frames < 2 or height < 16 or width < 16:
            raise KfbenchError("synthetic: need num_pairs >= 1, num_frames >= 2, height and width >= 16")
        if motion not in ("mixed",) + _KINDS:
            raise KfbenchError(f"synthetic: motion must be one of mixed, {', '.join(_KINDS)}; got '{motion}'")
        self.num_pairs, self.num_frames = num_pairs, num_frames
        self.height, self.width = height, width
        self.motion, self.scene_seed = motion, scene_seed
        self.gaps = parse_gaps(gaps)
        scenes = [f"synthetic-{scene_seed}-{i:04d}" for i in range(num_pairs)]
        self._pairs = (
            {f"{scene}-g{gap}": (i, gap) for i, scene in enumerate(scenes) for gap in self.gaps}
            if self.gaps
            else {scene: (i, num_frames) for i, scene in enumerate(scenes)}
        )

    def pair_ids(self) -> list[str]:
        return list(self._pairs)

    def load(self, pair_id: str) -> Pair:
        if pair_id not in self._pairs:
            raise KfbenchError(f"synthetic: no pair '{pair_id}'")
        index, length = self._pairs[pair_id]
        rng = np.random.default_rng([self.scene_seed, index])
        kind = _KINDS[index % len(_KINDS)] if self.motion == "mixed" else self.motion
        background = _texture(rng, self.height * 2, self.width * 2, 8, rng.uniform(90, 160, 3).astype(np.float32))
        bg_velocity = _background_velocity(rng, kind, self.width)
        shapes = _shapes(rng, kind, self.height, self.width)
        sprites = [(_texture(rng, 64, 64, 4, _vivid(rng)), _mask(rng)) for _ in shapes]
        times = np.linspace(0.0, (length - 1) / (self.num_frames - 1), length)
        clip = stack_frames((self._render(t, background, bg_velocity, shapes, sprites) for t in times), len(times))
        meta = {
            "source": "synthetic",
            "motion": kind,
            "frame_indices": list(range(length)),
            "fps": 7.0,
            "num_frames": length,
            "background_velocity": list(bg_velocity),
            "shapes": [asdict(s) for s in shapes],
        }
        return Pair(pair_id, clip[0].copy(), clip[-1].copy(), clip, meta)

    def _render(self, t, background, bg_velocity, shapes, sprites) -> np.ndarray:
        h, w = self.height, self.width
        shift = np.float32([[1, 0, -w / 2 + bg_velocity[0] * t], [0, 1, -h / 2 + bg_velocity[1] * t]])
        frame = cv2.warpAffine(background, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        frame = frame.astype(np.float32)
        for shape, (texture, mask) in zip(shapes, sprites):
            center, angle, scale = shape.at(t)
            size = texture.shape[0]
            matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale * 2 * shape.radius / size)
            matrix[:, 2] += np.array(center) - size / 2
            layer = cv2.warpAffine(texture, matrix, (w, h), flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR)[..., None]
            frame = alpha * layer + (1 - alpha) * frame
        return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def _texture(rng: np.random.Generator, h: int, w: int, cells: int, tint: np.ndarray) -> np.ndarray:
    """Smooth texture: ``cells`` x ``cells`` noise upsampled, plus stripes, around a base colour."""
    coarse = rng.uniform(-60, 60, size=(cells, cells, 3)).astype(np.float32)
    tex = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    freq, phase, direction = rng.uniform(0.15, 0.35), rng.uniform(0, 2 * np.pi), rng.uniform(0, np.pi)
    stripes = 30 * np.sin(freq * (xx * np.cos(direction) + yy * np.sin(direction)) + phase)
    return np.clip(tint + tex + stripes[..., None], 0, 255).astype(np.float32)


def _vivid(rng: np.random.Generator) -> np.ndarray:
    """A saturated base colour, so shapes stand out from the muted background."""
    colour = np.full(3, 40.0, np.float32)
    colour[rng.integers(3)] = 230.0
    colour[rng.integers(3)] += 120.0
    return np.clip(colour, 0, 255)


def _mask(rng: np.random.Generator) -> np.ndarray:
    """A soft-edged ellipse, rectangle or triangle on a 64x64 canvas."""
    mask = np.zeros((64, 64), np.float32)
    kind = rng.integers(3)
    if kind == 0:
        cv2.ellipse(mask, (32, 32), (30, int(rng.integers(16, 30))), 0, 0, 360, 1.0, -1)
    elif kind == 1:
        cv2.rectangle(mask, (4, int(rng.integers(4, 20))), (60, int(rng.integers(44, 60))), 1.0, -1)
    else:
        cv2.fillPoly(mask, [np.array([[32, 2], [62, 60], [2, 60]], np.int32)], 1.0)
    return cv2.GaussianBlur(mask, (3, 3), 0)


def _background_velocity(rng: np.random.Generator, kind: str, width: int) -> tuple[float, float]:
    speed = width * (0.08 if kind == "translation" else 0.04)
    angle = rng.uniform(0, 2 * np.pi)
    return float(speed * np.cos(angle)), float(speed * np.sin(angle))


def _shapes(rng: np.random.Generator, kind: str, h: int, w: int) -> list[ShapeMotion]:
    radius = min(h, w) * 0.22
    if kind == "occlusion":
        y = h / 2
        return [
            ShapeMotion(kind, (w * 0.2, y - radius * 0.3), (w * 0.6, 0.0), 0.0, 0.0, 1.0, 0.0, radius),
            ShapeMotion(kind, (w * 0.8, y + radius * 0.3), (-w * 0.6, 0.0), 0.0, 0.0, 1.0, 0.0, radius),
        ]
    center = (float(rng.uniform(0.35, 0.45) * w), float(rng.uniform(0.4, 0.6) * h))
    if kind == "translation":
        return [ShapeMotion(kind, center, (w * 0.12, float(rng.uniform(-0.08, 0.08) * h)), 0.0, 0.0, 1.0, 0.0, radius)]
    if kind == "rotation":
        return [ShapeMotion(kind, center, (0.0, 0.0), 0.0, float(rng.uniform(60, 120)), 1.0, 0.0, radius * 1.3)]
    return [ShapeMotion(kind, center, (0.0, 0.0), 0.0, 0.0, 0.7, float(rng.uniform(0.6, 0.9)), radius)]
