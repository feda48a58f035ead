"""The device table: dense 16-bit peaks of known GPUs, the device's name, synchronising, peak memory."""

from __future__ import annotations

import platform
import resource

import torch

# Dense (no sparsity) fp16/bf16 tensor-core peak TFLOP/s, from NVIDIA's product datasheets, which
# quote the figures with 2:4 sparsity (halved here): H100 SXM 1,979 / PCIe 1,513 / NVL 1,671,
# H200 1,979, A100 624, L40S 733, L4 242. Matched against torch.cuda.get_device_name in order.
PEAK_TFLOPS_16BIT = (
    ("H100 NVL", 835.5),
    ("H100 PCIe", 756.5),
    ("H100", 989.4),  # SXM5 ("NVIDIA H100 80GB HBM3")
    ("H200", 989.4),
    ("A100", 312.0),
    ("L40S", 366.5),
    ("L4", 121.0),
)
H100_SXM_TFLOPS = 989.4
HALF_DTYPES = (torch.float16, torch.bfloat16)


def peak_tflops(device_name: str, dtype: torch.dtype) -> float | None:
    """Dense 16-bit peak of a known GPU for fp16/bf16 runs; None when unknown (CPU, float32, unlisted GPU)."""
    if dtype not in HALF_DTYPES:
        return None
    for key, tflops in PEAK_TFLOPS_16BIT:
        if key in device_name:
            return tflops
    return None


def device_name(device: str) -> str:
    return torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor() or "cpu"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def reset_peak_memory(device: str) -> None:
    """Synchronise, and start a new peak of CUDA memory."""
    sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> tuple[int, str]:
    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated()), "cuda max allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process max RSS (whole process so far)"


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MiB (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
