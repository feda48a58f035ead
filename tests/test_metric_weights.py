"""Weights loaders with random weights in the real file formats; clear errors for missing files."""

import numpy as np
import pytest
import torch

from kfbench.errors import KfbenchError
from kfbench.metrics.fid import INCEPTION
from kfbench.metrics.fvd import I3D
from kfbench.metrics.lpips import LPIPS_BACKBONE
from tests.helpers.metric_weights import save_random_alexnet, save_random_i3d, save_random_inception


def test_inception_loader_reads_torch_fidelity_state_dict(tmp_path):
    from kfbench.metrics.inception import ImageFeatures, load_inception

    path = save_random_inception(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    assert "Mixed_7c.branch_pool.conv.weight" in torch.load(path, weights_only=True)
    model = load_inception(path)
    features = ImageFeatures(model, "inception", 2048)
    frames = np.random.default_rng(0).integers(0, 256, (1, 48, 64, 3), dtype=np.uint8)
    values = features(frames)
    assert values.shape == (1, 2048) and values.dtype == np.float64 and np.isfinite(values).all()
    with torch.no_grad():
        direct = model(torch.from_numpy(frames).permute(0, 3, 1, 2)).double().numpy()
    np.testing.assert_allclose(values, direct, rtol=1e-5, atol=1e-6)
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(KfbenchError, match="is not torch-fidelity's InceptionV3 state_dict"):
        load_inception(tmp_path / "other.pth")


@pytest.fixture(scope="module")
def i3d_files(tmp_path_factory):
    return save_random_i3d(tmp_path_factory.mktemp("i3d"))


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_i3d_state_dict_and_torchscript_forms_give_the_same_features(i3d_files):
    from kfbench.metrics.i3d import ClipFeatures

    state_path, script_path, model = i3d_files
    assert "Mixed_3b.b1b.bn.running_mean" in torch.load(state_path) and "logits.conv3d.bias" in torch.load(state_path)
    clip = np.random.default_rng(1).integers(0, 256, (9, 40, 56, 3), dtype=np.uint8)
    from_state = ClipFeatures(state_path)
    as_data = ClipFeatures(script_path)  # the archive's tensors read into InceptionI3d; its code does not run
    as_code = ClipFeatures(script_path, allow_torchscript_code=True)  # torch.jit.load: the archive's own forward
    assert not from_state.torchscript and as_data.torchscript and not as_data.runs_code and as_code.runs_code
    assert isinstance(as_code.model, torch.jit.ScriptModule) and not isinstance(as_data.model, torch.jit.ScriptModule)
    a, b, c = from_state(clip), as_data(clip), as_code(clip)
    assert a.shape == (1, 400) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(b, c, rtol=1e-3, atol=1e-3 * np.abs(a).max())


def test_i3d_needs_nine_frames_and_the_right_keys(i3d_files, tmp_path):
    from kfbench.metrics.i3d import ClipFeatures, load_i3d_state_dict

    state_path, _, _ = i3d_files
    with pytest.raises(KfbenchError, match="at least 9 frames.*got 8"):
        ClipFeatures(state_path)(np.zeros((8, 32, 32, 3), np.uint8))
    state = torch.load(state_path)
    state["Mixed_3b.extra.weight"] = state.pop("Mixed_3b.b0.conv3d.weight")
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(KfbenchError, match="does not match InceptionI3d"):
        load_i3d_state_dict(tmp_path / "bad.pt")


def test_lpips_backbone_loads_from_a_torchvision_alexnet_file(tmp_path):
    from kfbench.metrics.lpips import LpipsPerFrame

    path = save_random_alexnet(tmp_path / "alexnet-owt-7be5be79.pth")
    lpips = LpipsPerFrame(path)
    state = torch.load(path)
    assert torch.equal(dict(lpips.model.net.slice2.named_children())["3"].weight, state["features.3.weight"])
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-50, 50, a.shape), 0, 255).astype(np.uint8)
    assert np.allclose(lpips(a, a), 0) and (lpips(a, b) > 0).all()


@pytest.mark.parametrize("spec", [INCEPTION, I3D, LPIPS_BACKBONE])
def test_given_weights_path_that_does_not_exist_names_file_source_and_flag(spec):
    with pytest.raises(KfbenchError) as info:
        spec.resolve("/no/such/weights.pth")
    message = str(info.value)
    assert "/no/such/weights.pth" in message and spec.flag in message and spec.names[0] in message


def test_weights_absent_from_the_cache_are_a_missing_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reason = INCEPTION.resolve(None)
    assert isinstance(reason, str) and "--inception-weights" in reason and str(tmp_path) in reason
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth").write_bytes(b"x")
    assert LPIPS_BACKBONE.resolve(None) == tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"


def test_evaluate_computes_fvd_over_the_stated_window_with_the_torchscript_detector(i3d_files, tmp_path):
    import json

    from kfbench import create_dataset, create_method
    from kfbench.metrics.evaluate import EvalConfig, evaluate_store
    from kfbench.run.runner import run_benchmark
    from kfbench.store.runstore import RunStore

    data = create_dataset("synthetic", num_pairs=2, num_frames=13)
    run_benchmark(create_method("linear"), data, RunStore(tmp_path), data.pair_ids())
    config = EvalConfig(
        metrics=("fvd",), weights={"i3d_weights": str(i3d_files[1])}, fvd_window=9, fvd_covariance="n-1", bootstrap=10
    )
    with pytest.warns(UserWarning, match="FVD: 2 samples < 400 feature dimensions"):
        results, _ = evaluate_store(tmp_path, config)
    row = results.iloc[0]
    settings = json.loads(row["settings"])
    assert row["metric"] == "fvd" and row["n"] == 2 and row["extractor"] == "i3d-kinetics400-torchscript-weights/logits"
    assert np.isfinite(row["value"]) and row["value"] > 0 and row["ci_low"] <= row["value"] <= row["ci_high"]
    assert settings["window"].startswith("grid frames 2-10 of 13 (9-frame clips") and settings["covariance"] == "n-1"
    assert (
        len(list((tmp_path / ".cache" / "features" / "synthetic").rglob("*.npy"))) == 4
    )  # ground truth + generated, 2 pairs each
