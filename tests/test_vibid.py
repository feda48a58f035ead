"""ViBiDSampler on the SVD engine (tiny models, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kfbench.methods.svd import vibid
from kfbench.methods.svd.denoiser import Denoiser, Request
from kfbench.methods.svd.steps import cfgpp_update, euler, guided_x0, v_to_x0
from kfbench.registry import create_method

FAST = {"height": 64, "width": 96, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def keyframes():
    rng = np.random.default_rng(5)
    first = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    return first, np.roll(first, -13, axis=1)


@pytest.fixture(scope="module")
def method(tiny_models):
    m = create_method("vibid", model=str(tiny_models["svd"]), **FAST)
    m.loaded()
    return m


def test_dds_puts_the_far_keyframe_at_the_far_end_in_both_directions(method, keyframes, monkeypatch):
    pipe = method.loaded().pipe
    expected = []
    for frame in keyframes:
        pixels = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 127.5 - 1
        expected.append(pipe.vae.encode(pixels).latent_dist.mode() * 0.18215)
    seen = []

    def spy(x, x0, x0_uncond, sigma, sigma_next, cfgpp=True):
        seen.append(x0.clone())
        return cfgpp_update(x, x0, x0_uncond, sigma, sigma_next, cfgpp)

    monkeypatch.setattr(vibid, "cfgpp_update", spy)
    method.interpolate(*keyframes, num_frames=8, seed=0)
    assert len(seen) == 2 * FAST["num_inference_steps"]
    for i, x0 in enumerate(seen):
        far = expected[1] if i % 2 == 0 else expected[0]  # forward: keyframe 2; flipped backward: keyframe 1
        torch.testing.assert_close(x0[:, -1], far, rtol=0, atol=1e-5)
        assert not torch.allclose(x0[:, 0], far, atol=1e-2)


def test_without_cfgpp_and_unit_guidance_the_step_is_plain_euler(method, keyframes):
    from kfbench.methods.svd.conditioning import encode_keyframes

    model = method.loaded()
    (cond,) = encode_keyframes(
        model.pipe,
        [keyframes[0]],
        num_frames=8,
        fps=7,
        motion_bucket_id=127,
        noise_aug_strength=0.02,
        cfg=True,
        generator=torch.Generator().manual_seed(0),
    )
    sigmas, timesteps, _ = model.sigmas(4)
    z = torch.randn(1, 8, 4, 8, 12, generator=torch.Generator().manual_seed(1)) * sigmas[1]
    denoiser = Denoiser(model.pipe.unet, model.control)
    step = vibid.vibid_step(
        denoiser, z, sigmas[1], sigmas[2], timesteps[1], cond, torch.zeros(1, 4, 8, 12), 1.0, dds=False, cfgpp=False
    )
    ((_, v_cond),) = denoiser.halves([Request(z, cond)], sigmas[1], timesteps[1])
    torch.testing.assert_close(step, euler(z, v_cond, sigmas[1], sigmas[2]), rtol=1e-5, atol=1e-4)
    assert denoiser.stats["unet_calls"] == 2
    # and CFG++ differs from it: the update is anchored on the unconditional x0
    x0_u, x0_c = torch.randn(2, 1, 8, 4, 8, 12)
    x = torch.randn(1, 8, 4, 8, 12)
    plain = cfgpp_update(x, guided_x0(x0_u, x0_c, 1.0), x0_u, torch.tensor(2.0), torch.tensor(1.0), cfgpp=False)
    torch.testing.assert_close(plain, x0_c + 0.5 * (x - x0_c))
    assert not torch.allclose(plain, cfgpp_update(x, x0_c, x0_u, torch.tensor(2.0), torch.tensor(1.0)))


def test_seed_fixes_the_output_and_switches_matter(method, tiny_models, keyframes):
    a = method.interpolate(*keyframes, num_frames=8, seed=1)
    assert np.array_equal(a, method.interpolate(*keyframes, num_frames=8, seed=1))
    assert not np.array_equal(a, method.interpolate(*keyframes, num_frames=8, seed=2))
    assert method.stats["unet_calls"] == 4
    no_dds = create_method("vibid", model=str(tiny_models["svd"]), dds=False, **FAST)
    assert not np.array_equal(a, no_dds.interpolate(*keyframes, num_frames=8, seed=1))


def test_v_to_x0_is_edm_preconditioning():
    sigma = torch.tensor(3.0)
    x, v = torch.randn(2, 5)
    expected = x / (sigma**2 + 1) - v * sigma / (sigma**2 + 1) ** 0.5
    torch.testing.assert_close(v_to_x0(v, x, sigma), expected)
