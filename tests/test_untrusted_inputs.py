"""Hostile inputs, round three (issue 22): every case's outcome class, and nothing outside its folder changed.

Each case builds its input in a fresh folder (a copy of a small evaluated run store where it needs one),
runs kfbench (a command in this process, or the library function a command calls), and is classed:

- ``clear``: one line starting ``error:`` (exit status 2), containing the expected fragment;
- ``correct``: success, and the case's check of the result holds;
- ``silently wrong``: success with a wrong result (or success where an error was due);
- ``misleading``: one clear line that does not say what the case expects;
- ``traceback``: an exception escaped (or a traceback was printed);
- ``outside-folder``: a file in the case's ``outside`` folder (the target of links and '..' paths) changed;
- ``hang``: no answer within the case's time limit.

Set KFBENCH_OUTCOMES=FILE to append 'case,outcome' lines (the issue's before/after counts come from that).
"""

from __future__ import annotations

import errno
import http.server
import io
import json
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from kfbench.errors import KfbenchError
from tests.helpers.inprocess import run_main

RUN = ["run", "--method", "linear", "--quiet"]
EVAL = ["evaluate", "--quiet", "--bootstrap", "0"]


@dataclass
class Seen:
    """What a case saw: exit status (0 success, else an error), stderr, and for a success whether it is right."""

    code: int
    err: str = ""
    correct: bool | None = None


ARMED: dict[Path, dict[str, tuple[int, int]]] = {}
"""Per case folder: its outside folder as it was when the case acted (set up, before kfbench ran)."""


def arm(w: Path) -> None:
    ARMED[w] = snapshot(w / "outside")


def cli(*args: object, check: Callable[[], bool] | None = None) -> Seen:
    arm(CURRENT[0])
    code, _, err = run_main(*map(str, args))
    return Seen(code, err, check() if code == 0 and check else None)


def api(call: Callable[[], object], check: Callable[[object], bool] = lambda _: False) -> Seen:
    """A library call: a KfbenchError is a one-line error (exit status 2); any other exception escapes.

    Without ``check`` a success is wrong (the case expects an error)."""
    arm(CURRENT[0])
    try:
        value = call()
    except KfbenchError as exc:
        return Seen(2, f"error: {exc}")
    if isinstance(value, str):  # a reason instead of a result
        return Seen(2, f"error: {value}")
    return Seen(0, "", check(value))


# -- the shared world: an evaluated store (synthetic, linear and flow) -----------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("untrusted-store")
    for method in ("linear", "flow"):
        code, _, err = run_main(
            "run",
            "--method",
            method,
            "--dataset",
            "synthetic",
            "--num-pairs",
            "1",
            "--num-frames",
            "5",
            "--out",
            base / "runs",
            "--quiet",
        )
        assert code == 0, err
    code, _, err = run_main(*EVAL, "--out", base / "runs", "--metrics", "psnr")
    assert code == 0, err
    return base / "runs"


def copy_store(store: Path, w: Path) -> Path:
    shutil.copytree(store, w / "runs", symlinks=True)
    return w / "runs"


def edit_results(runs: Path, column: str, value: object, name: str = "results.csv") -> None:
    """``value`` in ``column`` of the rows holding the first row's value there (e.g. every 'linear' row)."""
    table = pd.read_csv(runs / name, keep_default_na=False)
    table[column] = table[column].astype(object).where(table[column] != table[column][0], value)
    table.to_csv(runs / name, index=False)


def pair_folder(runs: Path, method: str = "linear") -> Path:
    return next(p for p in (runs / "synthetic" / method).iterdir() if (p / "meta.json").is_file())


def edit_meta(runs: Path, change: Callable[[dict], None]) -> None:
    for method in ("linear", "flow"):
        meta = pair_folder(runs, method) / "meta.json"
        data = json.loads(meta.read_text())
        change(data)
        meta.write_text(json.dumps(data))


def png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def frames_folder(folder: Path, count: int, size: tuple[int, int] = (32, 48)) -> Path:
    for i in range(count):
        png(folder / f"{i:05d}.png", np.full((*size, 3), (i * 8) % 256, np.uint8))
    return folder


