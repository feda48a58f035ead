"""Images keep their values: 16-bit, grey, palette, alpha, CMYK and float inputs become the right 8-bit RGB."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image

import kfbench
from kfbench.errors import BadSourceError
from kfbench.store.runstore import RunStore
from kfbench.utils.imageops import as_rgb_uint8, read_rgb
from tests.helpers.inprocess import run_main

# Every 16-bit level once, as a 256 x 256 ramp: a clip to 255 would flatten 99.6 % of it.
RAMP16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)


def by_257(values: np.ndarray) -> np.ndarray:
    """The 8-bit level of 16-bit values: round(v / 257), computed in integers."""
    return ((values.astype(np.int64) * 2 + 257) // 514).astype(np.uint8)


def grey(levels: np.ndarray) -> np.ndarray:
    return np.repeat(levels[..., None], 3, axis=2)


def test_16_bit_grey_png_is_scaled_by_257_not_clipped(tmp_path):
    Image.fromarray(RAMP16).save(tmp_path / "ramp.png")
    assert Image.open(tmp_path / "ramp.png").mode == "I;16"
    rgb = read_rgb(tmp_path / "ramp.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (256, 256, 3)
    assert np.array_equal(rgb, grey(by_257(RAMP16)))
    assert np.count_nonzero(rgb[..., 0] == 255) == 129  # 65407..65535, not the 65281 values >= 255 of a clip
    assert len(np.unique(rgb)) == 256


def test_16_bit_rgb_and_rgba_png_are_read_at_full_depth(tmp_path):
    rgb16 = np.stack([RAMP16, RAMP16[::-1], RAMP16.T], axis=-1)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    assert Image.open(tmp_path / "rgb16.png").mode == "RGB"  # Pillow would keep only the high byte (v >> 8)
    assert np.array_equal(read_rgb(tmp_path / "rgb16.png"), by_257(rgb16))
    alpha = np.full(RAMP16.shape, 65535, np.uint16)
    alpha[:128] = 32768
    cv2.imwrite(str(tmp_path / "rgba16.png"), np.dstack([rgb16[..., ::-1], alpha]))
    expected = np.rint(rgb16 * (alpha[..., None] / 65535) / 257).astype(np.uint8)
    assert np.array_equal(read_rgb(tmp_path / "rgba16.png"), expected)


def test_16_bit_tiff_and_32_bit_integer_images(tmp_path):
    cv2.imwrite(str(tmp_path / "grey16.tif"), RAMP16)
    assert np.array_equal(read_rgb(tmp_path / "grey16.tif"), grey(by_257(RAMP16)))
    Image.fromarray(RAMP16.astype(np.int32)).save(tmp_path / "i32.tif")
    assert Image.open(tmp_path / "i32.tif").mode == "I"
    assert np.array_equal(read_rgb(tmp_path / "i32.tif"), grey(by_257(RAMP16)))
    Image.fromarray(np.full((4, 4), 70000, np.int32)).save(tmp_path / "big.tif")
    with pytest.raises(BadSourceError, match="outside the 16-bit range 0..65535"):
        read_rgb(tmp_path / "big.tif")


def test_float_images_in_0_1_are_scaled_and_others_refused(tmp_path):
    values = np.linspace(0, 1, 256 * 4, dtype=np.float32).reshape(4, 256)
    Image.fromarray(values).save(tmp_path / "f.tif")
    assert Image.open(tmp_path / "f.tif").mode == "F"
    assert np.array_equal(read_rgb(tmp_path / "f.tif"), grey(np.rint(values.astype(np.float64) * 255).astype(np.uint8)))
    for name, bad in (("over.tif", values * 255), ("nan.tif", np.full((4, 4), np.nan, np.float32))):
        Image.fromarray(bad).save(tmp_path / name)
        with pytest.raises(BadSourceError, match=r"outside \[0, 1\]"):
            read_rgb(tmp_path / name)


def test_8_bit_modes_grey_palette_alpha_and_cmyk():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    levels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    alpha = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    assert np.array_equal(as_rgb_uint8(Image.fromarray(rgb)), rgb)
    assert np.array_equal(as_rgb_uint8(Image.fromarray(levels)), grey(levels))
    over_black = np.rint(rgb * (alpha[..., None] / 255.0)).astype(np.uint8)
    assert np.array_equal(as_rgb_uint8(Image.fromarray(np.dstack([rgb, alpha]))), over_black)
    grey_alpha = Image.fromarray(np.dstack([levels, alpha])).convert("LA")
    assert np.array_equal(as_rgb_uint8(grey_alpha), grey(np.rint(levels * (alpha / 255.0)).astype(np.uint8)))
    palette = Image.fromarray(rgb).quantize(colors=16)
    assert np.array_equal(as_rgb_uint8(palette), np.asarray(palette.convert("RGB")))
    palette.info["transparency"] = int(np.asarray(palette)[0, 0])
    assert as_rgb_uint8(palette)[0, 0].tolist() == [0, 0, 0]  # the transparent index composited over black
    cmyk = Image.fromarray(rgb).convert("CMYK")
    assert np.array_equal(as_rgb_uint8(cmyk), np.asarray(cmyk.convert("RGB")))
    assert np.array_equal(
        as_rgb_uint8(Image.fromarray(levels > 127)), grey(np.where(levels > 127, 255, 0).astype(np.uint8))
    )


def test_16_bit_grey_keyframes_round_trip_within_one_level(tmp_path):
    first = np.linspace(0, 65535, 64 * 96).round().astype(np.uint16).reshape(64, 96)
    last = first[::-1, ::-1].copy()
    Image.fromarray(first).save(tmp_path / "first.png")
    Image.fromarray(last).save(tmp_path / "last.png")
    (tmp_path / "pairs.csv").write_text("id,first,last,num_frames\nramp,first.png,last.png,5\n")
    code, _, err = run_main(
        "run",
        "--method",
        "linear",
        "--dataset",
        "pairs",
        "--root",
        tmp_path / "pairs.csv",
        "--out",
        tmp_path / "runs",
        "--quiet",
    )
    assert code == 0, err
    frames = RunStore(tmp_path / "runs").load_frames("pairs", "linear", "ramp")
    for frame, source in ((frames[0], first), (frames[-1], last)):
        assert np.abs(frame.astype(int) - source[..., None] / 257).max() <= 1
        assert frame.max() >= 254 and np.count_nonzero(frame == 255) < frame.size // 100


def test_16_bit_frame_folders_keep_their_values(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(RAMP16, 4096 * i)[:32, :48]).save(clip / f"{i:05d}.png")
    data = kfbench.create_dataset("folder", root=str(tmp_path), num_frames=3)
    pair = data.load(data.pair_ids()[0])
    assert np.array_equal(pair.first, grey(by_257(RAMP16[:32, :48])))
    assert np.array_equal(pair.ground_truth[2], grey(by_257(np.roll(RAMP16, 8192)[:32, :48])))


def test_file_names_that_are_not_utf8_work_and_print_as_bytes(tmp_path):
    root = tmp_path / "data"  # the run store lies outside the dataset root
    folder = os.fsdecode(os.fsencode(root) + b"/caf\xe9")
    os.makedirs(folder)
    for i in range(3):
        Image.fromarray(np.full((16, 24, 3), 40 * i, np.uint8)).save(
            os.path.join(folder, os.fsdecode(b"fr\xe9me%d.png" % i))
        )
    code, out, err = run_main(
        "run",
        "--method",
        "linear",
        "--dataset",
        "folder",
        "--root",
        root,
        "--num-frames",
        "3",
        "--out",
        tmp_path / "runs",
        "--quiet",
    )
    assert code == 0 and "1 pair(s) written" in out, err
    (pair,) = (p for p in (tmp_path / "runs" / "folder" / "linear").iterdir() if p.is_dir())
    assert pair.name.startswith("caf-")  # the pair id replaces the undecodable byte
    with open(os.path.join(folder, os.fsdecode(b"fr\xe9me1.png")), "w") as fh:
        fh.write("not an image")
    code, _, err = run_main(
        "run",
        "--method",
        "linear",
        "--dataset",
        "folder",
        "--root",
        root,
        "--num-frames",
        "3",
        "--out",
        tmp_path / "runs2",
        "--quiet",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "caf\\xe9/fr\\xe9me1.png: cannot decode image" in err
