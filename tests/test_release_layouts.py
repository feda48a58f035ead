"""Real release files in their producers' layouts (random weights): kfbench reads them as data and computes what the
file's own TorchScript code computes (the opt-in path), bit for bit."""

import argparse

import numpy as np
import pytest
import torch

from tests.helpers.release_layouts import save_old_layout_film, save_stylegan_v_i3d

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


@pytest.mark.slow
def test_film_before_the_2023_11_21_layout_gives_the_frames_of_its_torchscript(tmp_path):
    from kfbench.methods.film.weights import load_film, old_layout_names

    path, _ = save_old_layout_film(tmp_path / "film_net_fp32.pt")
    names = set(torch.jit.load(str(path)).state_dict())
    assert set(old_layout_names()) <= names and "fuse.convs.0.0.weight" in names and len(old_layout_names()) == 16
    as_data, opted_in = load_film(path), load_film(path, allow_torchscript_code=True)
    x0, x1, t = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), torch.full((1,), 0.5)
    with torch.no_grad():
        by_its_code = torch.jit.load(str(path))(x0, x1, t)
        assert torch.equal(as_data(x0, x1, t), by_its_code)
        assert torch.equal(opted_in(x0, x1, t), by_its_code)


@pytest.mark.slow
def test_stylegan_v_i3d_read_as_data_gives_the_features_of_its_torchscript(tmp_path):
    from kfbench.metrics.i3d import ClipFeatures, MaxPoolSame, set_bn_eps

    path = save_stylegan_v_i3d(tmp_path / "i3d_torchscript.pt")
    assert "i3d.mixed_3b.branch_1.0.batch3d.running_var" in torch.jit.load(str(path)).state_dict()
    clip = np.random.default_rng(1).integers(
        0, 256, (9, 40, 56, 3), dtype=np.uint8
    )  # odd length after the stride-2 conv
    as_data = ClipFeatures(path, bn_eps="port")  # the hassony2 file forces its own eps whatever the option says
    by_its_code = ClipFeatures(path, allow_torchscript_code=True)
    assert as_data.hassony2 and not as_data.runs_code and "hassony2" in as_data.tag
    reference = by_its_code(clip)
    scale = np.abs(reference).max()

    def off(features: np.ndarray) -> float:
        return float(np.abs(features - reference).max() / scale)

    assert off(as_data(clip)) < 1e-5
    # both forced details matter: eps 1e-5 or TF-'SAME' pooling would give other features
    set_bn_eps(as_data.model, "port")
    assert off(as_data(clip)) > 1e-3
    set_bn_eps(as_data.model, "tensorflow")
    for module in as_data.model.modules():
        if isinstance(module, MaxPoolSame):
            module.fixed = False
    assert off(as_data(clip)) > 1e-4


def test_videomae_v2_checkpoint_with_training_args_is_read(tmp_path):
    from kfbench.utils.safeload import load_weights_only

    path = tmp_path / "vit_g_hybrid_pt_1200e_ssv2_ft.pth"
    torch.save(
        {"model": {"w": torch.ones(2)}, "args": argparse.Namespace(lr=1e-3, model="vit_giant", sizes=[1, 2])}, path
    )
    loaded = load_weights_only(path, "VideoMAE-v2 weights")
    assert torch.equal(loaded["model"]["w"], torch.ones(2)) and loaded["args"].model == "vit_giant"


def test_dynamicrafter_deepspeed_checkpoint_is_unwrapped(tmp_path):
    from kfbench.methods.dynamicrafter.checkpoint import read_state_dict

    state = {"model.diffusion_model.out.2.weight": torch.ones(3), "scale_factor": torch.tensor(0.18)}
    path = tmp_path / "model.ckpt"
    torch.save({"module": {"_forward_module." + k: v for k, v in state.items()}}, path)
    loaded = read_state_dict(path)
    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": state}, plain)
    assert loaded.keys() == read_state_dict(plain).keys() and all(
        torch.equal(loaded[k], read_state_dict(plain)[k]) for k in loaded
    )


def test_pytorch_fid_inception_file_is_found_by_name(tmp_path, monkeypatch):
    from kfbench.metrics import weights
    from kfbench.metrics.fid import INCEPTION

    monkeypatch.setattr(weights, "hub_checkpoints", lambda: tmp_path)
    (tmp_path / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"")
    assert INCEPTION.resolve(None) == tmp_path / "pt_inception-2015-12-05-6726825d.pth"


def test_large_checkpoints_are_memory_mapped(tmp_path, monkeypatch):
    from kfbench.utils import safeload

    torch.save({"w": torch.ones(4)}, tmp_path / "w.pt")
    seen = {}
    real = torch.load
    monkeypatch.setattr(safeload.torch, "load", lambda *a, **k: seen.update(k) or real(*a, **k))
    safeload.load_weights_only(tmp_path / "w.pt", "weights")
    assert seen["mmap"] is True and seen["weights_only"] is True
