"""The pairs dataset: keyframe pairs from a CSV, without ground truth."""

import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.errors import KfbenchError
from kfbench.run.runner import run_benchmark
from kfbench.store.runstore import RunStore
from tests.helpers.datatrees import frame


@pytest.fixture
def csv_dir(tmp_path):
    for i in (0, 9):
        Image.fromarray(frame(i)).save(tmp_path / f"k{i}.png")
    (tmp_path / "pairs.csv").write_text("id,first,last,num_frames,fps\nwalk,k0.png,k9.png,9,12\n,k9.png,k0.png,,\n")
    return tmp_path


def test_pairs_have_no_ground_truth_and_say_why(csv_dir):
    data = kfbench.create_dataset("pairs", root=str(csv_dir))
    assert data.pair_ids() == ["walk", "k9__k0"]
    pair = data.load("walk")
    assert pair.ground_truth is None and np.array_equal(pair.first, frame(0)) and np.array_equal(pair.last, frame(9))
    assert pair.meta["num_frames"] == 9 and pair.meta["fps"] == 12.0 and pair.meta["frame_indices"] is None
    assert "no ground-truth clip" in pair.meta["ground_truth_missing"]
    assert data.load("k9__k0").meta["num_frames"] == 25  # the dataset option fills empty cells


def test_a_run_generates_the_requested_number_of_frames(csv_dir, tmp_path):
    data = kfbench.create_dataset("pairs", root=str(csv_dir / "pairs.csv"))
    store = RunStore(tmp_path / "runs")
    summary = run_benchmark(kfbench.create_method("linear"), data, store, ["walk"])
    assert summary.done == ["walk"]
    assert store.load_meta("pairs", "linear", "walk")["num_frames"] == 9


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\nx,y\n", "lacks column\\(s\\) first, last"),
        ("first,last\nk0.png,nope.png\n", "1 image\\(s\\) listed in .* do not exist: .*nope.png"),
        ("id,first,last\nx,k0.png,k9.png\nx,k9.png,k0.png\n", "id 'x' appears twice"),
        ("first,last,num_frames\nk0.png,k9.png,many\n", "line 2 .* num_frames must be an integer"),
        ("first,last\n", "lists no pairs"),
    ],
)
def test_bad_csv_is_a_clear_error(csv_dir, text, message):
    (csv_dir / "bad.csv").write_text(text)
    with pytest.raises(KfbenchError, match=message):
        kfbench.create_dataset("pairs", root=str(csv_dir / "bad.csv"))
