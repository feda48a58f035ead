"""LTX-2, SkyReels-V2 (FLF2V, diffusion forcing) and Wan VACE (2.1, 2.2 VACE-Fun) through the keyframe adapter, against
their pipelines.

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
FRAMES = {"ltx2": 9, "skyreels-v2": 9, "skyreels-v2-df": 9, "wan-vace": 9, "wan-vace-1.3b": 9, "wan22-vace": 9}
FOLDER = {
    "ltx2": "ltx2",
    "skyreels-v2": "skyreels-v2",
    "skyreels-v2-df": "skyreels-v2-df",
    "wan-vace": "wan-vace",
    "wan-vace-1.3b": "wan-vace",
    "wan22-vace": "wan22-vace",
}
PIPELINE = {
    "ltx2": "LTX2ConditionPipeline",
    "skyreels-v2": "SkyReelsV2ImageToVideoPipeline",
    "skyreels-v2-df": "SkyReelsV2DiffusionForcingImageToVideoPipeline",
    "wan-vace": "WanVACEPipeline",
    "wan-vace-1.3b": "WanVACEPipeline",
    "wan22-vace": "WanVACEPipeline",
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
    if "vace" in name:
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
    if name == "wan22-vace":
        return {"guidance_scale_2": method.guidance_scale_2}
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
    "wan22-vace": 2 * STEPS,
}


def max_difference(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


@pytest.mark.parametrize("name", ["ltx2", "skyreels-v2", "skyreels-v2-df", "wan-vace", "wan22-vace"])
def test_equals_its_diffusers_pipeline(tiny_models, name):
    first, last = keyframes(3)
    method = tiny_method(name, tiny_models)
    ours = method.interpolate(first, last, num_frames=FRAMES[name], seed=7, prompt=PROMPT)
    theirs = direct_video(name, tiny_models[FOLDER[name]], first, last, 7, method)
    assert ours.shape == theirs.shape == (FRAMES[name], SIZE, SIZE, 3)
    difference = max_difference(ours, theirs)
    assert difference <= 1, f"{name}: {difference} uint8 levels from the pipeline called directly"
    assert method.stats["transformer_calls"] == CALLS[name]
    assert method.stats["libraries"]["diffusers"] == "0.42.1" and method.stats["libraries"]["transformers"]
    other = method.interpolate(first, last, num_frames=FRAMES[name], seed=8, prompt=PROMPT)
    seeds = max_difference(other, ours)
    assert seeds > 1, f"{name}: seeds 7 and 8 differ by {seeds} levels"  # so the equality above is not vacuous


def test_wan22_vace_runs_both_experts_with_their_own_guidance(tiny_models):
    """Timesteps 999 >= 875 > 833 (2 steps at flow shift 5): one step per expert; guidance_scale_2 reaches the
    low-noise expert, and the video still equals the pipeline's with that value. (The tiny random text path moves
    the prediction little: CFG 5 vs 20 changes the video by 1 level, so the scale here is large enough to show.)"""
    first, last = keyframes(3)
    method = tiny_method("wan22-vace", tiny_models, guidance_scale_2=500.0)
    ours = method.interpolate(first, last, num_frames=9, seed=7, prompt=PROMPT)
    assert method.stats["calls_by_denoiser"] == {"transformer": 2, "transformer_2": 2}
    theirs = direct_video("wan22-vace", tiny_models["wan22-vace"], first, last, 7, method)
    difference = max_difference(ours, theirs)
    assert difference <= 1, f"{difference} uint8 levels from the pipeline called directly with guidance_scale_2 500"
    default = tiny_method("wan22-vace", tiny_models).interpolate(first, last, num_frames=9, seed=7, prompt=PROMPT)
    changed = max_difference(default, ours)
    assert changed > 1, f"guidance_scale_2 5 (the preset's) and 500 differ by {changed} levels"


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
    for name in ("skyreels-v2", "wan-vace", "wan22-vace"):
        assert tiny_method(name, tiny_models).output_times(9) == [i / 8 for i in range(9)]


# frame index of keyframe 2 for 9 frames: LTX-2 N - r (tiny VAE r = 2), DF one latent step (4) after frame 8, VACE N - 1
KEYFRAME_2 = {"ltx2": 7, "skyreels-v2-df": 12, "wan-vace-1.3b": 8, "wan22-vace": 8}


@pytest.mark.parametrize("name", ["ltx2", "skyreels-v2-df", "wan-vace-1.3b", "wan22-vace"])
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


def edited_copy(folder, to, **index_changes):
    """A copy of a tiny folder with its model_index.json changed (a value of None removes the key)."""
    shutil.copytree(folder, to)
    index = {**json.loads((to / "model_index.json").read_text()), **index_changes}
    (to / "model_index.json").write_text(json.dumps({k: v for k, v in index.items() if v is not None}))
    return to


def test_vace_presets_refuse_the_other_layout_and_inconsistent_folders(tiny_models, tmp_path):
    """wan-vace keeps refusing a two-expert folder (its defaults are Wan 2.1 VACE's) and names wan22-vace; wan22-vace
    refuses a one-transformer folder, and a folder whose experts and boundary_ratio disagree, in one line."""
    common = ("run", "-d", "synthetic", "--num-pairs", 1, "--out", tmp_path / "runs", "--quiet", "--height", SIZE,
              "--width", SIZE)  # fmt: skip
    two, one = tiny_models["wan22-vace"], tiny_models["wan-vace"]
    assert "has two experts; use wan22-vace (two experts)" in error_line(*common, "-m", "wan-vace", "--model", two)
    assert "has two experts; use wan22-vace" in error_line(*common, "-m", "wan-vace-1.3b", "--model", two)
    assert "has one transformer; use wan-vace or wan-vace-1.3b (one transformer)" in error_line(
        *common, "-m", "wan22-vace", "--model", one
    )
    no_boundary = edited_copy(two, tmp_path / "no-boundary", boundary_ratio=None)
    assert "no boundary_ratio in model_index.json: the step where the experts switch is not guessed" in error_line(
        *common, "-m", "wan22-vace", "--model", no_boundary
    )
    absent = edited_copy(two, tmp_path / "absent")
    shutil.rmtree(absent / "transformer_2")
    assert "lists transformer_2 in model_index.json but has no transformer_2 folder" in error_line(
        *common, "-m", "wan22-vace", "--model", absent
    )
    lone = edited_copy(one, tmp_path / "lone-boundary", boundary_ratio=0.875)
    for name in ("wan-vace", "wan22-vace"):
        assert "sets boundary_ratio 0.875 in model_index.json but has no transformer_2" in error_line(
            *common, "-m", name, "--model", lone
        )
    outside = edited_copy(two, tmp_path / "outside", boundary_ratio=875)
    assert "boundary_ratio 875 in model_index.json; it must lie in (0, 1)" in error_line(
        *common, "-m", "wan22-vace", "--model", outside
    )
    assert "guidance_scale_2 is the second expert's (wan22-vace)" in error_line(
        *common, "-m", "wan-vace", "--guidance-scale-2", 2
    )
    assert "TI2V-5B" in error_line(
        *common, "-m", "wan22-vace", "--model", edited_copy(two, tmp_path / "ti2v", expand_timesteps=True)
    )


def test_make_tiny_models_writes_the_modern_folders(tiny_models):
    for folder, pipeline in (
        ("ltx2", "LTX2ConditionPipeline"),
        ("skyreels-v2", "SkyReelsV2ImageToVideoPipeline"),
        ("skyreels-v2-df", "SkyReelsV2DiffusionForcingImageToVideoPipeline"),
        ("wan-vace", "WanVACEPipeline"),
        ("wan22-vace", "WanVACEPipeline"),
    ):
        index = json.loads((tiny_models[folder] / "model_index.json").read_text())
        assert index["_class_name"] == pipeline
        assert not list(tiny_models[folder].rglob("*.bin")) and list(tiny_models[folder].rglob("*.safetensors"))
    vace22 = json.loads((tiny_models["wan22-vace"] / "model_index.json").read_text())
    assert vace22["boundary_ratio"] == 0.875
    assert vace22["transformer"] == vace22["transformer_2"] == ["diffusers", "WanVACETransformer3DModel"]
    assert (tiny_models["wan22-vace"] / "transformer_2" / "diffusion_pytorch_model.safetensors").is_file()
    assert (
        json.loads((tiny_models["ltx2"] / "model_index.json").read_text())["connectors"][0] == "ltx2"
    )  # a diffusers package


def test_denoiser_calls_at_the_presets_settings():
    """Calls per video by each pipeline's rules, with the embedded real scheduler (no networks built)."""
    from kfbench.methods.keyframe.bench import real_pipeline, scheduler_from_config

    calls = {"ltx2": 90, "skyreels-v2": 100, "skyreels-v2-df": 100, "wan-vace": 60, "wan-vace-1.3b": 60}
    calls["wan22-vace"] = 100
    for name, expected in calls.items():
        method = create_method(name, device="cpu")
        real = real_pipeline(method.model)
        scheduler = scheduler_from_config(real["scheduler"])
        counted = method.denoiser_calls(scheduler, real["boundary_ratio"], method.frames_for(9))
        assert sum(counted.values()) == expected, name
    # wan22-vace: 21 of its 50 steps (UniPC at flow shift 5) have t >= 0.875 x 1000, cond + uncond on each expert
    assert counted == {"transformer": 42, "transformer_2": 58}
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
    # Wan 2.2 VACE-Fun A14B: each expert is the Wan 14B text-to-video expert ("A14B") plus 8 VACE blocks, which are
    # published alone as 6,098,227,800-byte bf16 files (2 bytes a value plus a safetensors header of some 25 kB)
    vace_blocks = counts["wan22-vace-fun-a14b-expert"] - counts["skyreels-df-14b-transformer"]
    assert round(counts["skyreels-df-14b-transformer"] / 1e9) == 14
    assert 0 < 6_098_227_800 - 2 * vace_blocks < 100_000, vace_blocks
    calls = {"ltx2": 90, "skyreels-v2": 100, "skyreels-v2-df": 100, "wan-vace": 60, "wan-vace-1.3b": 60}
    calls["wan22-vace"] = 100
    reports = {}
    for name, expected in calls.items():
        options = {
            "device": "cpu",
            "dtype": "bfloat16",
            "height": 64,
            "width": 64,
            "video_frames": 9 if name != "ltx2" else 17,
        }
        reports[name] = report = run_bench(name, options, num_frames=9, flops_only=True)
        assert report["flops"]["calls_per_video"] == expected, name
        parameters = sum(c["parameters"] for n, c in report["memory"]["components"].items() if n == "transformer")
        assert report["flops"]["per_call"] > 2 * parameters  # every weight multiplies at least one token
    assert reports["ltx2"]["flops"]["passes"] == 30 * 4  # CFG call counted as two batch-1 passes


@pytest.mark.slow  # 18 s alone here (two cores, load 13; under 2 s after the other full-size tests built these)
def test_full_size_wan22_vace_pipeline_builds_on_the_meta_device():
    """bench --random-weights' pipeline at real size (shapes and dtypes only): two distinct 17.3 B VACE experts, the
    float32 VAE, the folder's boundary 0.875, the preset's 100 calls."""
    from kfbench.bench.randomweights import count_parameters
    from kfbench.methods.keyframe.randombuild import random_keyframe_method

    subject = random_keyframe_method("wan22-vace", {"device": "meta", "dtype": "bfloat16"}, "full", 0)
    pipe = subject.method.pipeline()
    assert subject.network == (pipe.transformer, pipe.transformer_2) and pipe.transformer is not pipe.transformer_2
    assert all(count_parameters(e) == 17_337_592_896 and e.dtype == torch.bfloat16 for e in subject.network)
    assert pipe.vae.dtype == torch.float32 and pipe.text_encoder.dtype == torch.bfloat16
    assert pipe.config.boundary_ratio == 0.875 and subject.calls_per_video(81) == 100


def test_a_transformer_counted_block_by_block_equals_its_whole_count(monkeypatch):
    """Wan VACE 1.3B (30 blocks, 15 VACE blocks): one block per stack plus one more, extrapolated, equals the count of
    the whole 30-block transformer, op by op."""
    from kfbench import create_method
    from kfbench.methods.keyframe import bench

    method = create_method("wan-vace-1.3b", height=64, width=64, device="cpu")
    config, _ = bench.transformer_config(method)
    extrapolated = bench.count_transformer_flops(method, config, method.frames_for(9))
    monkeypatch.setattr(bench, "linear_in_blocks", lambda count, config: count(config))
    whole = bench.count_transformer_flops(method, config, method.frames_for(9))
    assert extrapolated["per_call"] == whole["per_call"] > 0
    assert extrapolated["per_call_attention_matmuls"] == whole["per_call_attention_matmuls"] > 0
    assert extrapolated["per_call_by_op"] == {op: n for op, n in whole["per_call_by_op"].items() if n}
