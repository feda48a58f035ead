"""The davis dataset on DAVIS-layout JPEG trees: pairs, ground truth, manifests and error paths."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.datasets.davislist import listed_frame_counts, listed_pairs
from kfbench.datasets.pairrule import PairRule
from kfbench.errors import BadSourceError, KfbenchError
from tests.helpers.cli import run_cli
from tests.helpers.datatrees import davis_tree, frame


def jpeg(path):
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture
def tree(tmp_path):
    return davis_tree(tmp_path / "davis", {"bear": 52, "car-turn": 30, "dog": 12})


def test_pairs_follow_the_rule_and_short_sequences_are_counted(tree):
    data = kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all")
    assert data.pair_ids() == ["bear_00000-00024_s1", "bear_00025-00049_s1", "car-turn_00000-00024_s1"]
    assert data.short == ["dog"]
    assert "3 pair(s) from 2 of 3 clip(s)" in data.summary()
    assert "1 clip(s) shorter than 25 frames skipped" in data.summary()


def test_ground_truth_is_the_decoded_source_frames(tree):
    data = kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all")
    pair = data.load("bear_00025-00049_s1")
    folder = tree / "DAVIS" / "JPEGImages" / "480p" / "bear"
    expected = np.stack([jpeg(folder / f"{i:05d}.jpg") for i in range(25, 50)])
    assert pair.ground_truth.shape == (25, 48, 64, 3) and np.array_equal(pair.ground_truth, expected)
    assert np.array_equal(pair.first, expected[0]) and np.array_equal(pair.last, expected[-1])
    assert pair.meta["frame_indices"] == list(range(25, 50)) and pair.meta["num_frames"] == 25
    assert pair.meta["source"] == "davis" and pair.meta["sequence"] == "bear" and pair.meta["fps"] is None


def test_stride_subsamples_the_ground_truth(tree):
    data = kfbench.create_dataset(
        "davis", root=str(tree), resolution="480p", splits="all", num_frames=5, frame_stride=10
    )
    assert data.pair_ids() == ["bear_00000-00040_s10"]
    pair = data.load("bear_00000-00040_s10")
    folder = tree / "DAVIS" / "JPEGImages" / "480p" / "bear"
    assert np.array_equal(pair.ground_truth, np.stack([jpeg(folder / f"{i:05d}.jpg") for i in range(0, 41, 10)]))


def test_num_pairs_limits_the_selection_deterministically(tree):
    ids = kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all", num_pairs=2).pair_ids()
    assert ids == ["bear_00000-00024_s1", "car-turn_00000-00024_s1"]


def official_tree(root, split: str, resolution: str = "480p"):
    """Every listed sequence of ``split`` with its official frame count: a real first JPEG, empty files after it.

    Opening a frame folder reads only the first image's header, so this stands for a complete extraction.
    """
    counts = listed_frame_counts((split,))
    for name, frames in counts.items():
        folder = root / "DAVIS" / "JPEGImages" / resolution / name
        folder.mkdir(parents=True)
        Image.fromarray(frame(0, 16, 16)).save(folder / "00000.jpg")
        for i in range(1, frames):
            (folder / f"{i:05d}.jpg").touch()
    return root, counts


def test_listed_splits_are_checked_against_the_official_list(tmp_path):
    root, counts = official_tree(tmp_path, "val")
    assert (
        len(counts) == 30 and sum(counts.values()) == 1999
    )  # reference/datasets.md: val has 30 sequences, 1,999 frames
    data = kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="val", num_pairs=None)
    assert data.pair_ids() == listed_pairs(("val",), PairRule(25)) and len(data) == 69
    images = root / "DAVIS" / "JPEGImages" / "480p"
    shutil.rmtree(images / "blackswan")
    (images / "bike-packing" / "00068.jpg").unlink()  # bike-packing has 69 frames
    with pytest.raises(KfbenchError) as info:
        kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="val")
    message = str(info.value)
    assert "does not match the official DAVIS 2017 list for val (30 sequences)" in message
    assert (
        "1 missing: blackswan" in message
        and "1 with another frame count: bike-packing has 68 frames, the list 69" in message
    )
    assert "\n" not in message


def test_test_challenge_members_come_from_the_archive_image_sets(tmp_path):
    root = davis_tree(tmp_path, {"a": 25, "b": 25}, imagesets={"test-challenge": ["a"]})
    ids = kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="test-challenge").pair_ids()
    assert ids == ["a_00000-00024_s1"]
    (root / "DAVIS" / "ImageSets" / "2017" / "test-challenge.txt").unlink()
    with pytest.raises(KfbenchError, match="split 'test-challenge' needs .*ImageSets/2017/test-challenge.txt"):
        kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="test-challenge")
    with pytest.raises(KfbenchError, match="unknown split"):
        kfbench.create_dataset("davis", root=str(root), resolution="480p", splits="training")


def test_default_splits_are_the_listed_ones():
    assert kfbench.registry.dataset_presets()["davis"].options["splits"] == "train,val,test-dev"


def test_pair_list_without_the_data_is_deterministic():
    first = run_cli("list", "pairs", "davis", check=True)
    again = run_cli("list", "pairs", "davis", check=True)
    ids = first.stdout.split()
    assert first.stdout == again.stdout and len(ids) == 117 == len(set(ids))
    assert ids[:2] == ["aerobatics_00000-00024_s1", "bear_00000-00024_s1"]  # by sequence name, then start
    digest = hashlib.sha256(first.stdout.encode()).hexdigest()
    assert first.stderr.strip() == (
        "davis: 117 pairs from 117 of 120 sequences of train,val,test-dev (official list; 25 frames, stride 1, "
        f"num_pairs 117); sha256 of the list {digest}"
    )
    every = run_cli(
        "list", "pairs", "davis", "--splits", "train,val,test-dev", "--num-pairs", "none", check=True
    ).stdout.split()
    assert len(every) == 281 and set(ids) < set(every)  # every 25-frame window: sum of floor(frames / 25)
    strided = run_cli(
        "list", "pairs", "davis", "--splits", "val", "--frame-stride", "2", "--num-pairs", "3", check=True
    )
    assert strided.stdout.split() == listed_pairs(("val",), PairRule(25, 2, 3)) and all(
        i.endswith("_s2") for i in strided.stdout.split()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--splits", "test-challenge"], "split(s) test-challenge have no official sequence list"),
        (["--resolution", "480p"], "unknown option --resolution"),
    ],
)
def test_pair_list_refuses_what_it_cannot_know(args, message):
    result = run_cli("list", "pairs", "davis", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    other = run_cli("list", "pairs", "pexels")
    assert other.returncode == 2 and "known without its data: davis" in other.stderr


def test_manifest_pins_the_pairs_and_detects_changed_frames(tree, tmp_path):
    data = kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all")
    path = data.to_manifest().save(tmp_path / "davis.json")
    manifest = json.loads(path.read_text())
    entry = manifest["pairs"][0]
    assert entry["id"] == "bear_00000-00024_s1" and entry["start"] == 0 and entry["stride"] == 1
    assert len(entry["sha256"]) == 25 and set(entry["sha256"]) == {f"{i:05d}.jpg" for i in range(25)}
    assert manifest["sources"]["bear"]["num_frames"] == 52 and manifest["options"]["resolution"] == "480p"

    # Extra sequences added later do not change a pinned benchmark.
    davis_tree(tree, {"zebra": 40})
    pinned = kfbench.create_dataset("davis", root=str(tree), manifest=str(path))
    assert pinned.pair_ids() == data.pair_ids() and "pinned by" in pinned.summary()
    assert np.array_equal(
        pinned.load("bear_00000-00024_s1").ground_truth, data.load("bear_00000-00024_s1").ground_truth
    )

    frame = tree / "DAVIS" / "JPEGImages" / "480p" / "bear" / "00003.jpg"
    Image.fromarray(255 - jpeg(frame)).save(frame)
    with pytest.raises(BadSourceError, match="00003.jpg changed since manifest"):
        pinned.load("bear_00000-00024_s1")
    assert pinned.load("bear_00025-00049_s1").ground_truth.shape[0] == 25  # untouched frames still verify
    assert any("00003.jpg" in p for p in pinned.verify())


def test_manifest_detects_removed_frames(tree, tmp_path):
    path = (
        kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all")
        .to_manifest()
        .save(tmp_path / "m.json")
    )
    (tree / "DAVIS" / "JPEGImages" / "480p" / "car-turn" / "00029.jpg").unlink()
    with pytest.raises(BadSourceError, match="29 frames of 64x48, but manifest .* says 30 of 64x48"):
        kfbench.create_dataset("davis", root=str(tree), manifest=str(path))
    skipped = kfbench.create_dataset("davis", root=str(tree), manifest=str(path), skip_bad=True)
    assert skipped.pair_ids() == ["bear_00000-00024_s1", "bear_00025-00049_s1"]
    assert "1 unreadable clip(s) skipped" in skipped.summary()


def test_undecodable_frame_names_the_file(tree):
    (tree / "DAVIS" / "JPEGImages" / "480p" / "bear" / "00007.jpg").write_bytes(b"not a jpeg")
    data = kfbench.create_dataset("davis", root=str(tree), resolution="480p", splits="all")
    with pytest.raises(BadSourceError, match="bear/00007.jpg: cannot decode image"):
        data.load("bear_00000-00024_s1")


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "is not valid JSON"),
        ('{"kfbench_manifest": 1, "dataset": "pexels"}', "written for dataset 'pexels', not 'davis'"),
        (
            '{"kfbench_manifest": 1, "dataset": "davis", "created": "", "options": {}, "sources": {}, '
            '"pairs": [{"id": "x", "source": "x"}]}',
            "lacks start, stride, num_frames, sha256 in pair x",
        ),
    ],
)
def test_bad_manifests_are_clear_errors(tree, tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(KfbenchError, match=message):
        kfbench.create_dataset("davis", root=str(tree), manifest=str(path))


def test_missing_data_says_where_it_belongs(tmp_path):
    with pytest.raises(KfbenchError, match="does not exist; run `kfbench prepare davis` or pass --root"):
        kfbench.create_dataset("davis", root=str(tmp_path / "nowhere"))
    with pytest.raises(
        KfbenchError, match=r"no .*DAVIS/JPEGImages/Full-Resolution \(expected .*/<sequence>/00000.jpg\)"
    ):
        kfbench.create_dataset("davis", root=str(davis_tree(tmp_path / "d", {"a": 25})))


def test_default_root_from_kfbench_data_or_the_user_cache(tmp_path, monkeypatch):
    from kfbench.datasets.clips import default_root

    monkeypatch.setenv("KFBENCH_DATA", str(tmp_path / "data"))
    assert default_root("davis") == tmp_path / "data" / "davis"
    davis_tree(tmp_path / "data" / "davis", {"a": 25})
    assert kfbench.create_dataset("davis", resolution="480p", splits="all").pair_ids() == ["a_00000-00024_s1"]
    monkeypatch.delenv("KFBENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_root("pexels") == tmp_path / "cache" / "kfbench" / "pexels"
