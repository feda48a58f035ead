"""The Python API: keyframe inputs, saving, and the documented notebook example run as written."""

import re

import av
import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.api import as_keyframe
from kfbench.errors import KfbenchError
from tests.helpers.cli import REPO


def test_keyframes_from_paths_pil_uint8_and_float_are_the_same_image(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    for given in (tmp_path / "a.png", str(tmp_path / "a.png"), Image.fromarray(image), image, image / 255.0):
        assert np.array_equal(as_keyframe(given), image)
    with pytest.raises(KfbenchError, match=r"float images must hold values in \[0, 1\]"):
        as_keyframe(image.astype(np.float32))
    with pytest.raises(KfbenchError, match="is not a file"):
        as_keyframe(tmp_path / "missing.png")


def test_interpolate_returns_frames_with_times_and_the_methods_options():
    first, last = np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 200, np.uint8)
    clip = kfbench.interpolate(first, last, method="linear", num_frames=5)
    assert clip.frames.shape == (5, 16, 16, 3) and clip.times == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert clip.frames[2].mean() == pytest.approx(100, abs=1) and clip.method == "linear"
    with pytest.raises(KfbenchError, match="unknown option"):
        kfbench.interpolate(first, last, method="linear", num_frames=5, colour="red")


def test_the_documented_example_runs_paths_in_mp4_out_results_back(tmp_path, monkeypatch):
    text = (REPO / "docs" / "python-api.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/python-api.md", "exec"), {})
    with av.open(str(tmp_path / "clip.mp4")) as video:
        assert sum(1 for _ in video.decode(video=0)) == 9
    assert len(list((tmp_path / "clip_frames").glob("*.png"))) == 9
    results = kfbench.load_results(tmp_path / "runs")
    psnr = results[results.metric == "psnr"].set_index("method")["value"]
    assert set(psnr.index) == {"linear", "flow"} and psnr["flow"] > psnr["linear"]
