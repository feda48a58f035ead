"""pexels and folder on mp4s written with libx264: frame-accurate decoding, odd and variable frame
rates, truncated files, manifests with URLs, and frame folders beside videos."""

import json
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.errors import BadSourceError, KfbenchError
from tests.helpers.datatrees import decode_all, frame, truncate, write_video


@pytest.fixture(scope="module")
def pexels_dir(tmp_path_factory):
    """Three Pexels-named clips: 29.97 fps, variable frame rate, and one too short."""
    root = tmp_path_factory.mktemp("pexels")
    write_video(root / "1918465-hd_640_360_30fps.mp4", 55, rate=Fraction(30000, 1001))
    write_video(root / "pexels-someone-2499611.mp4", 30, vfr_pattern_ms=[33, 33, 66])
    write_video(root / "7000001-short.mp4", 12)
    return root


def test_odd_fps_frames_are_decoded_by_index(pexels_dir):
    data = kfbench.create_dataset("pexels", root=str(pexels_dir))
    assert data.pair_ids() == [
        "1918465-hd_640_360_30fps_00000-00024_s1",
        "1918465-hd_640_360_30fps_00025-00049_s1",
        "pexels-someone-2499611_00000-00024_s1",
    ]
    assert data.short == ["7000001-short"]
    pair = data.load("1918465-hd_640_360_30fps_00025-00049_s1")
    reference, times = decode_all(pexels_dir / "1918465-hd_640_360_30fps.mp4")
    assert len(reference) == 55
    assert np.array_equal(pair.ground_truth, reference[25:50])
    assert pair.meta["frame_indices"] == list(range(25, 50))
    assert pair.meta["fps"] == pytest.approx(30000 / 1001)
    assert pair.meta["frame_times_s"] == pytest.approx(times[25:50], abs=1e-4)
    assert pair.meta["video_id"] == "1918465" and pair.meta["url"] == "https://www.pexels.com/video/1918465/"


def test_variable_frame_rate_is_indexed_by_frame_not_by_time(pexels_dir):
    data = kfbench.create_dataset("pexels", root=str(pexels_dir))
    pair = data.load("pexels-someone-2499611_00000-00024_s1")
    reference, times = decode_all(pexels_dir / "pexels-someone-2499611.mp4")
    assert np.array_equal(pair.ground_truth, reference[:25])
    assert pair.meta["frame_times_s"][:5] == pytest.approx([0.0, 0.033, 0.066, 0.132, 0.165], abs=1e-4)
    assert pair.meta["video_id"] == "2499611"
    # The synthetic frames are distinct per index: decoding by time at the average rate would repeat or skip some.
    originals = np.stack([frame(i) for i in range(30)]).astype(int)
    closest = [int(np.abs(originals - gt.astype(int)).mean(axis=(1, 2, 3)).argmin()) for gt in pair.ground_truth]
    assert closest == list(range(25))


def test_pexels_manifest_records_id_url_size_fps_start_stride_checksum(pexels_dir, tmp_path):
    data = kfbench.create_dataset("pexels", root=str(pexels_dir))
    manifest = json.loads(data.to_manifest().save(tmp_path / "p.json").read_text())
    source = manifest["sources"]["1918465-hd_640_360_30fps"]
    assert source["video_id"] == "1918465" and source["url"] == "https://www.pexels.com/video/1918465/"
    assert (source["width"], source["height"], source["num_frames"]) == (64, 48, 55)
    assert source["fps"] == pytest.approx(29.97, abs=1e-3)
    assert (
        source["bytes"] == (pexels_dir / "1918465-hd_640_360_30fps.mp4").stat().st_size and len(source["sha256"]) == 64
    )
    pair = manifest["pairs"][1]
    assert (pair["start"], pair["stride"], pair["num_frames"]) == (25, 1, 25)
    assert pair["sha256"] == {"1918465-hd_640_360_30fps.mp4": source["sha256"]}


