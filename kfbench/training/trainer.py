"""The training loop on accelerate: one process or many (`accelerate launch -m kfbench train ...`).

Output folder:
    config.json                     the run's options (--resume checks them)
    train_log.csv                   step, loss, lr, grad_norm (+ tensorboard/ when installed)
    checkpoint-000500/state/        accelerate state: weights, AdamW, grad scaler, RNG (for --resume)
    checkpoint-000500/backward.safetensors   compact deltas: `kfbench run --method ours --checkpoint ...`
    backward.safetensors            the latest checkpoint's deltas
    validation/step-000500/*.mp4    samples of held-out keyframe pairs with the weights of that step
"""

from __future__ import annotations

import math
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kfbench.errors import KfbenchError
from kfbench.methods.svd import attention
from kfbench.methods.svd.attention import AttentionControl
from kfbench.methods.svd.loading import load_pipeline
from kfbench.training.config import BETAS, MAX_GRAD_NORM, WEIGHT_DECAY, TrainConfig
from kfbench.training.data import ClipSet, load_clips, split_holdout, validation_pairs
from kfbench.training.logs import CsvLog, tensorboard_available
from kfbench.training.projections import VARIANT_TENSORS, Projections
from kfbench.training.step import backward_loss, prepare_batch, sample_generator
from kfbench.training.validation import write_samples
from kfbench.utils import progress
from kfbench.utils.safeload import first_line

CHECKPOINT = re.compile(r"checkpoint-(\d+)$")
DELTAS = "backward.safetensors"


@dataclass(frozen=True)
class TrainResult:
    steps: int
    last_loss: float | None
    checkpoint: Path | None
    clips: ClipSet


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint folder with the highest step (complete ones only: they are renamed into place)."""
    found = [(int(m.group(1)), p) for p in out.glob("checkpoint-*") if (m := CHECKPOINT.search(p.name)) and p.is_dir()]
    return max(found)[1] if found else None


def make_accelerator(config: TrainConfig):
    """Accelerator for --device and --mixed-precision (auto: fp16 on CUDA as the release, none on CPU; it overrides
    accelerate's flag)."""
    from accelerate import Accelerator

    device = config.device or "auto"
    if device.startswith("cuda:"):
        torch.cuda.set_device(int(device.split(":")[1]))
    precision = config.mixed_precision
    if precision == "auto":
        precision = "fp16" if torch.cuda.is_available() and device != "cpu" else "no"
    return Accelerator(
        mixed_precision=precision,
        gradient_accumulation_steps=config.gradient_accumulation,
        cpu=device == "cpu",
        log_with="tensorboard" if tensorboard_available() else None,
        project_dir=config.out,
    )


def weight_dtype(accelerator) -> torch.dtype:
    """The frozen model's dtype: half precision under mixed precision, else float32 (trainable tensors stay float32)."""
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)


def install_processors(unet, model: str) -> tuple[AttentionControl, list[str]]:
    """kfbench's attention processors on the UNet's temporal self-attention layers (an error when it has none)."""
    control = AttentionControl()
    layers = attention.install(unet, control)
    if not layers:
        raise KfbenchError(
            f"'{model}' has no temporal self-attention layers ({attention.TEMPORAL_SELF_ATTENTION}); pass an SVD "
            "img2vid model with --model"
        )
    return control, layers


