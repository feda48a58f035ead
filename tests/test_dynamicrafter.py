"""DynamiCrafter: release key layout, strict loading, schedule definitions, routing, end-to-end runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from kfbench.errors import KfbenchError
from kfbench.methods.dynamicrafter import build_unet
from kfbench.methods.dynamicrafter.checkpoint import CONFIG_NAME, load_model
from kfbench.methods.dynamicrafter.model import build_model
from kfbench.methods.dynamicrafter.sampler import rescale_guidance
from kfbench.methods.dynamicrafter.schedule import (
    SCHEDULE_BUFFERS,
    ddim_schedule,
    trailing_timesteps,
)
from kfbench.methods.dynamicrafter.tiny import tiny_config
from kfbench.registry import create_method
from tests.helpers.cli import run_cli

KEYS_JSON = Path(__file__).resolve().parent / "data" / "dynamicrafter_keys.json"


def release_betas() -> np.ndarray:
    """The release's zero-terminal-SNR betas, written out from its definitions (float64)."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    s = np.sqrt(np.cumprod(1 - betas))
    s0, s_last = s[0], s[-1]
    s = (s - s_last) * s0 / (s0 - s_last)
    a = s**2
    return 1 - np.concatenate([a[:1], a[1:] / a[:-1]])


def test_full_model_state_dict_equals_release_keys_and_shapes():
    reference = json.loads(KEYS_JSON.read_text())
    model = build_model(empty=True)
    state = model.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == reference["keys"]
    assert len(state) == reference["num_keys"] == 2520
    # Parameters stay on the meta device; the 13 top-level buffers are real and hold the schedule.
    assert model.model.diffusion_model.out[2].weight.is_meta
    top_level = [k for k in state if "." not in k]
    assert sorted(top_level) == sorted(reference["buffers_in_state_dict"])
    assert not any(state[k].is_meta for k in top_level)


def test_release_format_checkpoint_loads_strictly(tiny_models, tmp_path):
    folder = tiny_models["dynamicrafter"]
    saved = torch.load(folder / "model.ckpt", weights_only=True)["state_dict"]
    loaded = load_model(str(folder)).state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)

    # Older checkpoints call the frame-stride embedding framestride_embed: renamed on load.
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(folder / CONFIG_NAME, old / CONFIG_NAME)
    renamed = {k.replace("fps_embedding", "framestride_embed"): v for k, v in saved.items()}
    assert any("framestride_embed" in k for k in renamed)
    torch.save({"state_dict": renamed}, old / "model.ckpt")
    weight = "model.diffusion_model.fps_embedding.0.weight"
    assert torch.equal(load_model(str(old / "model.ckpt")).state_dict()[weight], saved[weight])

    # Strict: one missing entry is a one-line error naming it.
    del renamed["model.diffusion_model.out.2.bias"]
    torch.save({"state_dict": renamed}, old / "model.ckpt")
    with pytest.raises(KfbenchError, match=r"1 missing .*out\.2\.bias"):
        load_model(str(old))


@pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning")  # the release's numpy/torch mix
def test_schedule_arrays_equal_release_definitions():
    model = build_model(tiny_config(), empty=True)
    betas = release_betas()
    acp = np.cumprod(1 - betas)
    assert acp[-1] == 0.0  # zero terminal SNR
    np.testing.assert_array_equal(model.betas.numpy(), betas.astype(np.float32))
    np.testing.assert_array_equal(model.alphas_cumprod.numpy(), acp.astype(np.float32))
    np.testing.assert_array_equal(model.sqrt_one_minus_alphas_cumprod.numpy(), np.sqrt(1 - acp).astype(np.float32))
    assert not model.sqrt_recip_alphas_cumprod.any()  # v-prediction registers zeros
    assert all(getattr(model, name).shape == (1000,) for name in SCHEDULE_BUFFERS)
    scale = model.scale_arr.numpy()
    assert scale.shape == (1400,)
    np.testing.assert_array_equal(scale[:400], np.linspace(1.0, 0.7, 400).astype(np.float32))
    assert (scale[400:] == np.float32(0.7)).all()

    assert trailing_timesteps(50).tolist() == list(range(19, 1000, 20))
    ddim = ddim_schedule(model.alphas_cumprod, model.scale_arr, 50, eta=1.0)
    acp32 = model.alphas_cumprod.double().numpy()
    assert ddim.alphas_prev[0] == acp32[0]
    np.testing.assert_array_equal(ddim.alphas_prev[1:], acp32[ddim.timesteps[:-1]])
    # The release's own expression, with its mix of a float64 array and float32 tensors.
    a = model.alphas_cumprod[torch.from_numpy(ddim.timesteps)]
    a_prev = np.asarray([model.alphas_cumprod[0]] + model.alphas_cumprod[ddim.timesteps[:-1]].tolist())
    expected_sigma = torch.as_tensor(np.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))).numpy()
    np.testing.assert_array_equal(ddim.sigmas, expected_sigma)
    last = torch.tensor(ddim.alphas_prev[-1], dtype=torch.float32), torch.tensor(ddim.sigmas[-1], dtype=torch.float32)
    assert 1.0 - last[0] - last[1] ** 2 >= 0  # defined in float32 at the zero-SNR step for 50 steps
    assert ddim.sigmas[0] > 0  # fresh noise at the last step too
    ratio = ddim.scale_prev / ddim.scale
    assert ratio[0] == 1.0 and ratio[-1] == 1.0  # below t=19 nothing changes; above 399 the scale is flat
    assert 1.015 < ratio[2] < 1.023  # t = 59 -> 39