def video(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def resizing_video(path: Path) -> Path:
    """One H.264 stream whose frame size changes at its second keyframe (64x64, then 96x96)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = b""
    for size in (64, 96):
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="h264") as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            for value in range(10):
                frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), value * 20, np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        raw += buffer.getvalue()
    with av.open(io.BytesIO(raw), format="h264") as src, av.open(str(path), "w") as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for i, packet in enumerate(p for p in src.demux(video=0) if p.size):
            packet.stream, packet.pts, packet.dts = out, i, i
            packet.time_base = out.time_base = __import__("fractions").Fraction(1, 10)
            dst.mux(packet)
    return path


def manifest_for(w: Path, change: Callable[[dict], None]) -> Path:
    """A prepared folder dataset (one 30-frame clip) and its manifest, changed by ``change``."""
    frames_folder(w / "data" / "clip", 30)
    code, _, err = run_main("prepare", "folder", "--root", w / "data", "--num-frames", "5", "--manifest", w / "m.json")
    assert code == 0, err
    data = json.loads((w / "m.json").read_text())
    change(data)
    (w / "m.json").write_text(json.dumps(data))
    return w / "m.json"


def run_manifest(w: Path) -> Seen:
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--manifest", w / "m.json", "--out", w / "out")


# -- cases: nothing outside its folder ------------------------------------------------------------------


def report_after_edit(column: str, value: object) -> Callable[[Path, Path], Seen]:
    """A case: results.csv's ``column`` set to ``value`` (or ``value(w)``) in the 'linear' rows, then report."""

    def case(w: Path, store: Path) -> Seen:
        runs = copy_store(store, w)
        edit_results(runs, column, value(w) if callable(value) else value)
        return cli("report", "--quiet", "--out", runs, "--to", w / "r" / "report")

    return case


def run_symlinked_method_folder(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    linear = runs / "synthetic" / "linear"
    shutil.copytree(linear, w / "outside" / "victim")  # a folder named like the pair, elsewhere
    shutil.rmtree(linear)
    linear.symlink_to(w / "outside" / "victim", target_is_directory=True)
    return cli(*RUN, "--dataset", "synthetic", "--num-pairs", "1", "--num-frames", "5", "--overwrite", "--out", runs)


def run_symlinked_dataset_folder(w: Path, store: Path) -> Seen:
    (w / "runs").mkdir()
    (w / "runs" / "synthetic").symlink_to(w / "outside", target_is_directory=True)
    return cli(*RUN, "--dataset", "synthetic", "--num-pairs", "1", "--num-frames", "5", "--out", w / "runs")


def evaluate_symlinked_method_folder(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    shutil.move(runs / "synthetic" / "flow", w / "outside" / "flow")
    (runs / "synthetic" / "flow").symlink_to(w / "outside" / "flow", target_is_directory=True)
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def folder_symlinked_clip_folder(w: Path, store: Path) -> Seen:
    frames_folder(w / "outside" / "frames", 30)
    (w / "data").mkdir()
    (w / "data" / "clip").symlink_to(w / "outside" / "frames", target_is_directory=True)
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", w / "out")


def folder_symlinked_video(w: Path, store: Path) -> Seen:
    video(w / "outside" / "v.mp4", np.zeros((30, 64, 64, 3), np.uint8))
    (w / "data").mkdir()
    (w / "data" / "v.mp4").symlink_to(w / "outside" / "v.mp4")
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", w / "out")


# -- evaluate merges, under a lock ----------------------------------------------------------------------


def evaluate_ssim_after_psnr(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)

    def both_kept() -> bool:
        results = pd.read_csv(runs / "results.csv")
        frames = pd.read_csv(runs / "per_frame.csv")
        return (
            {"psnr", "ssim"} <= set(results["metric"])
            and {"psnr", "ssim"} <= set(frames.columns)
            and frames["psnr"].notna().all()
        )

    return cli(*EVAL, "--out", runs, "--metrics", "ssim", check=both_kept)


def evaluate_concurrent(w: Path, store: Path) -> Seen:
    """Two evaluates (linear, flow) merging at once: each reads, waits, writes; neither may lose the other's rows."""
    from kfbench.metrics.config import EvalConfig
    from kfbench.metrics.evaluate import evaluate_store

    runs = copy_store(store, w)
    (runs / "results.csv").unlink()
    (runs / "results.parquet").unlink()
    real = pd.DataFrame.to_parquet

    def slow_write(self, *args, **kwargs):
        time.sleep(0.5)
        return real(self, *args, **kwargs)

    errors: list[BaseException] = []

    def one(method: str) -> None:
        try:
            evaluate_store(runs, EvalConfig(metrics=("psnr",), bootstrap=0), methods=[method])
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_parquet", slow_write)
        threads = [threading.Thread(target=one, args=(m,)) for m in ("linear", "flow")]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return Seen(0, "", set(pd.read_csv(runs / "results.csv")["method"]) == {"linear", "flow"})


def evaluate_stale_lock(w: Path, store: Path) -> Seen:
    """A results lock left by a process that died (pid 2**22 + 1 exceeds Linux's pid_max) is taken over."""
    from kfbench.store.owners import HOST

    runs = copy_store(store, w)
    (runs / ".claim-results").write_text(json.dumps({"pid": 2**22 + 1, "host": HOST, "started": None, "token": "dead"}))
    return cli(
        *EVAL,
        "--out",
        runs,
        "--metrics",
        "ssim",
        check=lambda: {"psnr", "ssim"} <= set(pd.read_csv(runs / "results.csv")["metric"]),
    )


def evaluate_disk_full(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_parquet", full)
        return cli(*EVAL, "--out", runs, "--metrics", "psnr")


# -- escaping -------------------------------------------------------------------------------------------


def latex_caret_escape(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_results(runs, "method", "x^^5cinput{^^2fetc^^2fhostname}")
    tex = w / "report" / "table1.tex"
    return cli(
        "report",
        "--quiet",
        "--out",
        runs,
        "--to",
        w / "report",
        check=lambda: "^^" not in tex.read_text() and "\\input" not in tex.read_text(),
    )


def latex_all_specials(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_results(runs, "method", "a~b{c}$d^e")
    tex = w / "report" / "table1.tex"

    def escaped() -> bool:
        row = next(line for line in tex.read_text().splitlines() if line.startswith("a"))
        return row.startswith(r"a\textasciitilde{}b\{c\}\$d\^{}e")

    return cli("report", "--quiet", "--out", runs, "--to", w / "report", check=escaped)


def csv_formula_method(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_results(runs, "method", "=1+2")
    table = w / "report" / "table1.csv"
    return cli(
        "report",
        "--quiet",
        "--out",
        runs,
        "--to",
        w / "report",
        check=lambda: all(not line.startswith("=") for line in table.read_text().splitlines()),
    )


def csv_formula_pair_id(w: Path, store: Path) -> Seen:
    frames_folder(w / "data" / "=clip", 30)  # the source name '-clip' starts the pair id with '-'
    out = w / "out"
    assert run_main(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", out)[0] == 0

    def safe() -> bool:
        cells = [c for line in (out / "per_frame.csv").read_text().splitlines()[1:] for c in line.split(",")]
        again = run_main(*EVAL, "--out", out, "--metrics", "psnr")[0] == 0  # and it reads back
        return again and not any(c.startswith(("=", "+", "-", "@")) for c in cells if not c[1:2].isdigit())

    return cli(*EVAL, "--out", out, "--metrics", "psnr", check=safe)


def html_link_encoded(w: Path, store: Path) -> Seen:
    png(w / "a.png", np.zeros((32, 48, 3), np.uint8))
    png(w / "b.png", np.full((32, 48, 3), 255, np.uint8))
    (w / "pairs.csv").write_text("id,first,last\np#1%2?x,a.png,b.png\n")
    out = w / "out"
    assert run_main(*RUN, "--dataset", "pairs", "--root", w / "pairs.csv", "--num-frames", "3", "--out", out)[0] == 0
    assert run_main(*EVAL, "--out", out, "--metrics", "psnr")[0] == 0
    page = w / "report" / "index.html"
    return cli(
        "report",
        "--quiet",
        "--out",
        out,
        "--to",
        w / "report",
        "--videos",
        "link",
        check=lambda: 'src="videos/pairs/p%231%252%3Fx/linear.mp4"' in page.read_text(),
    )


def mathtext_method(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_results(runs, "method", "$x^$")
    return cli(
        "report",
        "--quiet",
        "--out",
        runs,
        "--to",
        w / "report",
        check=lambda: (w / "report" / "figures" / "synthetic-metrics.svg").is_file(),
    )


# -- tables and meta.json read as untrusted ---------------------------------------------------------------


def per_frame_without_time(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    pd.read_csv(runs / "per_frame.csv").drop(columns=["time"]).to_csv(runs / "per_frame.csv", index=False)
    return cli("report", "--quiet", "--out", runs, "--to", w / "report")


def meta_without_dataset(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_meta(runs, lambda m: m.pop("dataset"))
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def meta_dataset_options_list(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_meta(runs, lambda m: m.update(dataset_options=[1, 2]))
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def meta_frame_times_strings(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_meta(runs, lambda m: m.update(frame_times=[str(t) for t in m["frame_times"]]))
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def meta_fps_negative(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    edit_meta(runs, lambda m: m.update(options={**m.get("options", {}), "fps": -1}))
    return cli("report", "--quiet", "--out", runs, "--to", w / "report")


def store_frames_deleted(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    shutil.rmtree(pair_folder(runs) / "frames")
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def store_frame_truncated(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    frame = pair_folder(runs) / "frames" / "001.png"
    frame.write_bytes(frame.read_bytes()[:60])
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


def store_frames_mixed_sizes(w: Path, store: Path) -> Seen:
    runs = copy_store(store, w)
    png(pair_folder(runs) / "frames" / "001.png", np.zeros((8, 8, 3), np.uint8))
    return cli(*EVAL, "--out", runs, "--metrics", "psnr")


# -- media ----------------------------------------------------------------------------------------------


def exif_orientation(w: Path, store: Path) -> Seen:
    rng = np.random.default_rng(0)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(w / f"{name}.jpg", exif=exif)
    (w / "pairs.csv").write_text("id,first,last\np,a.jpg,b.jpg\n")
    out = w / "out"

    def upright() -> bool:
        from PIL import ImageOps

        with Image.open(w / "a.jpg") as image:
            expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        saved = np.asarray(Image.open(out / "pairs" / "linear" / "p" / "frames" / "000.png"))
        return saved.shape == expected.shape == (48, 32, 3) and np.array_equal(saved, expected)

    return cli(*RUN, "--dataset", "pairs", "--root", w / "pairs.csv", "--num-frames", "3", "--out", out, check=upright)


def video_size_changes(w: Path, store: Path) -> Seen:
    resizing_video(w / "data" / "v.mkv")
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", w / "out")


def video_16px(w: Path, store: Path) -> Seen:
    frames = np.random.default_rng(0).integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    video(w / "data" / "small.mp4", frames)
    out = w / "out"
    return cli(
        *RUN,
        "--dataset",
        "folder",
        "--root",
        w / "data",
        "--num-frames",
        "5",
        "--num-pairs",
        "1",
        "--out",
        out,
        check=lambda: len(list((out / "folder" / "linear").glob("*/frames/*.png"))) == 5,
    )


def out_inside_folder_root(w: Path, store: Path) -> Seen:
    frames_folder(w / "data" / "clip", 30)
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", w / "data" / "runs")


def tiny_frames_metrics(w: Path, store: Path) -> Seen:
    frames_folder(w / "data" / "clip", 30, size=(1, 1))
    out = w / "out"
    assert run_main(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", out)[0] == 0

    def missing_with_reason() -> bool:
        results = pd.read_csv(out / "results.csv", keep_default_na=False).set_index("metric")
        return (
            all("px" in results.loc[m, "missing_reason"] for m in ("ssim", "warp_error"))
            and results.loc["psnr", "missing_reason"] == ""
        )

    return cli(*EVAL, "--out", out, "--metrics", "psnr,ssim,warp_error", check=missing_with_reason)


def decompression_bomb_keyframe(w: Path, store: Path) -> Seen:
    Image.new("1", (20000, 20000)).save(w / "bomb.png")
    png(w / "b.png", np.zeros((32, 48, 3), np.uint8))
    (w / "pairs.csv").write_text("id,first,last\np,bomb.png,b.png\n")
    return cli(*RUN, "--dataset", "pairs", "--root", w / "pairs.csv", "--num-frames", "3", "--out", w / "out")


def decompression_bomb_frame(w: Path, store: Path) -> Seen:
    frames_folder(w / "data" / "clip", 30)
    Image.new("1", (20000, 20000)).save(w / "data" / "clip" / "00002.png")
    return cli(*RUN, "--dataset", "folder", "--root", w / "data", "--num-frames", "5", "--out", w / "out")


def pairs_csv(w: Path, text: str, encoding: str = "utf-8") -> Path:
    png(w / "a.png", np.zeros((32, 48, 3), np.uint8))
    png(w / "b.png", np.full((32, 48, 3), 255, np.uint8))
    (w / "pairs.csv").write_bytes(text.encode(encoding))
    return w / "pairs.csv"


def pairs_bom_crlf(w: Path, store: Path) -> Seen:
    path = pairs_csv(w, "\ufeffid,first,last\r\nmine,a.png,b.png\r\n")
    return cli(
        *RUN,
        "--dataset",
        "pairs",
        "--root",
        path,
        "--num-frames",
        "3",
        "--out",
        w / "out",
        check=lambda: (w / "out" / "pairs" / "linear" / "mine" / "meta.json").is_file(),
    )


def pairs_fps_tiny(w: Path, store: Path) -> Seen:
    path = pairs_csv(w, "id,first,last,fps\np,a.png,b.png,0.0001\n")
    return cli(*RUN, "--dataset", "pairs", "--root", path, "--num-frames", "3", "--out", w / "out")


def pairs_fps_huge(w: Path, store: Path) -> Seen:
    path = pairs_csv(w, "id,first,last,fps\np,a.png,b.png,1e300\n")
    return cli(*RUN, "--dataset", "pairs", "--root", path, "--num-frames", "3", "--out", w / "out")


def prompts_latin1(w: Path, store: Path) -> Seen:
    from kfbench.run.prompts import read_prompts

    (w / "prompts.csv").write_bytes("p,caf\u00e9\n".encode("latin-1"))
    return api(lambda: read_prompts(w / "prompts.csv", ["p"]))


def prompts_bom(w: Path, store: Path) -> Seen:
    from kfbench.run.prompts import read_prompts

    (w / "prompts.csv").write_bytes("\ufeffid,prompt\r\np,a cat\r\n".encode())
    return api(lambda: read_prompts(w / "prompts.csv", ["p"]), lambda v: v == {"p": "a cat"})


# -- manifests ------------------------------------------------------------------------------------------


def manifest_duplicate_ids(w: Path, store: Path) -> Seen:
    manifest_for(w, lambda m: m["pairs"].append({**m["pairs"][0], "start": 1, "frame_indices": list(range(1, 6))}))
    return run_manifest(w)


def manifest_reversed_indices(w: Path, store: Path) -> Seen:
    manifest_for(w, lambda m: m["pairs"][0].update(frame_indices=m["pairs"][0]["frame_indices"][::-1]))
    return run_manifest(w)


def manifest_unknown_field(w: Path, store: Path) -> Seen:
    manifest_for(w, lambda m: m["pairs"][0].update(reverse=True))
    return run_manifest(w)


def manifest_huge_num_frames(w: Path, store: Path) -> Seen:
    manifest_for(w, lambda m: m["pairs"][0].update(num_frames=10**9, frame_indices=None))
    return run_manifest(w)


def manifest_beyond_the_end(w: Path, store: Path) -> Seen:
    manifest_for(w, lambda m: m["pairs"][0].update(start=28, frame_indices=None))
    return cli("prepare", "folder", "--root", w / "data", "--manifest", w / "m.json")


# -- archives and downloads -----------------------------------------------------------------------------


def davis_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def challenge_overwrites_trainval(w: Path, store: Path) -> Seen:
    root = w / "outside" / "davis"  # the trainval files already there must not change
    png(root / "DAVIS" / "JPEGImages" / "480p" / "bear" / "00000.jpg", np.zeros((8, 8, 3), np.uint8))
    (root / "DAVIS" / "ImageSets" / "2017").mkdir(parents=True)
    (root / "DAVIS" / "ImageSets" / "2017" / "train.txt").write_text("bear\n")
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(jpeg, "JPEG")
    davis_zip(
        w / "DAVIS-2017-test-challenge-480p.zip",
        {
            "DAVIS/JPEGImages/480p/bear/00000.jpg": jpeg.getvalue(),
            "DAVIS/ImageSets/2017/train.txt": b"bear\n",
            "DAVIS/ImageSets/2017/test-challenge.txt": b"bear\n",
        },
    )
    shutil.move(w / "DAVIS-2017-test-challenge-480p.zip", root / "DAVIS-2017-test-challenge-480p.zip")
    # the archive itself was placed by the user: it is the one file there that may go
    (w / "outside" / ".allowed").write_text("davis/DAVIS-2017-test-challenge-480p.zip\n")
    return cli("prepare", "davis", "--root", root, "--offline", "--resolution", "480p", "--splits", "test-challenge")


def archive_planting_a_stamp(w: Path, store: Path) -> Seen:
    root = w / "davis"
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    davis_zip(
        root.parent / "DAVIS-2017-test-challenge-480p.zip",
        {
            "DAVIS/JPEGImages/480p/acrobats/00000.jpg": jpeg.getvalue(),
            "DAVIS/ImageSets/2017/test-challenge.txt": b"acrobats\n",
            ".kfbench/DAVIS-2017-trainval-480p.zip.sequences": b"bear\n",
        },
    )
    root.mkdir()
    shutil.move(root.parent / "DAVIS-2017-test-challenge-480p.zip", root)
    return cli("prepare", "davis", "--root", root, "--offline", "--resolution", "480p", "--splits", "test-challenge")


def extraction_checks_free_space(w: Path, store: Path) -> Seen:
    root = w / "davis"
    root.mkdir()
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    davis_zip(
        root / "DAVIS-2017-test-challenge-480p.zip", {"DAVIS/JPEGImages/480p/acrobats/00000.jpg": jpeg.getvalue()}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100))
        return cli(
            "prepare", "davis", "--root", root, "--offline", "--resolution", "480p", "--splits", "test-challenge"
        )


class Server(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            for _ in range(60):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.5)
        elif self.path == "/to-ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1:9/file")
            self.end_headers()
        elif self.path == "/bad-length":
            self.send_response(200)
            self.send_header("Content-Length", "lots")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def fetch(w: Path, url: str) -> Callable[[], object]:
    from kfbench.datasets import prepare as prep

    fetcher = prep.Fetcher(offline=False)

    def call() -> object:
        digest = fetcher.fetch(url, w / "file.bin")
        return w / "file.bin" if digest is not None else f"not fetched: {fetcher.failure}"

    return call


def download_trickle(w: Path, store: Path, server: str) -> Seen:
    from kfbench.datasets import prepare as prep

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prep, "RATE_WINDOW_S", 1.0, raising=False)
        patch.setattr(prep, "MIN_RATE", 1000, raising=False)
        return api(fetch(w, f"{server}/trickle"))


def download_redirect_to_ftp(w: Path, store: Path, server: str) -> Seen:
    from kfbench.datasets import prepare as prep

    connected = []
    real = prep.urllib.request.FTPHandler.ftp_open
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            prep.urllib.request.FTPHandler, "ftp_open", lambda self, req: connected.append(req) or real(self, req)
        )
        seen = api(fetch(w, f"{server}/to-ftp"))
    return Seen(seen.code, seen.err) if not connected else Seen(0, "", False)  # connecting to ftp at all is wrong


def download_bad_content_length(w: Path, store: Path, server: str) -> Seen:
    return api(fetch(w, f"{server}/bad-length"), lambda _: (w / "file.bin").read_bytes() == b"hello")


# -- release files and model folders --------------------------------------------------------------------


def film_old_layout_state_dict(w: Path, store: Path) -> Seen:
    from kfbench.methods.film.weights import load_film
    from tests.helpers.release_layouts import old_layout_film

    network = old_layout_film()
    torch.save(network.state_dict(), w / "film.pt")
    return api(
        lambda: load_film(w / "film.pt"),
        lambda loaded: torch.equal(
            loaded.state_dict()["fuse.convs.0.0.0.weight"], network.state_dict()["fuse.convs.0.0.weight"]
        ),
    )


def i3d_hassony2_names_refused_when_other(w: Path, store: Path) -> Seen:
    from kfbench.metrics.i3d import load_i3d_torchscript_weights

    class Odd(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv3d_1a_7x7 = torch.nn.Module()
            self.conv3d_1a_7x7.conv3d = torch.nn.Conv3d(3, 64, 7, bias=False)
            self.extra = torch.nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.extra(x)

    torch.jit.save(torch.jit.script(Odd()), str(w / "i3d_torchscript.pt"))
    return api(lambda: load_i3d_torchscript_weights(w / "i3d_torchscript.pt"))


def videomae_args_namespace(w: Path, store: Path) -> Seen:
    import argparse

    from kfbench.utils.safeload import load_weights_only

    torch.save({"model": {"w": torch.ones(1)}, "args": argparse.Namespace(model="vit_giant")}, w / "vm.pth")
    return api(lambda: load_weights_only(w / "vm.pth", "VideoMAE-v2 weights"), lambda v: v["args"].model == "vit_giant")


def weights_other_class_refused(w: Path, store: Path) -> Seen:
    from kfbench.utils.safeload import load_weights_only

    torch.save({"model": {"w": torch.ones(1)}, "args": http.server.HTTPServer}, w / "vm.pth")
    return api(lambda: load_weights_only(w / "vm.pth", "VideoMAE-v2 weights"))


def dynamicrafter_deepspeed(w: Path, store: Path) -> Seen:
    from kfbench.methods.dynamicrafter.checkpoint import read_state_dict

    torch.save({"module": {"_forward_module.model.x.weight": torch.ones(2)}}, w / "model.ckpt")
    return api(lambda: read_state_dict(w / "model.ckpt"), lambda state: list(state) == ["model.x.weight"])


def pytorch_fid_inception_name(w: Path, store: Path) -> Seen:
    from kfbench.metrics import weights
    from kfbench.metrics.fid import INCEPTION

    (w / "hub").mkdir()
    (w / "hub" / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(weights, "hub_checkpoints", lambda: w / "hub")
        return api(lambda: INCEPTION.resolve(None), lambda path: path.name.startswith("pt_inception"))


def keyframe_folder(w: Path, index: object, encoding: str = "utf-8") -> Path:
    folder = w / "model"
    folder.mkdir()
    text = index if isinstance(index, str) else json.dumps(index)
    (folder / "model_index.json").write_bytes(text.encode(encoding))
    return folder


def keyframe_folder_with_code(w: Path, store: Path) -> Seen:
    from kfbench.methods.keyframe.loading import read_model_index

    folder = keyframe_folder(w, {"_class_name": "WanImageToVideoPipeline", "vae": ["diffusers", "AutoencoderKLWan"]})
    (folder / "pipeline.py").write_text("import os\n")
    return api(lambda: read_model_index(folder, str(folder)))


def keyframe_folder_auto_map(w: Path, store: Path) -> Seen:
    from kfbench.methods.keyframe.loading import read_model_index

    folder = keyframe_folder(w, {"_class_name": "WanImageToVideoPipeline", "vae": ["diffusers", "AutoencoderKLWan"]})
    (folder / "vae").mkdir()
    (folder / "vae" / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Model"}}))
    return api(lambda: read_model_index(folder, str(folder)))


def keyframe_index_is_a_list(w: Path, store: Path) -> Seen:
    from kfbench.methods.keyframe.loading import read_model_index

    folder = keyframe_folder(w, [["diffusers", "x"]])
    return api(lambda: read_model_index(folder, str(folder)))


def keyframe_index_not_utf8(w: Path, store: Path) -> Seen:
    from kfbench.methods.keyframe.loading import read_model_index

    folder = keyframe_folder(w, '{"_class_name": "Wan\u00e9"}', "latin-1")
    return api(lambda: read_model_index(folder, str(folder)))


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[..., Seen]
    expected: str  # 'clear' or 'correct'
    fragment: str = ""  # for 'clear': what the line must say
    limit_s: float = 120.0


CASES = [
    Case("report-dataset-dotdot", report_after_edit("dataset", "../../../outside/x"), "clear", "bad dataset"),
    Case(
        "report-dataset-absolute",
        report_after_edit("dataset", lambda w: str(w / "outside" / "x")),
        "clear",
        "bad dataset",
    ),
    Case("report-method-dotdot", report_after_edit("method", "../../../../outside/m"), "clear", "bad method"),
    Case("run-symlinked-method-folder", run_symlinked_method_folder, "clear", "leads outside"),
    Case("run-symlinked-dataset-folder", run_symlinked_dataset_folder, "clear", "leads outside"),
    Case("evaluate-symlinked-method-folder", evaluate_symlinked_method_folder, "clear", "leads outside"),
    Case("folder-symlinked-clip-folder", folder_symlinked_clip_folder, "clear", "leads outside"),
    Case("folder-symlinked-video", folder_symlinked_video, "clear", "leads outside"),
    Case("evaluate-ssim-after-psnr-keeps-psnr", evaluate_ssim_after_psnr, "correct"),
    Case("evaluate-concurrent-keeps-both", evaluate_concurrent, "correct"),
    Case("evaluate-stale-lock-taken-over", evaluate_stale_lock, "correct"),
    Case("evaluate-disk-full", evaluate_disk_full, "clear", "no space left"),
    Case("latex-caret-escape", latex_caret_escape, "correct"),
    Case("latex-all-specials", latex_all_specials, "correct"),
    Case("csv-formula-method", csv_formula_method, "correct"),
    Case("csv-formula-pair-id", csv_formula_pair_id, "correct"),
    Case("html-link-percent-encoded", html_link_encoded, "correct"),
    Case("matplotlib-mathtext-method", mathtext_method, "correct"),
    Case("results-settings-not-json", report_after_edit("settings", "{not json"), "clear", "not a JSON object"),
    Case("results-dataset-numeric", report_after_edit("dataset", 123), "clear", "bad dataset"),
    Case("per-frame-without-time", per_frame_without_time, "clear", "time"),
    Case("meta-without-dataset", meta_without_dataset, "clear", "lacks dataset"),
    Case("meta-dataset-options-list", meta_dataset_options_list, "clear", "'dataset_options'"),
    Case("meta-frame-times-strings", meta_frame_times_strings, "clear", "'frame_times'"),
    Case("meta-fps-negative", meta_fps_negative, "clear", "frame rate"),
    Case("store-frames-deleted", store_frames_deleted, "clear", "missing"),
    Case("store-frame-truncated", store_frame_truncated, "clear", "damaged"),
    Case("store-frames-mixed-sizes", store_frames_mixed_sizes, "clear", "differ in size"),
    Case("exif-orientation-applied", exif_orientation, "correct"),
    Case("video-size-changes-mid-stream", video_size_changes, "clear", "changes mid-stream"),
    Case("video-16px-is-read", video_16px, "correct"),
    Case("out-inside-folder-root", out_inside_folder_root, "clear", "inside the dataset root"),
    Case("tiny-frames-metrics-missing-with-reason", tiny_frames_metrics, "correct"),
    Case("decompression-bomb-keyframe", decompression_bomb_keyframe, "clear", "pixels"),
    Case("decompression-bomb-frame", decompression_bomb_frame, "clear", "pixels"),
    Case("pairs-csv-bom-crlf", pairs_bom_crlf, "correct"),
    Case("pairs-csv-fps-tiny", pairs_fps_tiny, "clear", "frame rate"),
    Case("pairs-csv-fps-huge", pairs_fps_huge, "clear", "frame rate"),
    Case("prompts-latin1", prompts_latin1, "clear", "UTF-8"),
    Case("prompts-bom-crlf", prompts_bom, "correct"),
    Case("manifest-duplicate-ids", manifest_duplicate_ids, "clear", "appears twice"),
    Case("manifest-reversed-frame-indices", manifest_reversed_indices, "clear", "frame_indices"),
    Case("manifest-unknown-field", manifest_unknown_field, "clear", "unknown field"),
    Case("manifest-num-frames-1e9", manifest_huge_num_frames, "clear", "num_frames"),
    Case("prepare-manifest-beyond-the-end", manifest_beyond_the_end, "clear", "needs frame"),
    Case("davis-test-challenge-writes-trainval", challenge_overwrites_trainval, "clear", "not in split"),
    Case("davis-archive-plants-a-stamp", archive_planting_a_stamp, "clear", "outside DAVIS/"),
    Case("davis-extraction-free-space", extraction_checks_free_space, "clear", "free"),
    Case("download-trickle", download_trickle, "clear", "minimum", limit_s=15.0),
    Case("download-redirect-to-ftp", download_redirect_to_ftp, "clear", "only http"),
    Case("download-bad-content-length", download_bad_content_length, "correct"),
    Case("film-old-layout-state-dict", film_old_layout_state_dict, "correct"),
    Case("i3d-other-names-refused", i3d_hassony2_names_refused_when_other, "clear", "hassony2"),
    Case("videomae-args-namespace", videomae_args_namespace, "correct"),
    Case("weights-other-class-refused", weights_other_class_refused, "clear", "not plain weights"),
    Case("dynamicrafter-deepspeed", dynamicrafter_deepspeed, "correct"),
    Case("pytorch-fid-inception-name", pytorch_fid_inception_name, "correct"),
    Case("keyframe-folder-with-code", keyframe_folder_with_code, "clear", "ships code"),
    Case("keyframe-folder-auto-map", keyframe_folder_auto_map, "clear", "auto_map"),
    Case("keyframe-index-is-a-list", keyframe_index_is_a_list, "clear", "JSON object"),
    Case("keyframe-index-not-utf8", keyframe_index_not_utf8, "clear", "model_index.json"),
]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    allowed = set((folder / ".allowed").read_text().split()) if (folder / ".allowed").is_file() else set()
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.name != ".allowed" and str(p.relative_to(folder)) not in allowed
    }


CURRENT: list[Path] = []


def classify(case: Case, w: Path, store: Path, server: str) -> tuple[str, str]:
    """(outcome class, what was seen) of one case."""
    (w / "outside").mkdir()
    (w / "outside" / "keep.txt").write_text("must not change\n")
    CURRENT[:] = [w]
    arm(w)
    box: dict[str, object] = {}
    code = case.run.__code__
    extra = (server,) if "server" in code.co_varnames[: code.co_argcount] else ()

    def target() -> None:
        try:
            box["seen"] = case.run(w, store, *extra)
        except BaseException as exc:  # noqa: BLE001 (the sweep reports what escaped)
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(case.limit_s)
    if thread.is_alive():
        return "hang", f"no answer within {case.limit_s:.0f} s"
    before, after = ARMED.pop(w), snapshot(w / "outside")
    if after != before:
        return "outside-folder", f"changed: {sorted(set(after.items()) ^ set(before.items()))[:3]}"
    if "error" in box:
        error = box["error"]
        return "traceback", f"{type(error).__name__}: {error}"
    seen: Seen = box["seen"]  # type: ignore[assignment]
    if seen.code == 0:
        return ("correct" if seen.correct else "silently wrong"), seen.err
    lines = seen.err.strip().splitlines()
    # one line; evaluate reports damaged pair folders after scoring the intact ones ('damaged: ...', exit status 1)
    one_line = len(lines) == 1 and lines[0].startswith(("error: ", "damaged: "))
    if seen.code in (1, 2) and one_line and "Traceback" not in seen.err:
        return ("clear" if case.fragment in seen.err else "misleading"), seen.err
    if seen.code == 1 and lines and all(line.startswith("damaged: ") for line in lines):  # issue 21's damaged pairs
        return ("clear" if case.fragment in seen.err else "misleading"), seen.err
    return "traceback", seen.err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_outcome(case: Case, store: Path, server: str, tmp_path: Path):
    outcome, seen = classify(case, tmp_path, store, server)
    if os.environ.get("KFBENCH_OUTCOMES"):
        with open(os.environ["KFBENCH_OUTCOMES"], "a") as fh:
            fh.write(f"{case.name},{outcome}\n")
    assert outcome == case.expected, seen
    if case.expected == "clear":
        assert case.fragment in seen, seen
