"""RIFE: the release's flownet.pkl layout and containers, the 4.26 heavy network against ccvfi's, the method."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import kfbench
from kfbench.errors import KfbenchError
from kfbench.methods.rife.network import VERSIONS, IFNet
from kfbench.methods.rife.weights import expected_layout, load_rife, save_release_format

ccvfi_arch = pytest.importorskip(
    "ccvfi.arch.ifnet_arch", reason="ccvfi (the RIFE v4.26 heavy reference) is not installed"
)


def release_layout(head: int) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of Practical-RIFE 4.25/4.26's IFNet_HDv3 (after flownet.pkl's ``module.``), written out.

    Head: conv 3->16 (stride 2), 16->16, 16->16, transposed 16->head. Blocks 192, 128, 96, 64, 32 wide; block0 reads
    both frames, both Head features and t (7 + 2 head), later blocks also mask, 8 features, and the 4 flow channels.
    """
    layout = {"encode.cnn0.weight": (16, 3, 3, 3), "encode.cnn0.bias": (16,), "encode.cnn1.weight": (16, 16, 3, 3),
              "encode.cnn1.bias": (16,), "encode.cnn2.weight": (16, 16, 3, 3), "encode.cnn2.bias": (16,),
              "encode.cnn3.weight": (16, head, 4, 4), "encode.cnn3.bias": (head,)}  # fmt: skip
    for index, width in enumerate((192, 128, 96, 64, 32)):
        block = f"block{index}"
        cin = 7 + 2 * head if index == 0 else 8 + 4 + 8 + 2 * head
        layout |= {f"{block}.conv0.0.0.weight": (width // 2, cin, 3, 3), f"{block}.conv0.0.0.bias": (width // 2,),
                   f"{block}.conv0.1.0.weight": (width, width // 2, 3, 3), f"{block}.conv0.1.0.bias": (width,),
                   f"{block}.lastconv.0.weight": (width, 52, 4, 4), f"{block}.lastconv.0.bias": (52,)}  # fmt: skip
        for j in range(8):
            res = f"{block}.convblock.{j}"
            layout |= {
                f"{res}.conv.weight": (width, width, 3, 3),
                f"{res}.conv.bias": (width,),
                f"{res}.beta": (1, width, 1, 1),
            }
    return layout


def shapes(state: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def test_module_trees_match_the_release_and_ccvfi():
    for version in ("4.25", "4.26"):
        assert shapes(expected_layout(version).state_dict()) == release_layout(4)
    heavy = shapes(expected_layout("4.26-heavy").state_dict())
    assert heavy == release_layout(16) == shapes(ccvfi_arch.IFNet().state_dict())
    assert sum(math.prod(s) for s in release_layout(4).values()) == 5_664_776
    assert sum(math.prod(s) for s in heavy.values()) == 5_723_156


@pytest.fixture(scope="module")
def reference():
    """ccvfi's IFNet (RIFE_IFNet_v426_heavy) with random weights, saved as the release saves flownet.pkl."""
    torch.manual_seed(11)
    network = ccvfi_arch.IFNet().eval()
    with torch.no_grad():
        for name, value in network.named_parameters():  # scale-preserving draws, so flows and masks vary
            value.copy_(
                torch.randn_like(value) * (value[0].numel() ** -0.5 if value.dim() > 1 else 0.1) + name.endswith("beta")
            )
    return network


@pytest.fixture(scope="module")
def heavy_file(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("rife") / "flownet.pkl"
    torch.save({f"module.{k}": v for k, v in reference.state_dict().items()}, path)  # the trainer's DDP state_dict
    return path


def keyframes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    pair = kfbench.create_dataset("synthetic", num_pairs=1, height=height, width=width).load("synthetic-0-0000")
    return pair.first, pair.last


def release_frame(network, first: np.ndarray, last: np.ndarray, t: float) -> np.ndarray:
    """Practical-RIFE's inference_video.py at scale 1: zero-pad bottom/right to 128, the flownet at scale_list
    [16, 8, 4, 2, 1], crop, ``(mid * 255).byte()``."""
    h, w, _ = first.shape
    ph, pw = ((h - 1) // 128 + 1) * 128, ((w - 1) // 128 + 1) * 128
    images = [torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255.0 for x in (first, last)]
    images = [torch.nn.functional.pad(x, (0, pw - w, 0, ph - h)) for x in images]
    with torch.inference_mode():
        mid = network(torch.cat(images, 1), t, [16, 8, 4, 2, 1])
    return (mid[0] * 255.0).byte().permute(1, 2, 0).numpy()[:h, :w]


@pytest.mark.parametrize("batch_size, passes, tolerance", [(1, 7, 0), (8, 1, 1)])
def test_the_method_equals_ccvfi_at_half_and_three_24ths(reference, heavy_file, batch_size, passes, tolerance):
    """9 frames directly at i/8: frame 4 is t = 0.5, frame 1 is t = 1/8 = 3/24. One frame per call, as the release
    runs, the 8-bit frames are identical to the release's; batched calls round differently in float32 (about 1e-5),
    which may move a pixel on a rounding edge by one level."""
    method = kfbench.create_method("rife", checkpoint=str(heavy_file), version="4.26-heavy", batch_size=batch_size)
    first, last = keyframes(72, 100)  # padded to 128 x 128 at the bottom and right
    frames = method.interpolate(first, last, num_frames=9)
    assert method.stats == {"rife_calls": 7, "rife_forward_passes": passes}
    for index, t in ((4, 0.5), (1, 3 / 24)):
        expected = release_frame(reference, first, last, t)
        assert expected.std() > 5  # the random network does move pixels: the comparison is not of two blank frames
        difference = int(np.abs(frames[index].astype(int) - expected).max())
        print(f"RIFE 4.26 heavy vs ccvfi at t = {t:.4f}, batch {batch_size}: max difference {difference} uint8 levels")
        assert difference <= tolerance


@pytest.mark.parametrize("legacy", [False, True])
def test_release_flownet_pkl_loads_whatever_its_container(heavy_file, reference, legacy, tmp_path):
    state = reference.state_dict()
    path = heavy_file
    if legacy:  # releases before torch 1.6's zip format are plain pickles
        path = tmp_path / "flownet.pkl"
        torch.save({f"module.{k}": v for k, v in state.items()}, path, _use_new_zipfile_serialization=False)
    loaded = load_rife(path, "4.26-heavy").state_dict()
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def test_unprefixed_safetensors_and_extra_keys_load_as_the_release_does(tmp_path):
    torch.manual_seed(2)
    network = IFNet(VERSIONS["4.25"])
    state = {**network.state_dict(), "teacher.conv0.0.0.weight": torch.zeros(1)}  # ignored, as strict=False ignores it
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "flownet.safetensors"))
    loaded = load_rife(tmp_path / "flownet.safetensors", "4.26").state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in network.state_dict().items())
    saved = save_release_format(network, tmp_path / "train_log" / "flownet.pkl")
    assert next(iter(torch.load(saved, weights_only=True))).startswith("module.")
    assert torch.equal(load_rife(saved, "4.25").state_dict()["block4.lastconv.0.bias"], network.block4.lastconv[0].bias)


def test_wrong_version_names_the_one_the_file_fits(heavy_file, tmp_path):
    with pytest.raises(
        KfbenchError, match=r"is not a RIFE 4.25 flownet.pkl: 7 wrong shape: .*; it fits --version 4.26-heavy"
    ):
        kfbench.create_method("rife", checkpoint=str(heavy_file))
    torch.save({"module.block0.conv0.0.0.weight": torch.zeros(1)}, tmp_path / "other.pkl")
    with pytest.raises(KfbenchError, match=r"missing: .*pass Practical-RIFE's train_log/flownet.pkl"):
        kfbench.create_method("rife", checkpoint=str(tmp_path / "other.pkl"))


def test_missing_weights_and_bad_options_are_clear_errors(heavy_file):
    with pytest.raises(KfbenchError, match="needs its weights: pass --checkpoint PATH to Practical-RIFE's"):
        kfbench.create_method("rife")
    with pytest.raises(KfbenchError, match="scale must be one of 0.25, 0.5, 1.0, 2.0, 4.0"):
        kfbench.create_method("rife", checkpoint=str(heavy_file), version="4.26-heavy", scale=0.3)


def test_padding_follows_the_release_scale_rule(heavy_file):
    for scale, multiple in ((1.0, 128), (0.5, 256), (0.25, 512), (2.0, 128)):
        method = kfbench.create_method("rife", checkpoint=str(heavy_file), version="4.26-heavy", scale=scale)
        assert method.multiple == multiple and method.dtype == torch.float32 and method.schedule == "uniform"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="float16 RIFE (the release's --fp16) needs a CUDA device")
def test_float16_on_cuda_stays_close_to_float32(heavy_file):
    first, last = keyframes(128, 192)
    half = kfbench.create_method("rife", checkpoint=str(heavy_file), version="4.26-heavy")
    full = kfbench.create_method("rife", checkpoint=str(heavy_file), version="4.26-heavy", dtype="float32")
    assert half.dtype == torch.float16
    a, b = half.interpolate(first, last, num_frames=5), full.interpolate(first, last, num_frames=5)
    assert np.abs(a.astype(int) - b).mean() < 1.0
