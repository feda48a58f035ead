"""What a training run is: its options, saved beside the checkpoints so that --resume continues the same run."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from kfbench.errors import KfbenchError
from kfbench.methods.svd.loading import DEFAULT_CHECKPOINT_BASE

Variant = Literal["ours", "wo-ra"]
MixedPrecision = Literal["auto", "no", "fp16", "bf16"]

# The release's optimiser: AdamW, constant learning rate, gradient norm clipped to 1.
LEARNING_RATE, BETAS, WEIGHT_DECAY, MAX_GRAD_NORM = 1e-4, (0.9, 0.999), 1e-2, 1.0


@dataclass(frozen=True)
class TrainConfig:
    variant: Variant
    videos: str
    out: str
    model: str = DEFAULT_CHECKPOINT_BASE
    max_steps: int = 15000
    height: int = 576
    width: int = 1024
    num_frames: int = 14
    stride: int = 2
    batch_size: int = 1
    gradient_accumulation: int = 1
    learning_rate: float = LEARNING_RATE
    mixed_precision: MixedPrecision = "auto"
    gradient_checkpointing: bool = True
    checkpoint_every: int = 500
    validate_every: int = 500
    holdout: int = 0
    validation_steps: int = 25
    seed: int = 0
    device: str | None = None

    # Changing these between a run and its resumption would not continue the same run.
    RESUME_KEYS = (
        "variant",
        "model",
        "height",
        "width",
        "num_frames",
        "stride",
        "batch_size",
        "gradient_accumulation",
        "learning_rate",
        "holdout",
        "seed",
    )

    def check(self) -> None:
        if self.height % 8 or self.width % 8 or not (8 <= self.height <= 16384 and 8 <= self.width <= 16384):
            raise KfbenchError(
                f"--height and --width must be multiples of 8 within 8..16384, got {self.height}x{self.width}"
            )
        minimum = {
            "max_steps": 1,
            "batch_size": 1,
            "gradient_accumulation": 1,
            "checkpoint_every": 1,
            "validate_every": 1,
            "validation_steps": 1,
            "num_frames": 2,
            "stride": 1,
            "holdout": 0,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise KfbenchError(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(self, name)}")
        if not 0 < self.learning_rate < math.inf:
            raise KfbenchError(f"--learning-rate must be a positive number, got {self.learning_rate}")

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    def check_resumable(self, path: Path) -> None:
        """The run in ``path`` (its config.json) must be the same run as this one."""
        saved = json.loads(path.read_text())
        changed = [
            f"--{k.replace('_', '-')} {saved.get(k)} -> {getattr(self, k)}"
            for k in self.RESUME_KEYS
            if saved.get(k) != _jsonable(getattr(self, k))
        ]
        if changed:
            raise KfbenchError(
                f"--resume continues the run in {path.parent} but these options changed: {'; '.join(changed)}"
            )


def _jsonable(value):
    return json.loads(json.dumps(value))
