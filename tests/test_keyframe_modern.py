"""LTX-2, SkyReels-V2 (FLF2V, diffusion forcing) and Wan VACE through the keyframe adapter, against their pipelines.

Each method is compared with its pipeline called directly (tiny offline folders written by
make-tiny-models, 2 steps), with the arguments its documentation uses for two keyframes.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from kfbench.registry import create_method
from tests.helpers.inprocess import error_line, run_main
from tests.helpers.keyframes import keyframes

SIZE, STEPS = 32, 2
FRAMES = {"ltx2": 9, "skyreels-v2": 9, "skyreels-v2-df": 9, "wan-vace": 9, "wan-vace-1.3b": 9}
FOLDER = {
    "ltx2": "ltx2",
    "skyreels-v2": "skyreels-v2",
    "skyreels-v2-df": "skyreels-v2-df",
    "wan-vace": "wan-vace",
    "wan-vace-1.3b": "wan-vace",
}
PIPELINE = {
    "ltx2": "LTX2ConditionPipeline",
    "skyreels-v2": "SkyReelsV2ImageToVideoPipeline",
    "skyreels-v2-df": "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    "wan-vace": "WanVACEPipeline",
    "wan-vace-1.3b": "WanVACEPipeline",
}
PROMPT, NEGATIVE = "a bird flies over the sea", "static"


def tiny_method(name: str, tiny_models, **options):
    defaults = {
        "height": SIZE,
        "width": SIZE,
        "video_frames": "match",
        "num_inference_steps": STEPS,
        "negative_prompt": NEGATIVE,
    }
    return create_method(name, model=str(tiny_models[FOLDER[name]]), **{**defaults, **options})


def keyframe_inputs(name: str, first: np.ndarray, last: np.ndarray, frames: int) -> dict:
    """The documentation's way of giving each pipeline two keyframes."""
    a, b = Image.fromarray(first), Image.fromarray(last)
    if name == "ltx2":
        from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

        return {
            "conditions": [
                LTX2VideoCondition(frames=a, index=0, strength=1.0),
                LTX2VideoCondition(frames=b, index=-1, strength=1.0),
            ]
        }
    if name.startswith("wan-vace"):
        grey = [Image.new("RGB", (SIZE, SIZE), (128, 128, 128))] * (frames - 2)
        masks = [
            Image.new("L", (SIZE, SIZE), 0),
            *[Image.new("L", (SIZE, SIZE), 255)] * (frames - 2),
            Image.new("L", (SIZE, SIZE), 0),
        ]
        return {"video": [a, *grey, b], "mask": masks}
    return {"image": a, "last_image": b}


def model_arguments(name: str, method) -> dict:
    """The model-specific arguments the presets pass (besides prompt, size, frames, steps, guidance)."""
    if name == "ltx2":
        return {"frame_rate": method.fps, **method.guidance()}
    if name == "skyreels-v2-df":
        return {"fps": 24, "ar_step": 0, "causal_block_size": None, "addnoise_condition": 0.0}
    return {}


def direct_video(name: str, folder, first, last, seed: int, method, **extra) -> np.ndarray:
    """The user's plain-diffusers call with the documented flow shift, frames as PIL images stacked to uint8."""
    import diffusers
    from diffusers import UniPCMultistepScheduler

    pipe = getattr(diffusers, PIPELINE[name]).from_pretrained(folder, use_safetensors=True)
    if method.flow_shift is not None:
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=method.flow_shift)
    pipe.set_progress_bar_config(disable=True)
    frames = FRAMES[name]
    arguments = {
        "prompt": PROMPT,
        "negative_prompt": NEGATIVE,
        "height": SIZE,
        "width": SIZE,
        "num_frames": frames,
        "num_inference_steps": STEPS,
        "guidance_scale": method.guidance_scale,
        "generator": torch.Generator("cpu").manual_seed(seed),
        "output_type": "pil",
        **keyframe_inputs(name, first, last, frames),
        **model_arguments(name, method),
        **extra,
    }
    return np.stack([np.asarray(frame) for frame in pipe(**arguments).frames[0]])


# calls of 2 steps: CFG passes separate (Wan family: x2), LTX-2 batched CFG + STG + modality per step
CALLS = {
    "ltx2": 3 * STEPS,
    "skyreels-v2": 2 * STEPS,
    "skyreels-v2-df": 2 * STEPS,
    "wan-vace": 2 * STEPS,
    "wan-vace-1.3b": 2 * STEPS,
}


