"""`ours` against an independent re-statement of the released sampler (two UNet copies, classic attention path)."""

from __future__ import annotations

import copy

import numpy as np
import PIL.Image
import pytest
import torch

from kfbench.registry import create_method

N, STEPS = 8, 2


class ReleaseStyleProcessor:
    """Records post-softmax maps in call order, or replays the recorded ones rotated (via diffusers' classic path)."""

    def __init__(self, store: list, replay: bool) -> None:
        self.store, self.replay = store, replay

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(hidden_states))
        value = attn.head_to_batch_dim(attn.to_v(hidden_states))
        probs = attn.get_attention_scores(query, key, None)
        if self.replay:
            probs = torch.flip(self.store.pop(0), dims=(-2, -1))
        else:
            self.store.append(probs)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        return attn.to_out[1](attn.to_out[0](out))


@torch.no_grad()
def release_style(pipe, finetuned_dir, base_dir, first, last, noise, fusion):
    from diffusers import EulerDiscreteScheduler, UNetSpatioTemporalConditionModel

    forward_unet = pipe.unet
    backward_unet = copy.deepcopy(pipe.unet)
    state = backward_unet.state_dict()
    finetuned = UNetSpatioTemporalConditionModel.from_pretrained(finetuned_dir, subfolder="unet").state_dict()
    original = UNetSpatioTemporalConditionModel.from_pretrained(base_dir, subfolder="unet").state_dict()
    for name, value in finetuned.items():
        if "temporal_transformer_blocks.0.attn1.to_v" in name or "temporal_transformer_blocks.0.attn1.to_out.0" in name:
            state[name] = state[name] + (value - original[name])
    backward_unet.load_state_dict(state)
    store: list = []
    for unet, replay in ((forward_unet, False), (backward_unet, True)):
        unet.set_attn_processor(
            {
                n: ReleaseStyleProcessor(store, replay)
                if n.endswith("temporal_transformer_blocks.0.attn1.processor")
                else p
                for n, p in unet.attn_processors.items()
            }
        )

    def condition(image):
        embedding = pipe._encode_image(PIL.Image.fromarray(image), "cpu", 1, True)
        pixels = pipe.video_processor.preprocess(PIL.Image.fromarray(image), height=64, width=96)
        latent = pipe._encode_vae_image(pixels, "cpu", 1, True)  # noise augmentation 0
        return embedding, latent.unsqueeze(1).repeat(1, N, 1, 1, 1)

    (emb1, lat1), (emb2, lat2) = condition(first), condition(last)
    time_ids = pipe._get_add_time_ids(6, 127, 0.0, emb1.dtype, 1, 1, True)
    scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    scheduler.set_timesteps(STEPS)
    ramp = torch.linspace(1.0, 3.0, N)[None, :, None, None, None]
    if fusion == "weighted":
        guidance, weight = ramp, torch.linspace(1, 0, N)[None, :, None, None, None]
    else:
        guidance, weight = (ramp + torch.flip(ramp, (1,))) * 0.5, 0.5
    latents = noise * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        predictions = []
        for unet, z, emb, lat in (
            (forward_unet, latents, emb1, lat1),
            (backward_unet, torch.flip(latents, (1,)), emb2, lat2),
        ):
            x = torch.cat([scheduler.scale_model_input(torch.cat([z] * 2), t), lat], dim=2)
            uncond, cond = unet(x, t, encoder_hidden_states=emb, added_time_ids=time_ids, return_dict=False)[0].chunk(2)
            predictions.append(uncond + guidance * (cond - uncond))
        fused = weight * predictions[0] + (1 - weight) * torch.flip(predictions[1], (1,))
        latents = scheduler.step(fused, t, latents).prev_sample
    video = pipe.video_processor.postprocess_video(pipe.decode_latents(latents, N, N), output_type="np")[0]
    return np.round(video * 255).astype(np.int16)


@pytest.mark.parametrize("fusion", ["average", "weighted"])
def test_ours_matches_release_style_sampler(tiny_models, fusion):
    from diffusers import StableVideoDiffusionPipeline

    rng = np.random.default_rng(1)
    first = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    last = np.roll(first, 11, axis=1)
    noise = torch.randn(1, N, 4, 8, 12, generator=torch.Generator().manual_seed(2))
    method = create_method(
        "ours",
        model=str(tiny_models["svd"]),
        checkpoint=str(tiny_models["ours-checkpoint"]),
        checkpoint_base=str(tiny_models["svd-img2vid"]),
        height=64,
        width=96,
        num_inference_steps=STEPS,
        noise_aug_strength=0.0,
        recurrence=0,
        fusion=fusion,
    )
    ours = method.interpolate(first, last, num_frames=N, seed=0, latents=noise).astype(np.int16)
    pipe = StableVideoDiffusionPipeline.from_pretrained(tiny_models["svd"])
    reference = release_style(
        pipe, tiny_models["ours-checkpoint"], tiny_models["svd-img2vid"], first, last, noise, fusion
    )
    assert np.abs(ours - reference).max() <= 1


def test_trf_latent_blend_equals_weighted_prediction_fusion(tiny_models):
    """Without jumps, TRF's per-frame blend of Euler results is the weighted fusion of v-predictions."""
    rng = np.random.default_rng(3)
    first, last = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    common = dict(model=str(tiny_models["svd"]), height=64, width=96, num_inference_steps=STEPS, repeat_step_ratio=1.0)
    trf = create_method("trf", **common).interpolate(first, last, num_frames=N, seed=4).astype(np.int16)
    fused = create_method("ours-wo-ft", **common, rotated_attention="none", fusion="weighted", recurrence=0)
    other = fused.interpolate(first, last, num_frames=N, seed=4).astype(np.int16)
    assert np.abs(trf - other).max() <= 1
