"""The SVD engine on tiny random models (CPU): faithfulness, rotation, ablations, checkpoints, schedules, CLI."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest
import torch

from kfbench.errors import KfbenchError
from kfbench.methods.svd import attention, loading, schedules
from kfbench.methods.svd.attention import AttentionControl, Pass
from kfbench.methods.svd.bench import vae_scale
from kfbench.registry import create_method
from tests.helpers.inprocess import run_main

SIZE = {"height": 64, "width": 96}
FAST = {**SIZE, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def keyframes():
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    last = np.roll(first, 9, axis=1)
    return first, last


def options(tiny_models, name: str, **extra):
    kw = {"model": str(tiny_models["svd"]), "checkpoint_base": str(tiny_models["svd-img2vid"]), **FAST, **extra}
    if name in ("ours", "ours-wo-ra") and "checkpoint" not in kw:
        kw["checkpoint"] = str(tiny_models[f"{name}-delta"])
    return kw


# --- faithfulness to diffusers -------------------------------------------------------------------


def diffusers_reference(folder, first, *, steps: int, seed: int, **size) -> np.ndarray:
    """StableVideoDiffusionPipeline's 8 frames from ``folder`` (fp32, CPU) as int16 levels."""
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(
        PIL.Image.fromarray(first),
        num_frames=8,
        num_inference_steps=steps,
        decode_chunk_size=8,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
        **size,
    ).frames[0]
    return np.round(reference * 255).astype(np.int16)


def test_svd_matches_diffusers_pipeline(tiny_models, keyframes):
    first, last = keyframes
    ours = create_method("svd", **options(tiny_models, "svd", num_inference_steps=3)).interpolate(
        first, last, num_frames=8, seed=7
    )
    reference = diffusers_reference(tiny_models["svd"], first, steps=3, seed=7, **SIZE)
    assert ours.std() > 5  # not a blank video
    assert np.abs(ours.astype(np.int16) - reference).max() <= 1


@pytest.fixture(scope="module")
def factor2_svd(tmp_path_factory):
    """A tiny SVD folder whose VAE downsamples by 2, as diffusers' own SVD test components (block_out_channels [32,
    64])."""
    from kfbench.methods.svd.tiny import make_tiny_svd

    return make_tiny_svd(tmp_path_factory.mktemp("svd-vae2") / "svd", vae_block_out_channels=(32, 64))


SMALL = {"height": 32, "width": 48}


def test_latent_size_follows_the_vae(factor2_svd, keyframes):
    """With a factor-2 VAE the latents are [1, N, 4, H/2, W/2] and the output still equals diffusers'."""
    from diffusers import StableVideoDiffusionPipeline

    from kfbench.methods.svd.model import latent_shape

    pipe = StableVideoDiffusionPipeline.from_pretrained(factor2_svd)
    assert pipe.vae_scale_factor == 2 and latent_shape(pipe, 8, 32, 48) == (1, 8, 4, 16, 24)
    assert vae_scale(str(factor2_svd)) == 2  # `kfbench bench --flops-only` reads it from vae/config.json
    first = keyframes[0][:32, :48]
    ours = create_method("svd", model=str(factor2_svd), num_inference_steps=2, **SMALL).interpolate(
        first, first, num_frames=8, seed=3
    )
    reference = diffusers_reference(factor2_svd, first, steps=2, seed=3, **SMALL)
    assert ours.shape == (8, 32, 48, 3) and ours.std() > 5
    assert np.abs(ours.astype(np.int16) - reference).max() <= 1


@pytest.mark.parametrize("name", ["ours", "trf", "vibid"])
def test_family_runs_on_a_factor_2_vae(factor2_svd, tiny_models, keyframes, name):
    extra = (
        {
            "checkpoint": str(tiny_models["ours-delta"]),
            "checkpoint_base": str(tiny_models["svd-img2vid"]),
            "recurrence": 1,
        }
        if name == "ours"
        else {}
    )
    method = create_method(name, model=str(factor2_svd), num_inference_steps=2, **SMALL, **extra)
    video = method.interpolate(keyframes[0][:32, :48], keyframes[1][:32, :48], num_frames=8, seed=0)
    assert video.shape == (8, 32, 48, 3) and video.std() > 1


# --- rotated attention, layer level ---------------------------------------------------------------