def load_models(config: TrainConfig, accelerator) -> tuple[Any, AttentionControl, list[str], Projections]:
    """The frozen pipeline on the accelerator's device (UNet and image encoder in the mixed-precision dtype) and the
    trainable tensors."""
    pipe = load_pipeline(config.model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    control, layers = install_processors(pipe.unet, config.model)
    for module in (pipe.unet, pipe.vae, pipe.image_encoder):
        module.requires_grad_(False)
    projections = Projections(pipe.unet, layers, VARIANT_TENSORS[config.variant])  # float32 copies, before any cast
    pipe.vae.to(accelerator.device)
    for module in (pipe.unet, pipe.image_encoder):
        module.to(accelerator.device)
        if weight_dtype(accelerator) != torch.float32:
            module.to(weight_dtype(accelerator))
    if config.gradient_checkpointing:
        pipe.unet.enable_gradient_checkpointing()
    return pipe, control, layers, projections


def train(config: TrainConfig, *, resume: bool = False) -> TrainResult:
    """Fine-tune the backward model (Algorithm 1) and write checkpoints, logs and validation samples to
    ``config.out``."""
    config.check()
    out = Path(config.out)
    clips = load_clips(Path(config.videos).expanduser(), num_frames=config.num_frames, stride=config.stride)
    clips, held_out = split_holdout(clips, config.holdout)
    start_from = latest_checkpoint(out) if resume else None
    if resume and start_from is None:
        raise KfbenchError(f"--resume: no checkpoint-* folder in '{out}'; start without --resume")
    if resume:
        config.check_resumable(out / "config.json")
    elif latest_checkpoint(out) is not None:
        raise KfbenchError(
            f"'{out}' already holds checkpoints; pass --resume to continue that run or choose another --out"
        )

    accelerator = make_accelerator(config)
    pipe, control, layers, projections = load_models(config, accelerator)
    optimizer = torch.optim.AdamW(
        projections.parameters(), lr=config.learning_rate, betas=BETAS, weight_decay=WEIGHT_DECAY
    )
    model, optimizer = accelerator.prepare(projections, optimizer)

    step = 0
    if start_from is not None:
        try:  # accelerate loads model.safetensors and torch.load(weights_only=True)s the rest
            accelerator.load_state(str(start_from / "state"))
        except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError, KeyError) as exc:
            raise KfbenchError(
                f"cannot resume from '{start_from / 'state'}' ({type(exc).__name__}: {first_line(exc)}); "
                "it is not a readable weights-only accelerate state; remove that checkpoint folder or start without "
                "--resume"
            ) from None
        step = int(CHECKPOINT.search(start_from.name).group(1))
    main = accelerator.is_main_process
    if main:
        out.mkdir(parents=True, exist_ok=True)
        config.save(out / "config.json")
    log = CsvLog(out / "train_log.csv", resume_step=step if resume else None) if main else None
    if accelerator.log_with:
        accelerator.init_trackers("tensorboard")
    pairs = validation_pairs(held_out, config.num_frames, config.stride, config.height, config.width) if main else []

    per_step = config.batch_size * accelerator.num_processes * config.gradient_accumulation
    loss_value, checkpoint = None, None
    progress.enabled = progress.enabled and accelerator.is_local_main_process
    start = step
    for step in progress.track(range(start + 1, config.max_steps + 1), "training", total=config.max_steps - start):
        losses = []
        for micro in range(config.gradient_accumulation):
            first = (step - 1) * per_step + (
                micro * accelerator.num_processes + accelerator.process_index
            ) * config.batch_size
            indices = range(first, first + config.batch_size)
            batch = prepare_batch(
                pipe,
                [clips.read(i, config.seed, config.height, config.width) for i in indices],
                [sample_generator(config.seed, i) for i in indices],
            )
            with accelerator.accumulate(model):
                loss = backward_loss(
                    model,
                    pipe.unet,
                    control,
                    layers,
                    batch,
                    rotated=config.variant == "ours",
                    backward=accelerator.backward,
                    autocast=accelerator.autocast,
                )
                losses.append(loss)
                grad_norm = (
                    accelerator.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
                    if accelerator.sync_gradients
                    else None
                )
                optimizer.step()
                optimizer.zero_grad()
        loss_value = accelerator.reduce(torch.stack(losses).mean(), reduction="mean").item()
        lr = optimizer.param_groups[0]["lr"]
        norm = float(grad_norm) if grad_norm is not None else math.nan
        if main:
            log.write(step=step, loss=loss_value, lr=lr, grad_norm=norm)
            progress.set_status(f"loss {loss_value:.4f}")
        accelerator.log({"loss": loss_value, "lr": lr, "grad_norm": norm}, step=step)
        if step % config.checkpoint_every == 0 or step == config.max_steps:
            checkpoint = save_checkpoint(accelerator, projections, config, step)
        if pairs and step % config.validate_every == 0:
            write_samples(pipe, control, layers, projections, config, step, pairs)
        accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(config.max_steps, loss_value, checkpoint or start_from, clips)


def save_checkpoint(accelerator, projections: Projections, config: TrainConfig, step: int) -> Path:
    """Accelerate state for --resume plus the compact deltas, written to a temporary folder and renamed into place."""
    out = Path(config.out)
    final, tmp = out / f"checkpoint-{step:06d}", out / f"checkpoint-{step:06d}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp / "state"))
    accelerator.wait_for_everyone()  # every rank has written its RNG state into tmp before rank 0 renames it
    if accelerator.is_main_process:
        projections.save_compact(tmp / DELTAS, base_model=config.model, step=step)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        shutil.copyfile(final / DELTAS, out / DELTAS)
    accelerator.wait_for_everyone()
    return final