def test_vae_key_mapping_agrees_with_diffusers_ldm_converter():
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    from kfbench.methods.dynamicrafter.vae import LdmAutoencoderKL, diffusers_vae_config

    config = tiny_config()["first_stage_config"]
    torch.manual_seed(0)
    vae = LdmAutoencoderKL(**config)
    with torch.no_grad():
        for param in vae.parameters():
            param.normal_()
    ldm_state = {"first_stage_model." + k: v for k, v in vae.state_dict().items()}
    assert "first_stage_model.decoder.up.0.block.1.conv2.weight" in ldm_state
    converted = convert_ldm_vae_checkpoint(ldm_state, diffusers_vae_config(config["ddconfig"]))
    own = vae.vae.state_dict()
    assert converted.keys() == own.keys()
    assert all(torch.equal(converted[k].reshape(own[k].shape), own[k]) for k in own)


def test_frame_i_attends_image_tokens_16i_to_16i_plus_16():
    torch.manual_seed(0)
    unet = build_unet(
        **{
            **tiny_config()["unet_config"],
            "temporal_conv": False,
            "temporal_attention": False,
            "addition_attention": False,
        }
    ).eval()
    x = torch.randn(1, 8, 4, 8, 8)
    context = torch.randn(1, 77 + 4 * 16, 32)
    bumped = context.clone()
    bumped[:, 77 + 2 * 16 : 77 + 3 * 16] += 1.0  # image tokens of frame 2
    with torch.no_grad():
        base = unet(x, torch.tensor([500]), context, torch.tensor([5]))
        out = unet(x, torch.tensor([500]), bumped, torch.tensor([5]))
    changed = [(out[:, :, i] - base[:, :, i]).abs().max().item() > 1e-6 for i in range(4)]
    assert changed == [False, False, True, False]


def test_guidance_rescale_uses_per_sample_std():
    cond = torch.stack([torch.randn(4, 3, 5), 3 * torch.randn(4, 3, 5)])
    guided = torch.randn(2, 4, 3, 5)
    out = rescale_guidance(guided, cond, 0.7)
    for i in range(2):
        expected = 0.7 * guided[i] * cond[i].std() / guided[i].std() + 0.3 * guided[i]
        torch.testing.assert_close(out[i], expected)