def attention_layer(seed: int = 0):
    from diffusers.models.attention_processor import Attention

    torch.manual_seed(seed)
    attn = Attention(query_dim=16, heads=2, dim_head=8, bias=False)
    control = AttentionControl()
    attn.set_processor(attention.TemporalSelfAttentionProcessor("layer", control))
    return attn, control


def test_rotated_map_on_reversed_input_reverses_the_output():
    attn, control = attention_layer()
    x = torch.randn(6, 7, 16)  # [batch * H * W, N frames, C]
    with control.running(Pass(record=frozenset({"layer"}))):
        forward = attn(x)
    recorded = control.maps["layer"].clone()
    with control.running(Pass(rotated=frozenset({"layer"}))):
        backward = attn(torch.flip(x, (1,)))
    assert not control.maps  # the map is dropped once used
    torch.testing.assert_close(backward, torch.flip(forward, (1,)), rtol=1e-5, atol=1e-6)
    # the rotation is A'[N-1-j, N-1-k] = A[j, k], checked element-wise
    n = recorded.shape[-1]
    rotated = attention.rotate_map(recorded)
    for j, k in ((0, 1), (2, 5), (6, 0)):
        assert torch.equal(rotated[..., n - 1 - j, n - 1 - k], recorded[..., j, k])
    # the recorded map is post-softmax: rows sum to one
    torch.testing.assert_close(recorded.sum(-1), torch.ones(recorded.shape[:-1]))


def test_backward_pass_uses_forward_map_not_its_own():
    attn, control = attention_layer()
    x, y = torch.randn(4, 5, 16), torch.randn(4, 5, 16)
    with control.running(Pass(record=frozenset({"layer"}))):
        attn(x)
    recorded = control.maps["layer"].clone()
    with control.running(Pass(rotated=frozenset({"layer"}))):
        out = attn(y)
    value = attn.to_v(y).view(4, 5, 2, 8).transpose(1, 2)
    expected = attn.to_out[0]((torch.flip(recorded, (-2, -1)) @ value).transpose(1, 2).reshape(4, 5, 16))
    torch.testing.assert_close(out, expected)
    with control.running(Pass()):
        own = attn(y)
    assert not torch.allclose(out, own, atol=1e-3)


def test_cfg_halves_pair_up_in_rotation():
    """Rows [uncond..., cond...] of the forward map feed the same rows of the backward pass."""
    attn, control = attention_layer()
    x = torch.randn(2, 3, 5, 16)  # [uncond/cond, H*W, N, C]
    with control.running(Pass(record=frozenset({"layer"}))):
        forward = attn(x.flatten(0, 1))
    with control.running(Pass(rotated=frozenset({"layer"}))):
        backward = attn(torch.flip(x, (2,)).flatten(0, 1))
    torch.testing.assert_close(backward, torch.flip(forward, (1,)), rtol=1e-5, atol=1e-6)


def test_release_compat_context_matches_diffusers_0_27_order():
    batch, hw, tokens, channels = 2, 6, 1, 4
    per_video = torch.randn(batch, tokens, channels)
    correct = per_video[:, None].expand(batch, hw, tokens, channels).reshape(batch * hw, tokens, channels)
    # diffusers 0.27: broadcast to (H*W, batch, ...) then flatten, paired with (batch, H*W) rows
    old = per_video[None].expand(hw, batch, tokens, channels).reshape(hw * batch, tokens, channels)
    assert torch.equal(attention.mix_context_as_0_27(correct, batch, 1), old)
    # a fused call of two directions mixes within each direction's CFG pair only
    both = torch.cat([correct, correct.flip(0)])
    mixed = attention.mix_context_as_0_27(both, batch, 2)
    assert torch.equal(mixed[: batch * hw], old)


def test_release_compat_changes_only_cfg_batched_calls(tiny_models, keyframes):
    """The 0.27 mixing matters only when a call's videos have different embeddings (CFG); one video: identical."""
    outputs = {}
    for compat in (False, True):
        for guidance in (1.0, 3.0):
            method = create_method(
                "svd", **options(tiny_models, "svd", release_compat=compat, max_guidance_scale=guidance)
            )
            outputs[compat, guidance] = method.interpolate(*keyframes, num_frames=8, seed=2)
    assert np.array_equal(outputs[False, 1.0], outputs[True, 1.0])
    assert not np.array_equal(outputs[False, 3.0], outputs[True, 3.0])


