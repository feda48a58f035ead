"""FILM: the port's checkpoint layout, strict loading from every container, schedules, padding, the method."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import kfbench
from kfbench.errors import KfbenchError
from kfbench.methods.film.network import FilmConfig, FilmNet
from kfbench.methods.film.weights import expected_layout, load_film
from kfbench.methods.vfi.interpolator import crop, pad_to_multiple
from kfbench.methods.vfi.schedules import plan
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


def published_layout() -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the port's film_net_fp32.pt, written out from the published Style architecture.

    Style: filters 64, sub_levels 4, specialized_levels 3, fusion_pyramid_levels 5,
    flow_convs (3, 3, 3, 3), flow_filters (32, 64, 128, 256). Each port conv is a Sequential
    holding an nn.Conv2d at index 0 (key suffix ``.0.weight``), except fuse.output_conv.
    """
    layout: dict[str, tuple[int, ...]] = {}

    def conv(name: str, cin: int, cout: int, k: int, wrapped: bool = True) -> None:
        prefix = name + (".0" if wrapped else "")
        layout[prefix + ".weight"] = (cout, cin, k, k)
        layout[prefix + ".bias"] = (cout,)

    widths = [64, 128, 256, 512]  # sub-tree extractor level widths: 64 << i
    for i, width in enumerate(widths):
        conv(f"extract.extract_sublevels.convs.{i}.0", 3 if i == 0 else widths[i - 1], width, 3)
        conv(f"extract.extract_sublevels.convs.{i}.1", width, width, 3)

    # Cascaded feature widths per pyramid level: 64, 64+128, 64+128+256, then 64+128+256+512 for all coarser.
    features = [64, 192, 448, 960]
    flow_filters = [32, 64, 128, 256]
    # The shared predictor serves levels >= 3; _predictors are levels 2, 1, 0 in that order.
    for name, level in (("_predictor", 3), ("_predictors.0", 2), ("_predictors.1", 1), ("_predictors.2", 0)):
        n, cin = flow_filters[level], 2 * features[level]
        for j, (a, b) in enumerate([(cin, n), (n, n), (n, n)]):
            conv(f"predict_flow.{name}._convs.{j}", a, b, 3)
        conv(f"predict_flow.{name}._convs.3", n, n // 2, 1)
        conv(f"predict_flow.{name}._convs.4", n // 2, 2, 1)

    def aligned(level: int) -> int:  # warped image + features of both inputs, and both flows
        return 2 * (3 + features[min(level, 3)]) + 2 * 2

    below = aligned(4)
    for k, level in enumerate([3, 2, 1, 0]):  # fusion decoder, coarse to fine
        width = 64 << min(level, 3)
        conv(f"fuse.convs.{k}.0", below, width, 2)
        conv(f"fuse.convs.{k}.1", aligned(level) + width, width, 3)
        conv(f"fuse.convs.{k}.2", width, width, 3)
        below = width
    conv("fuse.output_conv", 64, 3, 1, wrapped=False)
    return layout


@pytest.fixture(scope="module")
def film_file(tiny_models):
    return tiny_models["film"]


@pytest.fixture(scope="module")
def scripted_file(tmp_path_factory):
    """A TorchScript file of a random-weight FilmNet, saved with torch.jit.save like the port's release."""
    torch.manual_seed(7)
    network = FilmNet().eval()
    x = torch.rand(1, 3, 64, 64)
    traced = torch.jit.trace(network, (x, x.flip(-1), torch.full((1,), 0.5)), check_trace=False)
    path = tmp_path_factory.mktemp("film-ts") / "film_net_fp32.pt"
    torch.jit.save(traced, str(path))
    return path, {k: v.clone() for k, v in network.state_dict().items()}


def test_module_tree_matches_the_released_checkpoint_layout():
    expected = published_layout()
    actual = {k: tuple(v.shape) for k, v in expected_layout().state_dict().items()}
    assert actual == expected
    total = sum(math.prod(shape) for shape in expected.values())
    assert 34.35e6 < total < 34.45e6, total
    assert sum(p.numel() for p in expected_layout().parameters()) == total


@pytest.mark.parametrize("container", ["torch.save", "safetensors"])
def test_a_saved_state_dict_reloads_strictly(container, tmp_path):
    torch.manual_seed(3)
    state = FilmNet().state_dict()
    path = tmp_path / ("film.pt" if container == "torch.save" else "film.safetensors")
    torch.save(state, path) if container == "torch.save" else save_file(state, str(path))
    loaded = load_film(path).state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_torchscript_file_loads_through_its_state_dict(scripted_file, tmp_path):
    path, state = scripted_file
    loaded = load_film(path).state_dict()  # read as data: the archive's code does not run
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    # exactly the tensors torch.jit.load gives (so the same FilmNet outputs), with or without the opt-in
    by_jit = dict(torch.jit.load(str(path)).state_dict())
    assert by_jit.keys() == loaded.keys() and all(torch.equal(loaded[k], by_jit[k]) for k in by_jit)
    opted_in = load_film(path, allow_torchscript_code=True).state_dict()
    assert all(torch.equal(opted_in[k], by_jit[k]) for k in by_jit)
    # The port also ships film_net_fp16.pt: a half TorchScript module loads into float32.
    half = torch.jit.load(str(path)).half()
    torch.jit.save(half, str(tmp_path / "film_net_fp16.pt"))
    loaded = load_film(tmp_path / "film_net_fp16.pt").state_dict()
    assert loaded["fuse.output_conv.weight"].dtype == torch.float32
    assert torch.equal(loaded["fuse.output_conv.weight"], state["fuse.output_conv.weight"].half().float())


def test_convert_checkpoint_writes_float32_safetensors(scripted_file, tmp_path):
    path, state = scripted_file
    dst = tmp_path / "out" / "film.safetensors"
    result = run_cli("convert-checkpoint", "--method", "film", path, dst, check=True)
    assert "wrote" in result.stdout
    converted = load_file(str(dst))
    assert converted.keys() == state.keys()
    assert all(converted[k].dtype == torch.float32 and torch.equal(converted[k], state[k]) for k in state)


def test_mismatched_checkpoint_lists_missing_unexpected_and_misshapen_keys(film_file, tmp_path):
    state = load_file(str(film_file))
    del state["fuse.output_conv.bias"]
    state["fuse.extra.weight"] = torch.zeros(1)
    state["fuse.convs.3.2.0.weight"] = torch.zeros(64, 64, 1, 1)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    with pytest.raises(KfbenchError) as error:
        kfbench.create_method("film", checkpoint=str(bad))
    message = str(error.value)
    assert "1 missing: fuse.output_conv.bias" in message
    assert "1 unexpected: fuse.extra.weight" in message
    assert "1 wrong shape: fuse.convs.3.2.0.weight (64, 64, 1, 1) != (64, 64, 3, 3)" in message


def test_missing_weights_are_clear_errors(tmp_path):
    with pytest.raises(KfbenchError, match="needs its weights: pass --checkpoint"):
        kfbench.create_method("film")
    with pytest.raises(KfbenchError, match="FILM checkpoint not found at .*nope.pt.*--checkpoint"):
        kfbench.create_method("film", checkpoint=str(tmp_path / "nope.pt"))
    for name in ("garbage.pt", "garbage.safetensors"):
        (tmp_path / name).write_bytes(b"not a checkpoint")
        with pytest.raises(
            KfbenchError, match=f"FILM checkpoint .*{name}.* (is not a torch weights file|as safetensors)"
        ):
            kfbench.create_method("film", checkpoint=str(tmp_path / name))


@pytest.mark.parametrize("height, width", [(1, 1), (37, 53), (64, 64), (65, 130), (200, 7)])
def test_pad_to_multiple_of_64_and_crop_back_is_exact(height, width):
    batch = torch.rand(2, 3, height, width)
    padded, box = pad_to_multiple(batch, 64)
    assert padded.shape[-2] % 64 == 0 and padded.shape[-1] % 64 == 0
    assert padded.shape[-2] - height < 64 and padded.shape[-1] - width < 64
    top, left = box[:2]
    assert (top, left) == ((padded.shape[-2] - height) // 2, (padded.shape[-1] - width) // 2)
    assert torch.equal(crop(padded, box), batch)
    outside = padded.clone()
    outside[..., top : top + height, left : left + width] = 0
    assert not outside.any()  # the padding is zeros


@pytest.fixture(scope="module")
def film(film_file):
    return kfbench.create_method("film", checkpoint=str(film_file))


def keyframes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    pair = kfbench.create_dataset("synthetic", num_pairs=1, height=height, width=width).load("synthetic-0-0000")
    return pair.first, pair.last


@pytest.mark.parametrize("height, width", [(37, 53), (63, 20), (20, 70)])
def test_output_has_the_keyframes_size_and_frame_count(film, height, width):
    first, last = keyframes(height, width)
    frames = film.interpolate(first, last, num_frames=3)
    assert frames.shape == (3, height, width, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[0], first) and np.array_equal(frames[-1], last)
    assert film.stats == {"film_calls": 1, "film_forward_passes": 1}


def test_output_is_deterministic(film, film_file):
    first, last = keyframes(37, 53)
    once = film.interpolate(first, last, num_frames=3, seed=0)
    again = kfbench.create_method("film", checkpoint=str(film_file)).interpolate(first, last, num_frames=3, seed=5)
    assert np.array_equal(once, again)


def test_batched_rounds_equal_one_frame_at_a_time(film_file):
    first, last = keyframes(30, 40)
    batched = kfbench.create_method("film", checkpoint=str(film_file), schedule="uniform", batch_size=8)
    single = kfbench.create_method("film", checkpoint=str(film_file), schedule="uniform", batch_size=1)
    a, b = batched.interpolate(first, last, num_frames=4), single.interpolate(first, last, num_frames=4)
    assert batched.stats == {"film_calls": 2, "film_forward_passes": 1}
    assert single.stats == {"film_calls": 2, "film_forward_passes": 2}
    assert np.abs(a.astype(int) - b).max() <= 1


class CrossFade(torch.nn.Module):
    """Stand-in network whose frame at t is the linear blend: any correct schedule then yields the cross-fade."""

    config = FilmConfig()

    def forward(self, x0, x1, time):
        t = time.reshape(-1, 1, 1, 1)
        return (1 - t) * x0 + t * x1


@pytest.mark.parametrize(
    "schedule, num_frames, calls, passes",
    [
        ("greedy", 25, 23, 5),
        ("uniform", 25, 23, 3),
        ("recursive", 17, 15, 4),
        ("greedy", 17, 15, 4),
        ("greedy", 2, 0, 0),
        ("recursive", 25, 31, 6),
        ("recursive", 4, 3, 2),
    ],
)
def test_each_schedule_puts_every_frame_at_its_time(film_file, schedule, num_frames, calls, passes):
    method = kfbench.create_method("film", checkpoint=str(film_file), schedule=schedule, batch_size=8)
    method.network = CrossFade()
    first, last = keyframes(24, 32)
    frames = method.interpolate(first, last, num_frames=num_frames)
    times = np.asarray(method.output_times(num_frames))[:, None, None, None]
    expected = (1 - times) * first + times * last  # the cross-fade at each returned frame's recorded time
    assert frames.shape == (num_frames, 24, 32, 3)
    assert np.abs(frames - expected).max() <= 1
    assert method.stats == {"film_calls": calls, "film_forward_passes": passes}


def test_greedy_schedule_for_25_frames_follows_the_ports_script():
    rounds = plan("greedy", 25).rounds
    steps = [s for r in rounds for s in r]
    assert sorted(s.target for s in steps) == list(range(1, 24))
    assert [sorted(s.target for s in r) for r in rounds[:3]] == [[12], [6, 18], [3, 9, 15, 21]]
    made = {0, 24}
    for r in rounds:
        assert all(s.left in made and s.right in made and s.left < s.target < s.right for s in r)
        made |= {s.target for s in r}
    # The script's float32 tie-breaking: 15 midpoints, 6 frames at 1/3, 2 (frames 14 and 17) at 2/3.
    times = sorted(round(s.time, 4) for s in steps)
    assert times == [0.3333] * 6 + [0.5] * 15 + [0.6667] * 2
    assert {s.target for s in steps if s.time > 0.6} == {14, 17}


def test_recursive_is_greedy_for_dyadic_counts():
    for k in range(1, 6):
        assert plan("recursive", 2**k + 1) == plan("greedy", 2**k + 1)
        assert all(s.time == 0.5 for r in plan("recursive", 2**k + 1).rounds for s in r)


def test_uniform_predicts_every_frame_from_the_keyframes():
    (steps,) = plan("uniform", 25).rounds
    assert [(s.target, s.left, s.right) for s in steps] == [(i, 0, 24) for i in range(1, 24)]
    assert [s.time for s in steps] == [i / 24 for i in range(1, 24)]


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="float16 FILM needs a CUDA device (CPU half convolutions are too slow)"
)
def test_float16_on_cuda_stays_close_to_float32(film_file):
    first, last = keyframes(64, 96)
    half = kfbench.create_method("film", checkpoint=str(film_file))
    full = kfbench.create_method("film", checkpoint=str(film_file), dtype="float32")
    assert half.dtype == torch.float16
    a, b = half.interpolate(first, last, num_frames=3), full.interpolate(first, last, num_frames=3)
    assert np.abs(a.astype(int) - b).mean() < 1.0


def test_cli_run_on_synthetic_with_random_weights(film_file, tmp_path):
    result = run_cli(
        "run",
        "--method",
        "film",
        "--dataset",
        "synthetic",
        "--checkpoint",
        film_file,
        "--num-pairs",
        "1",
        "--num-frames",
        "4",
        "--height",
        "40",
        "--width",
        "56",
        "--out",
        tmp_path,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    (pair_dir,) = (p for p in (tmp_path / "synthetic" / "film").iterdir() if p.is_dir())  # beside run.json
    meta = json.loads((pair_dir / "meta.json").read_text())
    # recursive bisection (the default) makes 1/4, 1/2, 3/4 and returns the frames nearest 1/3 and 2/3, times recorded
    assert meta["stats"] == {"film_calls": 3, "film_forward_passes": 2}
    assert meta["options"]["schedule"] == "recursive"
    assert meta["frame_times"] == [0.0, 0.25, 0.75, 1.0]
    assert meta["size"] == {"height": 40, "width": 56}
    assert len(list((pair_dir / "frames").iterdir())) == 4
