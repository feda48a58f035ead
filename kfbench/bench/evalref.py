"""`kfbench bench --evaluate --reference`: kfbench's per-metric path against the plain reference packages.

On the same compared frames (every pair of the store, loaded as evaluate loads them), in one process (the same
torch threads), each pairing is timed side by side, alternately, ``repeats`` times; the ratio is kfbench's median
over the reference's. The references, called as their users call them:

- PSNR: torchmetrics' ``peak_signal_noise_ratio`` on the clip (float64, per frame), scikit-image's per frame;
- SSIM: torchmetrics' ``structural_similarity_index_measure`` frame by frame (float32; a whole 1080p clip does not
  fit), scikit-image's ``structural_similarity`` (Gaussian window, sigma 1.5; numpy, one thread);
- LPIPS: torchmetrics' LPIPS update (``_lpips_update``, the body of its functional LPIPS) on the same network, in
  batches of kfbench's own (``kfbench.metrics.lpips.CPU_BATCH`` frames) scaled to -1..1;
- FID features: torch-fidelity's ``FeatureExtractorInceptionV3`` (the same weights file) on uint8 batches of
  INCEPTION_BATCH.

LPIPS and FID are timed when their weights file is given (``--lpips-weights``, ``--inception-weights``).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kfbench.bench.device import peak_rss_mb

Frames = list[tuple[np.ndarray, np.ndarray]]  # (generated, truth) uint8 [N, H, W, 3] per pair-run
INCEPTION_BATCH = 32


def compared_frames(store: Path) -> Frames:
    """Every pair-run's compared frames (generated, truth), as evaluate maps them onto the protocol's grid."""
    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.evaluate import RunPairs, load_pairs
    from kfbench.store.runstore import RunStore
    from kfbench.store.sourcedata import SourceData
    from kfbench.utils import progress

    progress.enabled = False
    runs, config = RunStore(store), EvalConfig()
    return [
        (p.grid.generated, p.grid.truth)
        for d in runs.datasets()
        for m in runs.methods(d)
        for p, _ in load_pairs(runs, d, m, config, SourceData(None), RunPairs())
    ]


def as_tensor(frames: np.ndarray, dtype: Any) -> Any:
    import torch

    return torch.from_numpy(frames).permute(0, 3, 1, 2).to(dtype)


def psnr_pairings() -> dict[str, tuple[Callable[[np.ndarray, np.ndarray], Any], ...]]:
    import torch
    from skimage.metrics import peak_signal_noise_ratio as sk_psnr
    from torchmetrics.functional.image import peak_signal_noise_ratio

    from kfbench.metrics.psnr import psnr_per_frame

    def torchmetrics_psnr(a: np.ndarray, b: np.ndarray) -> Any:
        x, y = as_tensor(a, torch.float64), as_tensor(b, torch.float64)
        return peak_signal_noise_ratio(x, y, data_range=255.0, reduction="none", dim=(1, 2, 3))

    def skimage_psnr(a: np.ndarray, b: np.ndarray) -> list[float]:
        return [sk_psnr(y, x, data_range=255) for x, y in zip(a, b)]

    return {"psnr": (psnr_per_frame, torchmetrics_psnr, skimage_psnr)}


def ssim_pairings() -> dict[str, tuple[Callable[[np.ndarray, np.ndarray], Any], ...]]:
    import torch
    from skimage.metrics import structural_similarity
    from torchmetrics.functional.image import structural_similarity_index_measure

    from kfbench.metrics.ssim import ssim_per_frame

    def torchmetrics_ssim(a: np.ndarray, b: np.ndarray) -> list[Any]:
        return [
            structural_similarity_index_measure(
                as_tensor(a[i : i + 1], torch.float32), as_tensor(b[i : i + 1], torch.float32), data_range=255.0
            )
            for i in range(len(a))
        ]

    def skimage_ssim(a: np.ndarray, b: np.ndarray) -> list[float]:
        return [
            structural_similarity(
                x, y, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
            )
            for x, y in zip(a, b)
        ]

    return {"ssim": (ssim_per_frame, torchmetrics_ssim, skimage_ssim)}


def lpips_pairings(backbone: Path) -> dict[str, tuple[Callable[[np.ndarray, np.ndarray], Any], ...]]:
    import torch
    from torchmetrics.functional.image.lpips import _lpips_update

    from kfbench.metrics.lpips import LpipsPerFrame

    ours = LpipsPerFrame(backbone)
    batch = ours.batch_size

    @torch.no_grad()
    def torchmetrics_lpips(a: np.ndarray, b: np.ndarray) -> list[Any]:
        out = []
        for start in range(0, len(a), batch):
            x = as_tensor(a[start : start + batch], torch.float32) / 127.5 - 1
            y = as_tensor(b[start : start + batch], torch.float32) / 127.5 - 1
            out.append(_lpips_update(x, y, ours.model, normalize=False))
        return out

    return {"lpips": (ours, torchmetrics_lpips)}


def inception_pairings(weights: Path) -> dict[str, tuple[Callable[[np.ndarray, np.ndarray], Any], ...]]:
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from kfbench.metrics.inception import WHAT, ImageFeatures, load_inception
    from kfbench.utils.safeload import load_weights_only, state_dict_of

    ours = ImageFeatures(load_inception(weights), "inception", 2048)
    tensors = io.BytesIO()  # torch-fidelity torch.loads what it is given: the tensors read here weights-only
    torch.save(state_dict_of(load_weights_only(weights, WHAT), WHAT, weights), tensors)
    tensors.seek(0)
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=tensors)
    reference.eval()

    def kfbench_features(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ours(a), ours(b)

    @torch.no_grad()
    def torch_fidelity_features(a: np.ndarray, b: np.ndarray) -> list[Any]:
        return [
            reference(torch.from_numpy(frames[start : start + INCEPTION_BATCH]).permute(0, 3, 1, 2))
            for frames in (a, b)
            for start in range(0, len(frames), INCEPTION_BATCH)
        ]

    return {"fid_features": (kfbench_features, torch_fidelity_features)}


REFERENCE_NAMES = {
    "psnr": ("torchmetrics", "scikit-image"),
    "ssim": ("torchmetrics", "scikit-image"),
    "lpips": ("torchmetrics",),
    "fid_features": ("torch-fidelity",),
}


def reference_ratios(store: str, weights: dict[str, str], repeats: int) -> dict[str, Any]:
    """Seconds (medians over ``repeats`` alternating runs) of kfbench and each reference on the store's frames."""
    frames = compared_frames(Path(store))
    pairings = {**psnr_pairings(), **ssim_pairings()}
    if weights.get("lpips_weights"):
        pairings.update(lpips_pairings(Path(weights["lpips_weights"])))
    if weights.get("inception_weights"):
        pairings.update(inception_pairings(Path(weights["inception_weights"])))
    figures: dict[str, Any] = {}
    for name, (ours, *references) in pairings.items():
        times: dict[str, list[float]] = {"kfbench": [], **{r: [] for r in REFERENCE_NAMES[name]}}
        for _ in range(repeats):
            for label, fn in zip(times, (ours, *references)):
                start = time.perf_counter()
                for generated, truth in frames:
                    fn(generated, truth)
                times[label].append(time.perf_counter() - start)
        medians = {label: statistics.median(t) for label, t in times.items()}
        figures[name] = {
            "seconds": medians,
            "ratios": {r: medians["kfbench"] / medians[r] for r in REFERENCE_NAMES[name]},
            "runs": times,
        }
    return {
        "pair_runs": len(frames),
        "frames_per_pair": len(frames[0][0]),
        "metrics": figures,
        "peak_rss_mb": peak_rss_mb(),
    }


def format_ratios(figures: dict[str, Any]) -> str:
    lines = [
        f"side by side on the same {figures['pair_runs']} pair-run(s) x {figures['frames_per_pair']} frames "
        "(median seconds; ratio = kfbench / reference):"
    ]
    for name, f in figures["metrics"].items():
        others = ", ".join(f"{r} {f['seconds'][r]:.2f} s (ratio {f['ratios'][r]:.2f})" for r in f["ratios"])
        lines.append(f"  {name:<13} kfbench {f['seconds']['kfbench']:.2f} s; {others}")
    return "\n".join(lines)