def test_svd_xt_config_has_16_rotated_layers_and_32_finetuned_tensors():
    """On the real SVD-XT UNet config (meta device, no weights): 16 temporal self-attention layers, 9 in the up
    blocks."""
    from diffusers import UNetSpatioTemporalConditionModel

    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel()
    layers = attention.temporal_self_attention_layers(unet)
    assert len(layers) == 16 and sum(n.startswith("up_blocks.") for n in layers) == 9
    params = dict(unet.named_parameters())
    weights = loading.expected_weights(layers, "vo")
    assert len(weights) == 32 and round(sum(params[w].numel() for w in weights) / 1e6, 1) == 24.8


# --- ablation switches -----------------------------------------------------------------------------


class SpyMaps(dict):
    """Records which layers store and read maps."""

    def __init__(self):
        super().__init__()
        self.stored, self.read = set(), set()

    def __setitem__(self, key, value):
        self.stored.add(key)
        super().__setitem__(key, value)

    def pop(self, key, *default):
        self.read.add(key)
        return super().pop(key, *default)


@pytest.fixture(scope="module")
def loaded(tiny_models):
    methods = {}
    for name in ("ours", "ours-wo-ft", "ours-wo-ra", "trf", "svd"):
        method = create_method(name, **options(tiny_models, name, recurrence=1 if name.startswith("ours") else 0))
        method.loaded()
        methods[name] = method
    return methods


@pytest.mark.parametrize(
    "name, rotated",
    [("ours", "all"), ("ours-wo-ft", "up"), ("ours-wo-ra", "none"), ("trf", "none"), ("svd", "none")],
)
def test_rotated_maps_reach_exactly_the_claimed_blocks(loaded, keyframes, name, rotated):
    method = loaded[name]
    model = method.loaded()
    assert len(model.layers) == 6  # 2 down + 1 mid + 3 up in the tiny UNet (16 in SVD)
    spy = SpyMaps()
    model.control.maps = spy
    try:
        method.interpolate(*keyframes, num_frames=8, seed=0)
    finally:
        model.control.maps = {}
    expected = {"all": set(model.layers), "up": {n for n in model.layers if n.startswith("up_blocks.")}, "none": set()}[
        rotated
    ]
    assert spy.stored == expected and spy.read == expected
    assert not spy  # nothing left behind


def test_finetuned_tensors_are_exactly_the_claimed_ones(loaded, tiny_models):
    from diffusers import UNetSpatioTemporalConditionModel

    base = UNetSpatioTemporalConditionModel.from_pretrained(tiny_models["svd-img2vid"], subfolder="unet").state_dict()
    for name, projections in (
        ("ours", {"to_v.weight", "to_out.0.weight"}),
        ("ours-wo-ra", {"to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight"}),
    ):
        model = loaded[name].loaded()
        finetuned = UNetSpatioTemporalConditionModel.from_pretrained(
            tiny_models[f"{name}-checkpoint"], subfolder="unet"
        ).state_dict()
        xt = dict(model.pipe.unet.named_parameters())
        assert set(model.backward_weights) == set(model.layers)
        for layer, tensors in model.backward_weights.items():
            assert set(tensors) == projections
            for tensor_name, tensor in tensors.items():
                full = f"{layer}.{tensor_name}"
                expected = xt[full].detach() + (finetuned[full] - base[full])
                torch.testing.assert_close(tensor, expected)
                assert not torch.equal(tensor, xt[full])
    for name in ("ours-wo-ft", "trf", "svd"):
        assert loaded[name].loaded().backward_weights is None


def test_methods_differ_where_they_should(loaded, keyframes):
    outputs = {name: m.interpolate(*keyframes, num_frames=8, seed=1).astype(np.int16) for name, m in loaded.items()}
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(outputs[a] - outputs[b]).max() > 2, (a, b)