def test_seed_option_and_call_seed(tiny_models):
    first = np.zeros((64, 64, 3), np.uint8)
    last = np.full((64, 64, 3), 200, np.uint8)
    common = {"checkpoint": str(tiny_models["dynamicrafter"]), "height": 64, "width": 64, "num_inference_steps": 1}
    method = create_method("dynamicrafter", device="cpu", **common)
    a, b, c = (method.interpolate(first, last, num_frames=25, seed=s) for s in (1, 1, 2))
    assert a.shape == (16, 64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert method.stats["unet_calls"] == 2 and method.stats["seed"] == 2
    fixed = create_method("dynamicrafter", device="cpu", seed=1, **common)
    assert np.array_equal(fixed.interpolate(first, last, num_frames=25, seed=7), a)
    x_t = torch.randn(1, 4, 16, 8, 8, generator=torch.Generator().manual_seed(1))
    assert np.array_equal(fixed.interpolate(first, last, num_frames=25, latents=x_t), a)  # same x_T as seed 1
    with pytest.raises(KfbenchError, match="latents must have shape"):
        fixed.interpolate(first, last, num_frames=25, latents=x_t[:, :, :8])
    assert fixed.output_times(25) == [i / 15 for i in range(16)]


def test_bad_checkpoint_and_size_are_one_line_errors(tiny_models, tmp_path):
    with pytest.raises(KfbenchError, match="no model.safetensors or model.ckpt"):
        create_method("dynamicrafter", checkpoint=str(tmp_path)).model()
    with pytest.raises(KfbenchError, match="multiples of 16"):
        create_method("dynamicrafter", checkpoint=str(tiny_models["dynamicrafter"]), height=72, width=64).model()


def test_run_end_to_end_and_convert(tiny_models, tmp_path):
    tiny = tiny_models["dynamicrafter"]
    out = tmp_path / "runs"
    run_cli(
        "run", "--method", "dynamicrafter", "--dataset", "synthetic", "--checkpoint", tiny,
        "--height", "64", "--width", "64", "--num-inference-steps", "2", "--device", "cpu",
        "--num-pairs", "1", "--num-frames", "9", "--dataset.height", "64", "--dataset.width", "96",
        "--out", out, check=True,
    )  # fmt: skip
    pair_dir = next((out / "synthetic" / "dynamicrafter").iterdir())
    meta = json.loads((pair_dir / "meta.json").read_text())
    assert meta["frame_times"] == [i / 15 for i in range(16)] and meta["num_frames"] == 9
    assert meta["stats"]["unet_calls"] == 4
    assert len(list((pair_dir / "frames").glob("*.png"))) == 16

    converted = tmp_path / "converted"
    run_cli("convert-checkpoint", "--method", "dynamicrafter", tiny, converted, "--dtype", "float16", check=True)
    assert (converted / "model.safetensors").is_file() and (converted / CONFIG_NAME).is_file()
    original = torch.load(tiny / "model.ckpt", weights_only=True)["state_dict"]
    state = load_model(str(converted)).state_dict()
    weight = "model.diffusion_model.input_blocks.1.0.temopral_conv.conv1.2.weight"
    assert state[weight].dtype == torch.float16 and torch.equal(state[weight], original[weight].half())
    assert state["alphas_cumprod"].dtype == torch.float32


def test_pairs_csv_prompt_reaches_the_text_branch(tiny_models, tmp_path):
    """A pairs CSV's prompt column replaces the `prompt` option for its pair (the interpolation call's argument)."""
    from PIL import Image

    from kfbench.store.runstore import RunStore
    from tests.helpers.inprocess import run_main

    first = np.zeros((64, 64, 3), np.uint8)
    last = np.full((64, 64, 3), 200, np.uint8)
    Image.fromarray(first).save(tmp_path / "a.png")
    Image.fromarray(last).save(tmp_path / "b.png")
    (tmp_path / "pairs.csv").write_text("id,first,last,prompt\np1,a.png,b.png,a bird flies\n")
    common = {"checkpoint": str(tiny_models["dynamicrafter"]), "height": 64, "width": 64, "num_inference_steps": 1}
    code, _, err = run_main(
        "run",
        "--method",
        "dynamicrafter",
        "--dataset",
        "pairs",
        "--root",
        tmp_path,
        "--out",
        tmp_path / "runs",
        "--quiet",
        *(f"--{k.replace('_', '-')}={v}" for k, v in common.items()),
    )
    assert code == 0, err
    store = RunStore(tmp_path / "runs")
    meta = store.load_meta("pairs", "dynamicrafter", "p1")
    assert (meta["prompt"], meta["prompt_source"], meta["stats"]["prompt"]) == (
        "a bird flies",
        "pairs csv",
        "a bird flies",
    )
    saved = store.load_frames("pairs", "dynamicrafter", "p1")
    method = create_method("dynamicrafter", device="cpu", **common)
    assert np.array_equal(saved, method.interpolate(first, last, num_frames=2, prompt="a bird flies"))
    assert not np.array_equal(saved, method.interpolate(first, last, num_frames=2))  # the option's empty prompt
