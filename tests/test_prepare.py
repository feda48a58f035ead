"""`kfbench prepare`: offline listings, archive checks and extraction, manifests written and checked.
No test reaches the network: prepare's open_url is replaced for every test in this module."""

import io
import json
import urllib.error

import pytest
from PIL import Image

from kfbench.datasets import prepare as prep
from kfbench.datasets.prepare import MissingFiles, prepare
from kfbench.errors import KfbenchError
from tests.helpers.archives import write_zip
from tests.helpers.cli import run_cli
from tests.helpers.datatrees import frame, write_video

BASE = "https://data.vision.ee.ethz.ch/csergi/share/davis/"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network: {args}")

    monkeypatch.setattr(prep, "open_url", refuse)


def davis_zip(path, sequences, split, resolution="480p"):
    """An archive laid out like the official ones: DAVIS/JPEGImages/<res>/<seq>/*.jpg and DAVIS/ImageSets."""
    entries = []
    for name, length in sequences.items():
        for i in range(length):
            buffer = io.BytesIO()
            Image.fromarray(frame(i)).save(buffer, format="JPEG")
            entries.append((f"DAVIS/JPEGImages/{resolution}/{name}/{i:05d}.jpg", buffer.getvalue()))
    entries.append((f"DAVIS/ImageSets/2017/{split}.txt", "".join(f"{n}\n" for n in sequences)))
    return write_zip(path, entries)


def test_offline_davis_lists_each_archive_and_where_it_goes(tmp_path):
    result = run_cli("prepare", "davis", "--root", tmp_path / "d", "--offline")
    assert result.returncode == 2
    lines = result.stderr.rstrip().splitlines()
    assert lines[0] == "davis: download each file to the path shown:"
    assert lines[1:3] == [  # the default splits: train, val, test-dev (the ones with an official list)
        f"  {BASE}DAVIS-2017-trainval-Full-Resolution.zip -> "
        f"{tmp_path / 'd' / 'DAVIS-2017-trainval-Full-Resolution.zip'}",
        f"  {BASE}DAVIS-2017-test-dev-Full-Resolution.zip -> "
        f"{tmp_path / 'd' / 'DAVIS-2017-test-dev-Full-Resolution.zip'}",
    ]
    images = tmp_path / "d" / "DAVIS" / "JPEGImages" / "Full-Resolution"
    assert lines[3] == f"(or unzip them yourself into {tmp_path / 'd'}, giving {images}/<sequence>/00000.jpg)"
    assert lines[4].startswith("error: davis: 2 file(s) missing and not downloaded (offline)")
    assert "Traceback" not in result.stderr
    every = run_cli("prepare", "davis", "--root", tmp_path / "d", "--offline", "--splits", "all")
    assert "DAVIS-2017-test-challenge-Full-Resolution.zip" in every.stderr and "3 file(s) missing" in every.stderr


def test_an_extracted_download_is_checked_against_the_official_list(tmp_path):
    """test-dev's archive holds two of its 30 listed sequences, one of them short: prepare names what is wrong."""
    root = tmp_path / "d"
    root.mkdir()
    davis_zip(
        root / "DAVIS-2017-test-dev-480p.zip", {"aerobatics": 71, "carousel": 30}, "test-dev"
    )  # carousel: 69 listed
    result = run_cli("prepare", "davis", "--root", root, "--offline", "--resolution", "480p", "--splits", "test-dev")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert "does not match the official DAVIS 2017 list for test-dev (30 sequences): 28 missing: " in error
    assert "aerobatics" not in error.split("missing:")[1].split(";")[0] and "+16 more" in error
    assert "1 with another frame count: carousel has 30 frames, the list 69" in error