def test_seed_fixes_the_output(loaded, keyframes):
    method = loaded["ours"]
    a = method.interpolate(*keyframes, num_frames=8, seed=3)
    b = method.interpolate(*keyframes, num_frames=8, seed=3)
    c = method.interpolate(*keyframes, num_frames=8, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_given_latents_replace_the_initial_noise(tiny_models, keyframes):
    """``latents`` is the unscaled noise the seed would draw (after the noise-augmentation draw, as in diffusers)."""
    method = create_method("svd", **options(tiny_models, "svd"))
    generator = torch.Generator().manual_seed(5)
    torch.randn(1, 3, 64, 96, generator=generator)  # the noise-augmentation draw
    noise = torch.randn(1, 8, 4, 8, 12, generator=generator)
    drawn = method.interpolate(*keyframes, num_frames=8, seed=5)
    given = method.interpolate(*keyframes, num_frames=8, seed=5, latents=noise)
    other = method.interpolate(*keyframes, num_frames=8, seed=5, latents=torch.randn(1, 8, 4, 8, 12))
    assert np.array_equal(drawn, given)
    assert not np.array_equal(drawn, other)
    with pytest.raises(KfbenchError, match=r"\[1, 8, 4, 8, 12\]"):
        method.interpolate(*keyframes, num_frames=8, seed=0, latents=torch.zeros(1, 8, 4, 64, 96))


# --- checkpoints -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, tensors", [("ours", "vo"), ("ours-wo-ra", "qkvo")])
def test_both_checkpoint_formats_give_identical_backward_models(loaded, tiny_models, name, tensors):
    model = loaded[name].loaded()
    unet, layers = model.pipe.unet, model.layers
    released = loading.load_deltas(str(tiny_models[f"{name}-checkpoint"]), str(tiny_models["svd-img2vid"]), tensors)
    compact = loading.load_deltas(str(tiny_models[f"{name}-delta"]), "unused", tensors)
    a = loading.backward_tensors(unet, layers, released, tensors)
    b = loading.backward_tensors(unet, layers, compact, tensors)
    assert a.keys() == b.keys()
    for layer in a:
        assert a[layer].keys() == b[layer].keys()
        for key in a[layer]:
            assert torch.equal(a[layer][key], b[layer][key])


def test_convert_checkpoint(tiny_models, tmp_path):
    from kfbench.methods.convert import convert_checkpoint

    dst = tmp_path / "ours.safetensors"
    convert_checkpoint(
        "ours", str(tiny_models["ours-checkpoint"]), dst, {"checkpoint_base": str(tiny_models["svd-img2vid"])}
    )
    ours, _ = loading.compact_deltas(dst)
    reference, _ = loading.compact_deltas(tiny_models["ours-delta"])
    assert ours.keys() == reference.keys() and len(ours) == 12  # W_v, W_o of 6 layers; zero bias deltas left out
    assert all(torch.equal(ours[k], reference[k]) for k in ours)


def test_bad_checkpoints_give_clear_errors(loaded, tiny_models, tmp_path):
    from safetensors.torch import save_file

    model = loaded["ours"].loaded()
    good, metadata = loading.compact_deltas(tiny_models["ours-delta"])

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(tiny_models["ours-delta"].read_bytes()[:500])
    with pytest.raises(KfbenchError, match="not a readable safetensors"):
        loading.load_deltas(str(truncated), "unused", "vo")

    missing = dict(good)
    dropped = sorted(missing)[0]
    del missing[dropped]
    path = tmp_path / "missing.safetensors"
    save_file(missing, str(path), metadata=metadata)
    with pytest.raises(KfbenchError, match=f"missing {dropped}"):
        loading.backward_tensors(model.pipe.unet, model.layers, loading.load_deltas(str(path), "unused", "vo"), "vo")

    shaped = {**good, dropped: torch.zeros(3, 3)}
    extra = {**good, "down_blocks.0.resnets.0.conv1.weight": torch.zeros(1)}
    for label, tensors, pattern in (
        ("shape", shaped, f"mis-shaped {dropped}"),
        ("extra", extra, "unexpected down_blocks.0.resnets.0.conv1.weight"),
    ):
        path = tmp_path / f"{label}.safetensors"
        save_file(tensors, str(path), metadata=metadata)
        with pytest.raises(KfbenchError, match=pattern):
            loading.backward_tensors(
                model.pipe.unet, model.layers, loading.load_deltas(str(path), "unused", "vo"), "vo"
            )

    with pytest.raises(KfbenchError, match="needs 'qkvo'"):
        loading.load_deltas(str(tiny_models["ours-delta"]), "unused", "qkvo")
    with pytest.raises(KfbenchError, match="--checkpoint"):
        create_method("ours", **{**options(tiny_models, "ours"), "checkpoint": None})


# --- schedules -------------------------------------------------------------------------------------


def test_paper_defaults_make_350_unet_calls():
    counts = {
        name: create_method(name, checkpoint="unused.safetensors").unet_calls_per_video()
        for name in ("ours", "ours-wo-ra")
    }
    counts.update({name: create_method(name).unet_calls_per_video() for name in ("ours-wo-ft", "trf", "svd")})
    assert counts == {"ours": 350, "ours-wo-ra": 350, "ours-wo-ft": 350, "trf": 110, "svd": 50}


def test_recurrence_schedule_arithmetic():
    moves = schedules.recurrence_schedule(50, 5, 0.5)
    assert schedules.denoise_count(moves) == 25 * 6 + 25
    # step k is followed by 5 x (noise back to level k, redo k -> k+1) for k < 25 only
    assert moves[:3] == [schedules.denoise(0), schedules.renoise(1), schedules.denoise(0)]
    assert [m for m in moves if m.renoise] == [schedules.renoise(k + 1) for k in range(25) for _ in range(5)]
    assert schedules.recurrence_schedule(50, 0, 0.5) == schedules.plain_schedule(50)


def test_trf_jump_schedule():
    moves = schedules.jump_schedule(50, 5, 2, 0.8, 1.0)
    levels = [m.src for m in moves if not m.renoise]
    assert levels == list(range(10)) + list(range(5, 50))
    assert [(m.src, m.dst) for m in moves if m.renoise] == [(10, 9), (9, 8), (8, 7), (7, 6), (6, 5)]
    assert schedules.jump_schedule(50, 5, 2, 1.0, 1.0) == schedules.plain_schedule(50)


def test_renoise_restores_the_noise_level(loaded):
    """Noise re-injected from level k+1 to k has variance sigma_k^2 - sigma_{k+1}^2 (times noise_scale^2)."""
    from kfbench.methods.svd.sampler import sample

    scheduler = loaded["svd"].loaded().pipe.scheduler
    scheduler.set_timesteps(10)
    z = torch.zeros(1, 8, 4, 32, 32)
    out = sample(
        None,
        z,
        sigmas=scheduler.sigmas,
        timesteps=scheduler.timesteps,
        moves=[schedules.renoise(4, 0.5)],
        first=None,
        last=None,
        weights=None,
        directions=None,
        generator=torch.Generator().manual_seed(0),
    )
    expected = 0.5 * float(scheduler.sigmas[3] ** 2 - scheduler.sigmas[4] ** 2) ** 0.5
    assert abs(out.std().item() / expected - 1) < 0.03


# --- end to end ------------------------------------------------------------------------------------

METHODS = ["ours", "ours-wo-ft", "ours-wo-ra", "trf", "svd", "vibid"]


def run_flags(tiny_models, name: str, out) -> list[str]:
    flags = [
        "run",
        "--method",
        name,
        "--dataset",
        "synthetic",
        "--out",
        str(out),
        "--quiet",
        "--model",
        str(tiny_models["svd"]),
    ]
    if name != "vibid":
        flags += ["--checkpoint-base", str(tiny_models["svd-img2vid"])]
    if name in ("ours", "ours-wo-ra"):
        flags += ["--checkpoint", str(tiny_models[f"{name}-checkpoint" if name == "ours" else f"{name}-delta"])]
    return flags + [
        "--height",
        "64",
        "--width",
        "96",
        "--num-inference-steps",
        "2",
        "--num-frames",
        "8",
        "--num-pairs",
        "1",
    ]


@pytest.mark.parametrize("name", METHODS)
def test_kfbench_run_end_to_end(tiny_models, tmp_path, name):
    """`kfbench run` through the console entry point, in-process (start-up and imports would dominate; the CLI's
    subprocess tests cover `python -m kfbench` itself)."""
    code, _, stderr = run_main(*run_flags(tiny_models, name, tmp_path))
    assert code == 0, stderr
    (meta_path,) = (tmp_path / "synthetic" / name).glob("*/meta.json")
    meta = json.loads(meta_path.read_text())
    # 2 steps, recurrence 5 over the first int(2 * 0.5) = 1: 7 fused steps; TRF: no jumps at 2 steps; ViBiD: 2 per step
    expected = {"ours": 14, "ours-wo-ft": 14, "ours-wo-ra": 14, "trf": 4, "svd": 2, "vibid": 4}[name]
    assert meta["stats"]["unet_calls"] == expected
    assert meta["options"]["num_inference_steps"] == 2
    assert len(list(meta_path.parent.glob("frames/*.png"))) == 8
