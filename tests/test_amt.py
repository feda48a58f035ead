"""AMT: the release's checkpoint layout and container, the networks against vbench's copy of them, the method."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import kfbench
from kfbench.errors import KfbenchError
from kfbench.methods.amt.network import AMT, VARIANTS
from kfbench.methods.amt.weights import expected_layout, load_amt, save_release_format

pytest.importorskip(
    "vbench.third_party.amt.networks.blocks.raft", reason="vbench (ships AMT's networks) is not installed"
)

PARAMETERS = {"AMT-S": 2_990_543, "AMT-L": 12_935_367, "AMT-G": 30_638_919}
SLOW_VARIANTS = [pytest.param(v, marks=pytest.mark.slow) for v in ("AMT-L", "AMT-G")]


def reference_network(variant: str, seed: int = 5) -> torch.nn.Module:
    """The release's network as vbench ships it (networks/AMT-{S,L,G}.py), with its own random initialisation."""
    torch.manual_seed(seed)
    params = {"num_flows": 3} if variant == "AMT-S" else {}  # cfgs/AMT-S.yaml; L and G use their defaults (5)
    return importlib.import_module(f"vbench.third_party.amt.networks.{variant}").Model(**params).eval()


@pytest.mark.parametrize("variant", ["AMT-S", *SLOW_VARIANTS])
def test_module_tree_matches_the_release(variant):
    expected = {k: tuple(v.shape) for k, v in reference_network(variant).state_dict().items()}
    assert {k: tuple(v.shape) for k, v in expected_layout(variant).state_dict().items()} == expected
    assert sum(p.numel() for p in expected_layout(variant).parameters()) == PARAMETERS[variant]


def keyframes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    pair = kfbench.create_dataset("synthetic", num_pairs=1, height=height, width=width).load("synthetic-0-0000")
    return pair.first, pair.last


def release_frame(network: torch.nn.Module, first: np.ndarray, last: np.ndarray, t: float) -> np.ndarray:
    """AMT's demo_8x.py: InputPadder(16) (edge-replicated, centred), the model at embt = t, unpad, tensor2img."""
    h, w, _ = first.shape
    pad_h, pad_w = (((h // 16) + 1) * 16 - h) % 16, (((w // 16) + 1) * 16 - w) % 16
    pad = [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2]
    images = [torch.nn.functional.pad(torch.tensor(x).permute(2, 0, 1).unsqueeze(0) / 255.0, pad, mode="replicate")
              for x in (first, last)]  # fmt: skip
    with torch.no_grad():
        out = network(*images, torch.tensor(t).float().view(1, 1, 1, 1), eval=True)["imgt_pred"]
    out = out[..., pad[2] : out.shape[-2] - pad[3], pad[0] : out.shape[-1] - pad[1]]
    return (out * 255.0).squeeze(0).permute(1, 2, 0).numpy().clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("variant", ["AMT-S", *SLOW_VARIANTS])
def test_the_method_equals_the_release_network_at_half_and_three_24ths(variant, tmp_path):
    """9 frames directly at i/8 (frame 4: t = 0.5, frame 1: t = 3/24), one per call as the demo runs them."""
    reference = reference_network(variant)
    path = save_release_format(reference, tmp_path / f"{variant.lower()}.pth")
    method = kfbench.create_method("amt", checkpoint=str(path), variant=variant, batch_size=1)
    first, last = keyframes(120, 136)  # padded to 128 x 144, edge-replicated
    frames = method.interpolate(first, last, num_frames=9)
    assert method.stats == {"amt_calls": 7, "amt_forward_passes": 7}
    for index, t in ((4, 0.5), (1, 3 / 24)):
        expected = release_frame(reference, first, last, t)
        assert expected.std() > 5
        difference = int(np.abs(frames[index].astype(int) - expected).max())
        print(f"{variant} vs vbench's release network at t = {t:.4f}: max difference {difference} uint8 levels")
        assert difference == 0


def test_release_checkpoint_and_a_ddp_one_load(tmp_path):
    torch.manual_seed(1)
    network = AMT(VARIANTS["AMT-S"])
    release = save_release_format(network, tmp_path / "amt-s.pth")  # OrderedDict(epoch, state_dict, optim)
    assert set(torch.load(release, weights_only=True)) == {"epoch", "state_dict", "optim"}
    torch.save({"state_dict": {f"module.{k}": v for k, v in network.state_dict().items()}}, tmp_path / "ddp.pth")
    for path in (release, tmp_path / "ddp.pth"):
        loaded = load_amt(path, "AMT-S").state_dict()
        assert all(torch.equal(loaded[k], v) for k, v in network.state_dict().items())


def test_wrong_variant_names_the_one_the_file_is(tmp_path):
    path = save_release_format(AMT(VARIANTS["AMT-S"]), tmp_path / "amt-s.pth")
    with pytest.raises(
        KfbenchError, match=r"is not an AMT-G checkpoint: .*missing: .*; it is an AMT-S file: pass --variant AMT-S"
    ):
        kfbench.create_method("amt", checkpoint=str(path), variant="AMT-G")


def test_missing_weights_bad_options_and_small_frames_are_clear_errors(tmp_path):
    with pytest.raises(KfbenchError, match=r"needs its weights: pass --checkpoint PATH to the release's amt-l.pth"):
        kfbench.create_method("amt", variant="AMT-L")
    path = save_release_format(AMT(VARIANTS["AMT-S"]), tmp_path / "amt-s.pth")
    with pytest.raises(KfbenchError, match=r"16 / scale a whole number"):
        kfbench.create_method("amt", checkpoint=str(path), scale=0.3)
    method = kfbench.create_method("amt", checkpoint=str(path), scale=0.5)
    assert method.multiple == 32 and method.dtype == torch.float32
    with pytest.raises(KfbenchError, match=r"at least 128 pixels each way at its scale 0.5 \(padded 160x256 here\)"):
        method.interpolate(*keyframes(250, 150), num_frames=3)