def test_a_placed_archive_is_checked_extracted_and_manifested(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    davis_zip(root / "DAVIS-2017-test-challenge-480p.zip", {"acrobats": 30, "bike": 10}, "test-challenge")
    options = {"resolution": "480p", "splits": "test-challenge"}
    lines = prepare("davis", root=str(root), manifest=None, offline=True, options=options)
    assert any("DAVIS-2017-test-challenge-480p.zip: sha256" in line and "no published sha256" in line for line in lines)
    assert (root / "DAVIS" / "JPEGImages" / "480p" / "acrobats" / "00029.jpg").is_file()
    manifest = json.loads((root / "manifests" / "davis.json").read_text())
    assert [p["id"] for p in manifest["pairs"]] == ["acrobats_00000-00024_s1"]
    assert "1 clip(s) shorter than 25 frames skipped" in "\n".join(lines)
    (root / "DAVIS-2017-test-challenge-480p.zip").unlink()
    again = prepare("davis", root=str(root), manifest=None, offline=True, options=options)
    assert any("already extracted" in line for line in again)


def test_download_path_verifies_and_extracts(tmp_path, monkeypatch):
    served = davis_zip(tmp_path / "served.zip", {"car": 25}, "test-challenge").read_bytes()
    requested = []

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(served))}

    def fake_open_url(url, dest):
        requested.append(url)
        return Response(served)

    monkeypatch.setattr(prep, "open_url", fake_open_url)
    root = tmp_path / "d"
    prepare(
        "davis",
        root=str(root),
        manifest=None,
        offline=False,
        options={"resolution": "480p", "splits": "test-challenge"},
    )
    assert requested == [BASE + "DAVIS-2017-test-challenge-480p.zip"]
    assert (root / "DAVIS" / "JPEGImages" / "480p" / "car" / "00024.jpg").is_file()


def test_unreachable_server_falls_back_to_the_offline_listing(tmp_path, monkeypatch):
    def unreachable(url, dest):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(prep, "open_url", unreachable)
    with pytest.raises(MissingFiles) as info:
        prepare("davis", root=str(tmp_path / "d"), manifest=None, offline=False, options={"splits": "train,val"})
    assert "cannot reach https://data.vision.ee.ethz.ch" in str(info.value) and "no route to host" in str(info.value)
    assert info.value.files == [
        (BASE + "DAVIS-2017-trainval-Full-Resolution.zip", tmp_path / "d" / "DAVIS-2017-trainval-Full-Resolution.zip")
    ]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("DAVIS-2017-trainval-480p.zip", b"x" * 10, "has 10 bytes, expected 832766765"),
        ("DAVIS-2017-test-dev-480p.zip", b"not a zip", "is not a valid ZIP archive"),
    ],
)
def test_bad_archives_are_clear_errors(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    split = "train" if "trainval" in name else "test-dev"
    with pytest.raises(KfbenchError, match=message):
        prepare(
            "davis", root=str(tmp_path), manifest=None, offline=True, options={"resolution": "480p", "splits": split}
        )


def test_corrupt_archive_member_is_caught_by_its_crc(tmp_path):
    path = davis_zip(tmp_path / "DAVIS-2017-test-dev-480p.zip", {"a": 3}, "test-dev")
    data = bytearray(path.read_bytes())
    offset = data.index(b"\xff\xd8") + 200  # inside the first stored JPEG
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(KfbenchError, match="is corrupt \\(CRC mismatch\\)"):
        prepare(
            "davis",
            root=str(tmp_path),
            manifest=None,
            offline=True,
            options={"resolution": "480p", "splits": "test-dev"},
        )


def test_folder_manifest_is_written_then_checked(tmp_path):
    root = tmp_path / "clips"
    write_video(root / "a.mp4", 30)
    lines = prepare("folder", root=str(root), manifest=str(tmp_path / "m.json"), offline=True, options={})
    assert lines[-1].startswith(f"wrote manifest {tmp_path / 'm.json'} (1 pairs)")
    lines = prepare("folder", root=str(root), manifest=str(tmp_path / "m.json"), offline=True, options={})
    assert lines[-1] == f"folder: all 1 pair(s) match manifest {tmp_path / 'm.json'}"
    write_video(root / "a.mp4", 30, size=(48, 80))
    with pytest.raises(KfbenchError, match="30 frames of 80x48, but manifest .* says 30 of 64x48"):
        prepare("folder", root=str(root), manifest=str(tmp_path / "m.json"), offline=True, options={})


def test_pinned_pexels_offline_lists_missing_videos(tmp_path):
    clips = tmp_path / "clips"
    write_video(clips / "3571264.mp4", 25)
    path = tmp_path / "pexels.json"
    prepare("pexels", root=str(clips), manifest=str(path), offline=True, options={})
    with pytest.raises(MissingFiles) as info:
        prepare("pexels", root=str(tmp_path / "new"), manifest=str(path), offline=True, options={})
    assert info.value.listing()[1:] == [
        f"  https://www.pexels.com/download/video/3571264/ -> {tmp_path / 'new' / '3571264.mp4'}"
    ]


def test_datasets_without_files_to_prepare_say_so(tmp_path):
    with pytest.raises(KfbenchError, match="pairs has nothing to prepare"):
        prepare("pairs", root=str(tmp_path), manifest=None, offline=True, options={})
