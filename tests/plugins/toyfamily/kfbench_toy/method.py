"""The toy family: everything kfbench knows about it is declared here, nothing in kfbench names it.

Frame t is the cross-fade plus ``strength`` times a 3x3 convolution of it (one small network, loaded
from a safetensors file or passed in as a component).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from kfbench.bench.flops import count_flops
from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import RandomModel, build_random
from kfbench.errors import KfbenchError
from kfbench.interfaces import Interpolator
from kfbench.registry import create_method


def network() -> torch.nn.Module:
    return torch.nn.Conv2d(3, 3, 3, padding=1)


class ToyBlend(Interpolator):
    tiny_models = "kfbench_toy.method:make_tiny_toy"
    random_weights = "kfbench_toy.method:random_toy_method"
    random_models = "kfbench_toy.method:RANDOM_MODELS"
    flops = "kfbench_toy.method:flops_row"

    def __init__(
        self, network: torch.nn.Module | None = None, *, checkpoint: str | None = None, strength: float = 0.5
    ) -> None:
        super().__init__()
        if network is None:
            if checkpoint is None:
                raise KfbenchError("toy-blend needs --checkpoint (toy/toy.safetensors of kfbench make-tiny-models)")
            network = load_network(checkpoint)
        self.network, self.strength = network.eval(), strength

    def _interpolate(
        self,
        first: np.ndarray,
        last: np.ndarray,
        *,
        num_frames: int,
        seed: int,
        latents: Any,
        prompt: str | None = None,
    ) -> np.ndarray:
        t = torch.tensor(self.output_times(num_frames), dtype=torch.float32)[:, None, None, None]
        a, b = (torch.from_numpy(k).permute(2, 0, 1).float()[None] / 255 for k in (first, last))
        fade = (1 - t) * a + t * b
        with torch.no_grad():
            frames = fade + self.strength * self.network(fade)
        self.stats = {"toy_calls": 1}
        return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def load_network(path: str) -> torch.nn.Module:
    module = network()
    module.load_state_dict(load_file(path))
    return module


def make_tiny_toy(folder: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    path = Path(folder) / "toy" / "toy.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in network().state_dict().items()}, str(path))
    return {"toy": path}


def convert(src: str, dst: Path) -> Path:
    """A 'released' toy checkpoint (a torch state_dict file) -> safetensors."""
    state = torch.load(src, map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(dst))
    return dst


RANDOM_MODELS = {"toy-conv": RandomModel(network, 84, "3x3 convolution, 3 -> 3 channels: 81 weights + 3 biases")}


def random_toy_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    net = build_random(RANDOM_MODELS["toy-conv"], "cpu", torch.float32, seed=seed)
    method = create_method(name, components={"network": net}, **options)
    return Subject(method, net, "toy_calls")


def flops_row(name: str, options: dict[str, Any], num_frames: int) -> dict[str, Any]:
    """One call of the network over every frame at 64x64, counted on the meta device."""
    with torch.device("meta"):
        net, frames = network(), torch.empty(num_frames, 3, 64, 64)
    flops = count_flops(lambda: net(frames))
    return {
        "method": name,
        "network": "conv",
        "calls": 1,
        "flops_per_call": flops.total,
        "flops_per_video": flops.total,
        "flops_per_video_without_attention_matmuls": flops.without_attention,
    }