def test_pinned_pexels_lists_missing_videos_with_their_urls(pexels_dir, tmp_path):
    path = kfbench.create_dataset("pexels", root=str(pexels_dir)).to_manifest().save(tmp_path / "p.json")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(KfbenchError) as info:
        kfbench.create_dataset("pexels", root=str(empty), manifest=str(path))
    message = str(info.value)
    assert "2 video(s) of manifest" in message
    assert f"{empty / '1918465-hd_640_360_30fps.mp4'} <- https://www.pexels.com/download/video/1918465/" in message
    assert f"{empty / 'pexels-someone-2499611.mp4'} <- https://www.pexels.com/download/video/2499611/" in message


def test_a_replaced_video_is_detected_by_its_checksum_and_frame_count(tmp_path):
    root = tmp_path / "clips"
    write_video(root / "1234567.mp4", 30)
    path = kfbench.create_dataset("pexels", root=str(root)).to_manifest().save(tmp_path / "p.json")
    write_video(root / "1234567.mp4", 31)
    with pytest.raises(BadSourceError, match="31 frames of 64x48, but manifest .* says 30"):
        kfbench.create_dataset("pexels", root=str(root), manifest=str(path))
    write_video(root / "1234567.mp4", 30, rate=Fraction(24))
    pinned = kfbench.create_dataset("pexels", root=str(root), manifest=str(path))
    with pytest.raises(BadSourceError, match="1234567.mp4 changed since manifest"):
        pinned.load("1234567_00000-00024_s1")


def test_truncated_video_is_named_or_skipped(tmp_path):
    root = tmp_path / "clips"
    write_video(root / "good.mp4", 25)
    truncate(write_video(root / "broken.mp4", 40))
    with pytest.raises(
        BadSourceError, match=r"broken.mp4: cannot decode video \(truncated or corrupt.*pass --skip-bad"
    ):
        kfbench.create_dataset("folder", root=str(root))
    data = kfbench.create_dataset("folder", root=str(root), skip_bad=True)
    assert data.pair_ids() == ["good_00000-00024_s1"]
    assert "1 unreadable clip(s) skipped" in data.summary() and "broken.mp4" in data.bad[0]


def test_folder_mixes_videos_and_frame_folders_recursively(tmp_path):
    root = tmp_path / "mine"
    write_video(root / "a" / "clip one.mov", 26, rate=Fraction(24))
    frames = root / "b" / "shots"
    frames.mkdir(parents=True)
    for i in range(25):
        Image.fromarray(frame(i)).save(frames / f"f{i:03d}.png")
    data = kfbench.create_dataset("folder", root=str(root))
    assert data.pair_ids() == ["a__clip-one_00000-00024_s1", "b__shots_00000-00024_s1"]
    pair = data.load("b__shots_00000-00024_s1")
    assert np.array_equal(pair.ground_truth, np.stack([frame(i) for i in range(25)]))  # PNG is lossless
    assert pair.meta["path"] == "b/shots" and pair.meta["fps"] is None


def test_folder_rejects_ambiguous_names_and_empty_folders(tmp_path):
    write_video(tmp_path / "x" / "same.mp4", 25)
    write_video(tmp_path / "x" / "same.mkv", 25)
    with pytest.raises(KfbenchError, match="would both be called 'same'; rename one"):
        kfbench.create_dataset("folder", root=str(tmp_path / "x"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(KfbenchError, match="folder: no videos .* under"):
        kfbench.create_dataset("folder", root=str(tmp_path / "empty"))


def test_loose_images_in_the_root_are_refused_saying_each_clip_needs_its_own_folder(tmp_path):
    for i in range(3):
        Image.fromarray(frame(i)).save(tmp_path / f"{i:03d}.png")
    with pytest.raises(KfbenchError, match=r"3 image\(s\) sit directly in .*sub-folder of their own.*mkdir"):
        kfbench.create_dataset("folder", root=str(tmp_path))


def test_a_container_listing_more_frames_than_it_holds_is_rejected_before_decoding(tmp_path, monkeypatch):
    from kfbench.datasets import sources

    write_video(tmp_path / "clips" / "a.mp4", 30)
    monkeypatch.setattr(sources, "_scan", lambda path: (20, [(64, 48)]))
    with pytest.raises(BadSourceError, match="a.mp4: the container lists 30 frames but holds 20"):
        kfbench.create_dataset("folder", root=str(tmp_path / "clips"))
