"""`kfbench train` on tiny models (CPU): which tensors train, the loss, exact resume, checkpoints the methods load, bad
input."""

from __future__ import annotations

import contextlib
import csv
import functools
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from kfbench.errors import KfbenchError
from kfbench.methods.svd import attention, loading
from kfbench.methods.svd.attention import AttentionControl
from kfbench.registry import create_method
from kfbench.training import step as train_step
from kfbench.training.config import TrainConfig
from kfbench.training.data import load_clips
from kfbench.training.projections import VARIANT_TENSORS, Projections
from kfbench.training.trainer import install_processors, train
from kfbench.utils import progress
from tests.helpers.cli import cli_env, free_port, run_cli
from tests.helpers.datatrees import frame, write_video
from tests.helpers.hostile import hostile_pickle

SIZE = {"height": 64, "width": 96}
CLIP = {**SIZE, "num_frames": 4, "stride": 2}


@pytest.fixture(scope="module", autouse=True)
def quiet_single_thread():
    threads, shown = torch.get_num_threads(), progress.enabled
    torch.set_num_threads(1)
    progress.enabled = False
    yield
    torch.set_num_threads(threads)
    progress.enabled = shown


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two frame folders, one mp4 (held out last in name order when --holdout 1) and one clip too short for a 7-frame
    span."""
    root = tmp_path_factory.mktemp("train-videos")
    for name, length, shift in (("a", 9, 0), ("b", 12, 5), ("short", 5, 0)):
        (root / name).mkdir()
        for i in range(length):
            Image.fromarray(frame(i + shift)).save(root / name / f"{i:05d}.png")
    write_video(root / "z.mp4", 8)
    return root


def config(tiny_models, videos, out, variant="ours", **extra) -> TrainConfig:
    kw = {
        "model": str(tiny_models["svd"]),
        "max_steps": 2,
        "device": "cpu",
        "checkpoint_every": 100,
        "validate_every": 100,
        **CLIP,
        **extra,
    }
    return TrainConfig(variant=variant, videos=str(videos), out=str(out), **kw)


def tiny_pipeline(tiny_models):
    pipe = loading.load_pipeline(str(tiny_models["svd"]), dtype=torch.float32)
    control = AttentionControl()
    layers = attention.install(pipe.unet, control)
    pipe.unet.requires_grad_(False)
    return pipe, control, layers


def one_batch(pipe, videos, index=0):
    clips = load_clips(videos, num_frames=4, stride=2)
    return train_step.prepare_batch(pipe, [clips.read(index, 0, **SIZE)], [train_step.sample_generator(0, index)])


def loss_and_grads(pipe, control, layers, projections, batch, rotated):
    projections.zero_grad()
    loss = train_step.backward_loss(
        projections,
        pipe.unet,
        control,
        layers,
        batch,
        rotated=rotated,
        backward=torch.Tensor.backward,
        autocast=contextlib.nullcontext,
    )
    return loss, [w.grad.clone() for w in projections.weights]


# --- what trains ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["ours", "wo-ra"])
def test_only_the_variants_projection_weights_receive_gradients(tiny_models, videos, variant):
    pipe, control, layers = tiny_pipeline(tiny_models)
    projections = Projections(pipe.unet, layers, VARIANT_TENSORS[variant])
    before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    loss, grads = loss_and_grads(pipe, control, layers, projections, one_batch(pipe, videos), rotated=variant == "ours")
    wanted = ("to_v", "to_out.0") if variant == "ours" else ("to_q", "to_k", "to_v", "to_out.0")
    assert len(layers) == 6 and projections.names == [f"{layer}.{p}.weight" for layer in layers for p in wanted]
    assert torch.isfinite(loss) and all(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in pipe.unet.parameters())
    assert not control.maps  # the recorded maps were all used and dropped
    torch.optim.AdamW(projections.parameters(), lr=1e-3).step()
    assert all(
        torch.equal(v, before[k]) for k, v in pipe.unet.state_dict().items()
    )  # the frozen forward model is untouched


def test_rotated_maps_reach_the_backward_pass_also_under_checkpointed_temporal_blocks(tiny_models, videos):
    """The maps decide the backward model's output; re-running checkpointed temporal blocks during backward reads them
    again."""
    pipe, control, layers = tiny_pipeline(tiny_models)
    projections = Projections(pipe.unet, layers, "vo")
    batch = one_batch(pipe, videos)
    loss, grads = loss_and_grads(pipe, control, layers, projections, batch, rotated=True)
    _, plain = loss_and_grads(pipe, control, layers, projections, batch, rotated=False)
    # the rotated maps change what the backward model computes
    assert all((a - b).abs().max() > 0.05 * a.abs().max() for a, b in zip(grads, plain)), [
        ((a - b).abs().max() / a.abs().max()).item() for a, b in zip(grads, plain)
    ]
    from diffusers.models.attention import TemporalBasicTransformerBlock

    for block in pipe.unet.modules():
        if isinstance(block, TemporalBasicTransformerBlock):
            block.forward = functools.partial(torch.utils.checkpoint.checkpoint, block.forward, use_reentrant=False)
    again, checkpointed = loss_and_grads(pipe, control, layers, projections, batch, rotated=True)
    assert torch.allclose(again, loss)
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(grads, checkpointed))


def test_loss_decreases_when_overfitting_one_clip(tiny_models, videos):
    pipe, control, layers = tiny_pipeline(tiny_models)
    projections = Projections(pipe.unet, layers, "vo")
    batch = one_batch(pipe, videos)
    optimizer = torch.optim.AdamW(projections.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss, _ = loss_and_grads(pipe, control, layers, projections, batch, rotated=True)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0] and all(b < a for a, b in zip(losses, losses[1:])), losses


# --- the training loop ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["ours", "wo-ra"])
def test_checkpoint_holds_exactly_the_trained_weights(tiny_models, videos, tmp_path, variant):
    result = train(config(tiny_models, videos, tmp_path, variant))
    path = tmp_path / "backward.safetensors"
    deltas = load_file(path)
    layers = attention.temporal_self_attention_layers(
        loading.load_pipeline(str(tiny_models["svd"]), dtype=torch.float32).unet
    )
    assert sorted(deltas) == sorted(
        loading.expected_weights(layers, VARIANT_TENSORS[variant])
    )  # weights only, no biases
    assert all(d.abs().max() > 0 for d in deltas.values())
    with safe_open(str(path), "pt") as fh:
        assert (
            fh.metadata()["format"] == loading.COMPACT_FORMAT and fh.metadata()["tensors"] == VARIANT_TENSORS[variant]
        )
    assert torch.equal(
        load_file(result.checkpoint / "backward.safetensors")[
            "down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_v.weight"
        ],
        deltas["down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_v.weight"],
    )
    assert [c.source.name for c in result.clips.videos] == ["a", "b", "z"] and result.clips.too_short == ["short"]


def test_resumed_run_equals_uninterrupted_run(tiny_models, videos, tmp_path):
    extra = {"gradient_accumulation": 2, "checkpoint_every": 2, "seed": 3}
    train(config(tiny_models, videos, tmp_path / "straight", max_steps=3, **extra))
    train(config(tiny_models, videos, tmp_path / "resumed", max_steps=2, **extra))
    with pytest.raises(KfbenchError, match="--resume"):
        train(config(tiny_models, videos, tmp_path / "resumed", max_steps=3, **extra))
    train(config(tiny_models, videos, tmp_path / "resumed", max_steps=3, **extra), resume=True)
    straight, resumed = (load_file(tmp_path / run / "backward.safetensors") for run in ("straight", "resumed"))
    assert all(torch.allclose(straight[k], resumed[k], atol=1e-7, rtol=1e-5) for k in straight)
    assert all(straight[k].abs().max() > 0 for k in straight)
    logs = [list(csv.DictReader(open(tmp_path / run / "train_log.csv"))) for run in ("straight", "resumed")]
    assert [r["step"] for r in logs[1]] == ["1", "2", "3"]
    assert np.allclose([float(r["loss"]) for r in logs[0]], [float(r["loss"]) for r in logs[1]], rtol=1e-5)
    with pytest.raises(KfbenchError, match="--seed"):
        train(config(tiny_models, videos, tmp_path / "resumed", max_steps=4, **{**extra, "seed": 4}), resume=True)
    # a state whose optimizer pickle would run a command: accelerate loads it weights-only, and the error is one line
    state = max((tmp_path / "resumed").glob("checkpoint-*")) / "state"
    (state / "optimizer.bin").unlink()
    hostile_pickle(state, tmp_path / "marker", "optimizer.bin")
    with pytest.raises(KfbenchError, match="cannot resume from .*posix.system|cannot resume from .*GLOBAL") as error:
        train(config(tiny_models, videos, tmp_path / "resumed", max_steps=4, **extra), resume=True)
    assert "\n" not in str(error.value) and not (tmp_path / "marker").exists()


@pytest.mark.parametrize("variant,method", [("ours", "ours"), ("wo-ra", "ours-wo-ra")])
def test_checkpoint_loads_into_the_method_and_changes_its_output(tiny_models, videos, tmp_path, variant, method):
    result = train(
        config(
            tiny_models, videos, tmp_path, variant, learning_rate=3e-2, holdout=1, validate_every=2, validation_steps=1
        )
    )
    assert (tmp_path / "validation" / "step-000002" / "z.mp4").stat().st_size > 0
    first, last = frame(0, 64, 96), frame(6, 64, 96)
    fast = {"model": str(tiny_models["svd"]), "num_inference_steps": 1, "recurrence": 1, **SIZE}
    trained = create_method(method, checkpoint=str(result.checkpoint / "backward.safetensors"), **fast)
    untrained = create_method(method, checkpoint=str(zero_checkpoint(tiny_models, tmp_path, variant)), **fast)
    a, b = (m.interpolate(first, last, num_frames=4, seed=1) for m in (trained, untrained))
    assert np.abs(a.astype(int) - b.astype(int)).max() > 2


def zero_checkpoint(tiny_models, tmp_path, variant):
    """A compact checkpoint of the untrained weights (all deltas zero)."""
    pipe, _, layers = tiny_pipeline(tiny_models)
    return Projections(pipe.unet, layers, VARIANT_TENSORS[variant]).save_compact(
        tmp_path / "zero.safetensors", base_model="tiny", step=0
    )


# --- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error(tiny_models, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KfbenchError, match="no usable training video"):
        train(config(tiny_models, empty, tmp_path / "out"))
    (tmp_path / "short" / "clip").mkdir(parents=True)
    for i in range(26):
        Image.fromarray(frame(i)).save(tmp_path / "short" / "clip" / f"{i:05d}.png")
    with pytest.raises(KfbenchError, match=r"\(1 shorter than the clip span of 27 frames"):
        load_clips(tmp_path / "short", num_frames=14, stride=2)
    assert load_clips(tmp_path / "short", num_frames=13, stride=2).span == 25
    with pytest.raises(KfbenchError, match="no temporal self-attention layers"):
        install_processors(torch.nn.Sequential(torch.nn.Linear(2, 2)), "an-image-model")


def test_cli_rejects_an_unknown_variant(tmp_path):
    bad = run_cli("train", "--variant", "wo-RA", "--videos", tmp_path, "--out", tmp_path / "x")
    assert bad.returncode == 2 and "--variant must be 'ours' or 'wo-ra'" in bad.stderr


def test_two_process_run_under_accelerate_equals_one_process_with_both_clips(tiny_models, videos, tmp_path):
    """2 ranks x 1 clip (gloo, gradients averaged by DDP) take the same steps as 1 process x 2 clips."""
    common = [
        "--variant",
        "ours",
        "--videos",
        str(videos),
        "--model",
        str(tiny_models["svd"]),
        "--max-steps",
        "2",
        "--height",
        "64",
        "--width",
        "96",
        "--num-frames",
        "4",
        "--device",
        "cpu",
        "--quiet",
    ]
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--main_process_port",
            str(free_port()),
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "kfbench",
            "train",
            *common,
            "--out",
            str(tmp_path / "ddp"),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=600,
    )
    assert launched.returncode == 0, "\n".join(
        line for line in launched.stderr.splitlines() if "rank1" in line or "Error" in line
    )[-6000:]
    assert launched.stdout.count("trained ours to step 2") == 1  # rank 0 reports
    run_cli("train", *common, "--batch-size", "2", "--out", tmp_path / "single", check=True)
    ddp, single = (load_file(tmp_path / run / "backward.safetensors") for run in ("ddp", "single"))
    # AdamW moves each weight by up to lr = 1e-4 a step whatever the gradient's size, so summation-order noise in
    # near-zero gradients shows up as ~1e-6: compare against the 2e-4 the weights can move in two steps.
    assert all(torch.allclose(ddp[k], single[k], atol=5e-6) for k in ddp), [
        (ddp[k] - single[k]).abs().max().item() for k in ddp
    ]
    assert max(d.abs().max() for d in ddp.values()) > 1e-4
    losses = [
        [float(r["loss"]) for r in csv.DictReader(open(tmp_path / run / "train_log.csv"))] for run in ("ddp", "single")
    ]
    assert np.allclose(*losses, rtol=1e-5)


# --- faithfulness: an independent computation of the loss -----------------------------------------


def test_wo_ra_loss_equals_plain_diffusers_unet_with_the_trained_weights(tiny_models, videos):
    """Reference: a stock diffusers UNet whose W_q..W_o are the trainable tensors, EDM terms from the Euler
    scheduler."""
    import copy

    from diffusers import UNetSpatioTemporalConditionModel

    pipe, control, layers = tiny_pipeline(tiny_models)
    projections = Projections(pipe.unet, layers, "qkvo")
    with torch.no_grad():
        for w in projections.weights:
            w.add_(torch.randn(w.shape, generator=torch.Generator().manual_seed(5)) * w.std())
    batch = one_batch(pipe, videos, index=1)
    loss, _ = loss_and_grads(pipe, control, layers, projections, batch, rotated=False)

    reference = UNetSpatioTemporalConditionModel.from_pretrained(tiny_models["svd"] / "unet")  # default processors
    reference.load_state_dict(
        {**reference.state_dict(), **{n: w.detach() for n, w in zip(projections.names, projections.weights)}}
    )
    scheduler = copy.deepcopy(pipe.scheduler)
    sigma = batch.sigma
    x = (batch.latents + sigma * batch.noise).flip(1)
    scheduler.sigmas = torch.stack([sigma[0], torch.zeros(())])
    scheduler.timesteps = 0.25 * sigma.log()  # SVD's continuous timesteps
    scheduler._step_index = None
    scaled = scheduler.scale_model_input(x, scheduler.timesteps[0])
    with torch.no_grad():
        out = reference(
            torch.cat([scaled, batch.last.image_latents], dim=2),
            scheduler.timesteps[0],
            encoder_hidden_states=batch.last.embeddings,
            added_time_ids=batch.last.added_time_ids,
        ).sample
    denoised = scheduler.step(out, scheduler.timesteps[0], x).pred_original_sample
    expected = ((1 + sigma**2) / sigma**2 * (denoised - batch.latents.flip(1)) ** 2).mean()
    assert torch.allclose(loss, expected, rtol=1e-4), (loss, expected)


def test_noise_conditioning_matches_svd_scheduler_timesteps(tiny_models):
    from diffusers import EulerDiscreteScheduler

    from kfbench.training.edm import precondition

    scheduler = EulerDiscreteScheduler.from_pretrained(tiny_models["svd"] / "scheduler")
    scheduler.set_timesteps(6)
    assert torch.allclose(precondition(scheduler.sigmas[:-1]).c_noise, scheduler.timesteps.float(), atol=1e-6)
