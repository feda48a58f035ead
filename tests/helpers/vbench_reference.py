"""The vbench package (0.1.5) as the reference, with random weights in the real file formats and test videos."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import packaging.version
import pytest
import torch
from PIL import Image


def import_vbench(module: str) -> types.ModuleType:
    """``vbench.<module>``, skipping the test where vbench (or openai-clip, which it imports) is not installed.

    openai-clip imports ``packaging`` through ``pkg_resources``, which setuptools >= 81 no longer has; the same
    ``packaging`` module stands in for it.
    """
    stand_in = "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None
    if stand_in:  # only while clip is imported: other code must still see that there is no pkg_resources
        sys.modules["pkg_resources"] = types.SimpleNamespace(packaging=packaging)
    try:
        pytest.importorskip("clip", reason="openai-clip (pip install --no-deps openai-clip) is vbench's CLIP")
    finally:
        if stand_in:
            del sys.modules["pkg_resources"]
    return pytest.importorskip(
        f"vbench.{module}", reason="vbench 0.1.5 (pip install --no-deps vbench) is the reference"
    )


def save_random_openai_clip(path: Path, *, patch: int, embed_dim: int, width: int = 64, layers: int = 2) -> Path:
    """A small random CLIP in OpenAI's released form: a traced TorchScript archive of clip.model.CLIP in float16,
    with the published names (224-pixel input, ``patch`` size, one head per 64 channels)."""
    clip_model = import_vbench("background_consistency").clip.model
    torch.manual_seed(0)
    model = clip_model.CLIP(embed_dim, 224, layers, width, patch, 8, 16, 64, 1, 1).eval()
    for block in model.visual.transformer.resblocks:  # non-trivial biases, like trained weights
        torch.nn.init.normal_(block.attn.in_proj_bias, std=0.02)
    example = (torch.zeros(1, 3, 224, 224), torch.zeros(1, 8, dtype=torch.long))
    torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))
    return path


def write_gif(path: Path, frames: np.ndarray) -> Path:
    """A GIF video (VBench's load_video reads .gif with PIL); frames are palette-quantised on the way."""
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def read_video(path: Path) -> np.ndarray:
    """The uint8 [T, H, W, 3] frames VBench reads from the file."""
    load_video = import_vbench("utils").load_video
    return load_video(str(path)).permute(0, 2, 3, 1).numpy().astype(np.uint8)


DINO_TINY = {"patch_size": 16, "embed_dim": 64, "depth": 2, "num_heads": 1}  # ViT-B/16's layout, 64 wide


def save_random_dino(path: Path, seed: int = 0) -> Path:
    """DINO's ViT state_dict names and shapes (dino_vitbase16_pretrain.pth's layout at 64 channels, 2 blocks)."""
    from tests.helpers.metric_weights import random_state

    dim, hidden = DINO_TINY["embed_dim"], 4 * DINO_TINY["embed_dim"]
    shapes: dict[str, tuple[int, ...]] = {
        "cls_token": (1, 1, dim),
        "pos_embed": (1, 197, dim),
        "patch_embed.proj.weight": (dim, 3, 16, 16),
        "patch_embed.proj.bias": (dim,),
        "norm.weight": (dim,),
        "norm.bias": (dim,),
    }
    for i in range(DINO_TINY["depth"]):
        for name, shape in {
            "norm1.weight": (dim,),
            "norm1.bias": (dim,),
            "norm2.weight": (dim,),
            "norm2.bias": (dim,),
            "attn.qkv.weight": (3 * dim, dim),
            "attn.qkv.bias": (3 * dim,),
            "attn.proj.weight": (dim, dim),
            "attn.proj.bias": (dim,),
            "mlp.fc1.weight": (hidden, dim),
            "mlp.fc1.bias": (hidden,),
            "mlp.fc2.weight": (dim, hidden),
            "mlp.fc2.bias": (dim,),
        }.items():
            shapes[f"blocks.{i}.{name}"] = shape
    state = random_state(shapes, seed)
    for name in state:  # layer norms scale around 1, as trained ones do
        if name.endswith(("norm1.weight", "norm2.weight", "norm.weight")):
            state[name] = state[name] + 1
    torch.save(state, path)
    return path


def subject_videos(folder: Path) -> list[Path]:
    """A non-square panning clip, the same with a frame of noise, and a square one (no position resizing)."""
    from tests.helpers.flow_clips import panned

    moving = panned(0, 5, (40, 56), (3, 1))
    noisy = moving.copy()
    noisy[2] = np.random.default_rng(0).integers(0, 256, noisy[2].shape, dtype=np.uint8)
    square = panned(1, 4, (48, 48), (0, 2))
    return [write_gif(folder / f"{n}.gif", v) for n, v in (("moving", moving), ("noisy", noisy), ("square", square))]


def save_random_raft(path: Path, seed: int = 0) -> Path:
    """RAFT's raft-things.pth layout (``module.`` prefixes, batch-norm statistics), random values."""
    from kfbench.metrics.vbench.raft import Raft
    from tests.helpers.metric_weights import random_state

    with torch.device("meta"):
        layout = Raft().state_dict()
    shapes = {f"module.{k}": tuple(v.shape) for k, v in layout.items() if not k.endswith("num_batches_tracked")}
    state = random_state(shapes, seed)
    for name in state:
        if name.endswith("running_var"):
            state[name] = state[name].abs() + 0.5
    state.update({f"module.{k}": torch.tensor(0) for k in layout if k.endswith("num_batches_tracked")})
    torch.save(state, path)
    return path


def read_with_cv2(path: Path) -> np.ndarray:
    """The RGB frames cv2 decodes from a video, as vbench's DynamicDegree and MotionSmoothness read them."""
    import cv2

    video, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    video.release()
    return np.stack(frames)


MUSIQ_TINY = {"width": 128, "depth": 2, "hidden": 256}  # the published layout (384, 14, 1152) at 2 heads, 2 blocks


def save_random_musiq(path: Path, seed: int = 0) -> Path:
    """pyiqa's MUSIQ state_dict layout (musiq_spaq_ckpt-358bb6af.pth's names at MUSIQ_TINY's sizes), random values:
    norms around 1, embeddings and the head large enough that positions, scales and frames change the score, the
    head's bias at 50 (SPAQ's 0-100 scale)."""
    from kfbench.metrics.vbench.musiq import Musiq
    from tests.helpers.metric_weights import random_state

    with torch.device("meta"):
        layout = Musiq(**MUSIQ_TINY).state_dict()
    state = random_state({k: tuple(v.shape) for k, v in layout.items()}, seed)
    for name in state:
        if name.endswith(".weight") and name.split(".")[-2].startswith(("gn", "norm", "encoder_norm")):
            state[name] = state[name] + 1  # layer and group norms scale around 1
        elif name.endswith(("position_emb", "scale_emb", "cls")):
            state[name] = state[name] * 10
    state["head.weight"] = state["head.weight"] * 100
    state["head.bias"] = torch.tensor([50.0])
    torch.save(state, path)
    return path
