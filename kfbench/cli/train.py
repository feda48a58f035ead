"""`kfbench train`: fine-tune SVD's backward model (paper Algorithm 1)."""

from __future__ import annotations

from pathlib import Path

import typer

from kfbench.cli.app import app
from kfbench.errors import KfbenchError
from kfbench.run.distributed import launch_info
from kfbench.utils import progress
from kfbench.utils.userfiles import output_folder

DEFAULT_TRAIN_MODEL = "stabilityai/stable-video-diffusion-img2vid"


@app.command()
def train(
    variant: str = typer.Option(
        ..., "--variant", help="ours (W_v, W_o with rotated maps) or wo-ra (W_q, W_k, W_v, W_o, no maps)."
    ),
    videos: Path = typer.Option(..., "--videos", help="Folder of mp4 files or frame folders."),
    out: Path = typer.Option(..., "--out", help="Checkpoint folder (CKPT_DIR)."),
    model: str = typer.Option(
        DEFAULT_TRAIN_MODEL, "--model", help="SVD img2vid diffusers pipeline (folder or hub id) to fine-tune."
    ),
    max_steps: int = typer.Option(15000, "--max-steps", help="Optimiser steps."),
    height: int = typer.Option(576, "--height"),
    width: int = typer.Option(1024, "--width"),
    num_frames: int = typer.Option(14, "--num-frames", help="Frames per training clip."),
    stride: int = typer.Option(2, "--stride", help="Source frames between clip frames."),
    batch_size: int = typer.Option(1, "--batch-size", help="Clips per process and micro-step."),
    gradient_accumulation: int = typer.Option(1, "--gradient-accumulation", help="Micro-steps per optimiser step."),
    learning_rate: float = typer.Option(1e-4, "--learning-rate"),
    mixed_precision: str = typer.Option(
        "auto", "--mixed-precision", help="auto (fp16 on GPU, none on CPU), no, fp16, bf16."
    ),
    gradient_checkpointing: bool = typer.Option(True, "--gradient-checkpointing/--no-gradient-checkpointing"),
    checkpoint_every: int = typer.Option(
        500, "--checkpoint-every", help="Write a checkpoint every K steps (and at the end)."
    ),
    validate_every: int = typer.Option(500, "--validate-every", help="Sample the held-out pairs every K steps."),
    holdout: int = typer.Option(
        0, "--holdout", help="Videos (last in name order) kept out of training for validation samples."
    ),
    validation_steps: int = typer.Option(25, "--validation-steps", help="Sampling steps of the validation samples."),
    seed: int = typer.Option(0, "--seed"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: accelerate's choice)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its latest checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Fine-tune SVD's backward model (paper Algorithm 1) and write checkpoints `ours` / `ours-wo-ra` load.

    Examples:

      kfbench train --variant ours --videos ~/data/train_clips --out ckpt/ours

      accelerate launch -m kfbench train --variant wo-ra --videos ~/data/train_clips --out ckpt/wo-ra
    """
    if variant not in ("ours", "wo-ra"):
        raise KfbenchError(f"--variant must be 'ours' or 'wo-ra', not '{variant}'")
    if mixed_precision not in ("auto", "no", "fp16", "bf16"):
        raise KfbenchError(f"--mixed-precision must be auto, no, fp16 or bf16, not '{mixed_precision}'")
    options = {k: v for k, v in locals().items() if k not in ("resume", "quiet")}
    from kfbench.training.config import TrainConfig
    from kfbench.training.trainer import train as run_training

    progress.enabled = not quiet
    config = TrainConfig(**{**options, "videos": str(videos), "out": str(out)})
    config.check()
    output_folder(out, "--out")
    result = run_training(config, resume=resume)
    if launch_info() is None or launch_info().rank == 0:
        clips = result.clips
        loss = "no step left to run" if result.last_loss is None else f"last loss {result.last_loss:.5f}"
        typer.echo(
            f"trained {variant} to step {result.steps} on {len(clips.videos)} video(s) ({len(clips.too_short)} "
            f"shorter than the {clips.span}-frame clip span and {len(clips.unreadable)} unreadable skipped); {loss}; "
            f"checkpoint {result.checkpoint}"
        )
