"""Random-weight VideoMAE-v2 and V-JEPA checkpoints in the published key layouts, at a tiny width (no downloads)."""

from __future__ import annotations

from pathlib import Path

import torch


def _random(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Non-trivial values: norms near 1, small biases, weights scaled by fan-in."""
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if "norm" in key and key.endswith(".weight"):
            out[key] = 1 + 0.1 * noise
        elif key.endswith("bias"):
            out[key] = 0.1 * noise
        elif len(shape) == 1 or key.endswith(("pos_embed", "query_tokens")):
            out[key] = 0.5 * noise
        else:
            out[key] = noise / torch.tensor(shape[1:]).prod().sqrt()
    return out


def _blocks(depth: int, dim: int, hidden: int, *, split_bias: bool) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(depth):
        b = f"blocks.{i}."
        shapes |= {b + "norm1.weight": (dim,), b + "norm1.bias": (dim,)}
        shapes |= (
            {b + "attn.q_bias": (dim,), b + "attn.v_bias": (dim,)} if split_bias else {b + "attn.qkv.bias": (3 * dim,)}
        )
        shapes |= {
            b + "attn.qkv.weight": (3 * dim, dim),
            b + "attn.proj.weight": (dim, dim),
            b + "attn.proj.bias": (dim,),
            b + "norm2.weight": (dim,),
            b + "norm2.bias": (dim,),
            b + "mlp.fc1.weight": (hidden, dim),
            b + "mlp.fc1.bias": (hidden,),
            b + "mlp.fc2.weight": (dim, hidden),
            b + "mlp.fc2.bias": (dim,),
        }
    return shapes


def save_random_videomae(path: Path, *, dim: int = 16, depth: int = 2, seed: int = 0) -> Path:
    """vit_g_hybrid_pt_1200e_ssv2_ft.pth's layout ({'module': state_dict}, patch 14, tubelet 2, SSv2 head) at width
    ``dim``."""
    shapes = {"patch_embed.proj.weight": (dim, 3, 2, 14, 14), "patch_embed.proj.bias": (dim,)}
    shapes |= _blocks(depth, dim, 4 * dim, split_bias=True)
    shapes |= {"fc_norm.weight": (dim,), "fc_norm.bias": (dim,), "head.weight": (174, dim), "head.bias": (174,)}
    torch.save({"module": _random(shapes, seed)}, path)
    return path


def save_random_vjepa(folder: Path, *, dim: int = 16, depth: int = 2, seed: int = 0) -> tuple[Path, Path]:
    """vith16.pth.tar and ssv2-probe.pth.tar layouts (patch 16, tubelet 2, 16 frames at 224) at width ``dim``."""
    shapes = {
        "patch_embed.proj.weight": (dim, 3, 2, 16, 16),
        "patch_embed.proj.bias": (dim,),
        "pos_embed": (1, 8 * 14 * 14, dim),
    }
    shapes |= _blocks(depth, dim, 4 * dim, split_bias=False) | {"norm.weight": (dim,), "norm.bias": (dim,)}
    encoder = {"module.backbone." + k: v for k, v in _random(shapes, seed).items()}
    c = "pooler.cross_attention_block."
    probe_shapes = {
        "pooler.query_tokens": (1, 1, dim),
        c + "norm1.weight": (dim,),
        c + "norm1.bias": (dim,),
        c + "xattn.q.weight": (dim, dim),
        c + "xattn.q.bias": (dim,),
        c + "xattn.kv.weight": (2 * dim, dim),
        c + "xattn.kv.bias": (2 * dim,),
        c + "xattn.proj.weight": (dim, dim),
        c + "xattn.proj.bias": (dim,),
        c + "norm2.weight": (dim,),
        c + "norm2.bias": (dim,),
        c + "mlp.fc1.weight": (4 * dim, dim),
        c + "mlp.fc1.bias": (4 * dim,),
        c + "mlp.fc2.weight": (dim, 4 * dim),
        c + "mlp.fc2.bias": (dim,),
        "linear.weight": (174, dim),
        "linear.bias": (174,),
    }
    probe = {"module." + k: v for k, v in _random(probe_shapes, seed + 1).items()}
    encoder_path, probe_path = folder / "vith16.pth.tar", folder / "ssv2-probe.pth.tar"
    torch.save({"target_encoder": encoder, "encoder": encoder, "epoch": 300}, encoder_path)
    torch.save({"classifier": probe, "epoch": 20}, probe_path)
    return encoder_path, probe_path


def random_clips(count: int, *, seed: int, frames: int = 16, size: tuple[int, int] = (36, 64), bright: float = 0.0):
    """Smooth random uint8 clips [count, frames, H, W, 3]: blurred noise drifting in time (+ ``bright`` levels)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = rng.normal(128, 40, (count, 1, 9, 16, 3)) + np.cumsum(rng.normal(0, 8, (count, frames, 9, 16, 3)), axis=1)
    up = torch.nn.functional.interpolate(
        torch.tensor(base).permute(0, 4, 1, 2, 3), size=(frames, *size), mode="trilinear"
    )
    return np.clip(up.permute(0, 2, 3, 4, 1).numpy() + bright, 0, 255).astype(np.uint8)