@pytest.mark.parametrize("name", ["ltx2", "skyreels-v2", "skyreels-v2-df", "wan-vace"])
def test_equals_its_diffusers_pipeline(tiny_models, name):
    first, last = keyframes(3)
    method = tiny_method(name, tiny_models)
    ours = method.interpolate(first, last, num_frames=FRAMES[name], seed=7, prompt=PROMPT)
    theirs = direct_video(name, tiny_models[FOLDER[name]], first, last, 7, method)
    assert ours.shape == theirs.shape == (FRAMES[name], SIZE, SIZE, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    assert method.stats["transformer_calls"] == CALLS[name]
    assert method.stats["libraries"]["diffusers"] == "0.42.1" and method.stats["libraries"]["transformers"]
    other = method.interpolate(first, last, num_frames=FRAMES[name], seed=8, prompt=PROMPT)
    assert np.abs(other.astype(int) - ours.astype(int)).max() > 1  # the seed matters: the equality above is not vacuous


def test_skyreels_df_addnoise_is_seeded_and_equal(tiny_models):
    """addnoise_condition draws torch.randn_like from the global RNG: kfbench seeds it with the run's seed."""
    first, last = keyframes(4)
    method = tiny_method("skyreels-v2-df", tiny_models, addnoise_condition=20.0)
    ours = method.interpolate(first, last, num_frames=9, seed=3, prompt=PROMPT)
    assert np.array_equal(ours, method.interpolate(first, last, num_frames=9, seed=3, prompt=PROMPT))
    torch.manual_seed(3)
    theirs = direct_video(
        "skyreels-v2-df", tiny_models["skyreels-v2-df"], first, last, 3, method, addnoise_condition=20.0
    )
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_keyframe_times_follow_each_pipeline(tiny_models):
    """LTX-2: keyframe 2 at frame N - r (r = 2 in the tiny VAE, 8 in LTX-2's); DF: a latent step after the end."""
    ltx2 = tiny_method("ltx2", tiny_models)
    ltx2.pipeline()
    assert ltx2.temporal_factor == 2 and ltx2.output_times(9) == [i / 7 for i in range(9)]
    assert create_method("ltx2", device="cpu").output_times(121)[113] == 1.0
    df = tiny_method("skyreels-v2-df", tiny_models)
    assert df.output_times(9) == [i / 12 for i in range(9)]
    for name in ("skyreels-v2", "wan-vace"):
        assert tiny_method(name, tiny_models).output_times(9) == [i / 8 for i in range(9)]


# frame index of keyframe 2 for 9 frames: LTX-2 N - r (tiny VAE r = 2), DF one latent step (4) after frame 8, VACE N - 1
KEYFRAME_2 = {"ltx2": 7, "skyreels-v2-df": 12, "wan-vace-1.3b": 8}


@pytest.mark.parametrize("name", ["ltx2", "skyreels-v2-df", "wan-vace-1.3b"])
def test_run_evaluate_report(tiny_models, tmp_path, name):
    out = tmp_path / "runs"
    code, _, stderr = run_main(
        "run", "-m", name, "-d", "synthetic", "--model", tiny_models[FOLDER[name]], "--out", out, "--height", SIZE,
        "--width", SIZE, "--video-frames", "match", "--num-frames", 9, "--num-pairs", 1,
        "--num-inference-steps", STEPS, "--prompt", "the camera pans left", "--seed", 5, "--quiet",
    )  # fmt: skip
    assert code == 0, stderr
    meta = json.loads(next((out / "synthetic" / name).glob("*/meta.json")).read_text())
    assert meta["frame_times"] == [i / KEYFRAME_2[name] for i in range(9)]
    assert meta["stats"]["libraries"]["diffusers"] == meta["environment"]["packages"]["diffusers"] == "0.42.1"
    code, stdout, stderr = run_main("evaluate", "--out", out, "--metrics", "psnr", "--bootstrap", 0, "--quiet")
    assert code == 0, stderr
    assert f"synthetic {name} psnr" in stdout
    code, _, stderr = run_main("report", "--out", out, "--to", tmp_path / "report", "--quiet")
    assert code == 0, stderr
    assert name in (tmp_path / "report" / "table1.md").read_text()


def test_bad_input_is_one_line(tiny_models, tmp_path):
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", tmp_path / "runs", "--quiet")
    sized = ("--height", SIZE, "--width", SIZE)
    assert "multiples of 32" in error_line(*common, "-m", "ltx2", "--height", 500)
    assert "e.g. --height 480" in error_line(*common, "-m", "ltx2", "--height", 500)
    assert "8k+1 frames; --video-frames gives 120 (nearest: 121)" in error_line(
        *common, "-m", "ltx2", "--video-frames", 120
    )
    assert "4k+1 frames; --video-frames gives 96 (nearest: 97)" in error_line(
        *common, "-m", "skyreels-v2-df", "--video-frames", 96
    )
    assert "multiples of 16" in error_line(*common, "-m", "wan-vace", "--width", 1000)
    assert "4k+1 frames" in error_line(*common, "-m", "skyreels-v2", "--video-frames", 80)
    # a folder of the wrong model
    assert "not a WanVACEPipeline" in error_line(*common, "-m", "wan-vace", "--model", tiny_models["ltx2"], *sized)
    assert "not a LTX2ConditionPipeline" in error_line(
        *common, "-m", "ltx2", "--model", tiny_models["wan-vace"], *sized
    )
    wrong_df = error_line(*common, "-m", "skyreels-v2-df", "--model", tiny_models["skyreels-v2"], *sized)
    assert "not a SkyReelsV2DiffusionForcingImageToVideoPipeline" in wrong_df
    # folder/pipeline pairs that would drop keyframe 2: an I2V checkpoint (one image embedding), Wan 2.2 TI2V-5B
    i2v = tmp_path / "skyreels-i2v"
    shutil.copytree(tiny_models["skyreels-v2"], i2v)
    config = json.loads((i2v / "transformer" / "config.json").read_text())
    (i2v / "transformer" / "config.json").write_text(json.dumps({**config, "pos_embed_seq_len": None}))
    assert "cannot take last_image); use Skywork/SkyReels-V2-FLF2V" in error_line(
        *common, "-m", "skyreels-v2", "--model", i2v, *sized
    )
    for name in ("skyreels-v2-df", "wan-vace"):
        ti2v = tmp_path / f"ti2v-{name}"
        shutil.copytree(tiny_models[FOLDER[name]], ti2v)
        index = json.loads((ti2v / "model_index.json").read_text())
        (ti2v / "model_index.json").write_text(json.dumps({**index, "expand_timesteps": True}))
        assert "TI2V-5B" in error_line(*common, "-m", name, "--model", ti2v, *sized)
    assert "guidance_scale_2" in error_line(*common, "-m", "ltx2", "--guidance-scale-2", 2)


def test_make_tiny_models_writes_the_modern_folders(tiny_models):
    for folder, pipeline in (
        ("ltx2", "LTX2ConditionPipeline"),
        ("skyreels-v2", "SkyReelsV2ImageToVideoPipeline"),
        ("skyreels-v2-df", "SkyReelsV2DiffusionForcingImageToVideoPipeline"),
        ("wan-vace", "WanVACEPipeline"),
    ):
        index = json.loads((tiny_models[folder] / "model_index.json").read_text())
        assert index["_class_name"] == pipeline
        assert not list(tiny_models[folder].rglob("*.bin")) and list(tiny_models[folder].rglob("*.safetensors"))
    assert (
        json.loads((tiny_models["ltx2"] / "model_index.json").read_text())["connectors"][0] == "ltx2"
    )  # a diffusers package


def test_denoiser_calls_at_the_presets_settings():
    """Calls per video by each pipeline's rules, with the embedded real scheduler (no networks built)."""
    from kfbench.methods.keyframe.bench import real_pipeline, scheduler_from_config

    calls = {"ltx2": 90, "skyreels-v2": 100, "skyreels-v2-df": 100, "wan-vace": 60, "wan-vace-1.3b": 60}
    for name, expected in calls.items():
        method = create_method(name, device="cpu")
        scheduler = scheduler_from_config(real_pipeline(method.model)["scheduler"])
        assert sum(method.denoiser_calls(scheduler, None, method.frames_for(9)).values()) == expected, name
    df = create_method(
        "skyreels-v2-df", device="cpu", ar_step=5, causal_block_size=5, video_frames=77
    )  # 20 + 1 latent frames
    scheduler = scheduler_from_config(real_pipeline(df.model)["scheduler"])
    assert df.denoiser_calls(scheduler, None, 77)["transformer"] > 100  # asynchronous: later blocks lag ar_step steps


@pytest.mark.slow
def test_full_size_parameters_and_calls_without_weights():
    """Real configs on the meta device: counts against the published rounded names, calls at the presets' settings."""
    from kfbench.bench import randomweights
    from kfbench.bench.measure import run_bench

    counts = {n: s.parameters for n, s in randomweights.random_models().items()}
    assert round(counts["ltx2-transformer"] / 1e9) == 19  # ltx-2-19b-dev
    assert round(counts["ltx2-gemma3-12b-encoder"] / 1e8) == 122  # gemma-3-12b: 12.2 B
    assert round(counts["skyreels-df-14b-transformer"] / 1e9) == 14  # SkyReels-V2-DF-14B
    assert (
        counts["skyreels-df-14b-transformer"] < counts["wan-vace-14b-transformer"]
    )  # the same backbone plus VACE blocks
    calls = {"ltx2": 90, "skyreels-v2": 100, "skyreels-v2-df": 100, "wan-vace": 60, "wan-vace-1.3b": 60}
    for name, expected in calls.items():
        options = {
            "device": "cpu",
            "dtype": "bfloat16",
            "height": 64,
            "width": 64,
            "video_frames": 9 if name != "ltx2" else 17,
        }
        report = run_bench(name, options, num_frames=9, flops_only=True)
        assert report["flops"]["calls_per_video"] == expected, name
        parameters = sum(c["parameters"] for n, c in report["memory"]["components"].items() if n == "transformer")
        assert report["flops"]["per_call"] > 2 * parameters  # every weight multiplies at least one token
    assert (
        run_bench(
            "ltx2", {"device": "cpu", "height": 64, "width": 64, "video_frames": 17}, num_frames=9, flops_only=True
        )["flops"]["passes"]
        == 30 * 4
    )  # CFG call counted as two batch-1 passes
