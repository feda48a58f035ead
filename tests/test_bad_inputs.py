"""Bad input to every command: one line naming what is wrong, exit status 2, never a traceback.

Each case runs `kfbench ARGS` in this process (tests/helpers/inprocess.py); ``{w}`` in an argument is the
module's scratch folder, which holds a small evaluated run store and the broken files below.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.inprocess import run_main

RUN = ["run", "--method", "linear", "--dataset", "synthetic", "--quiet"]
RUN_OUT = [*RUN, "--out", "{w}/scratch"]
PAIRS = ["run", "--method", "linear", "--dataset", "pairs", "--quiet", "--out", "{w}/scratch", "--root"]
EVAL = ["evaluate", "--out", "{w}/runs", "--quiet", "--bootstrap", "0"]
REPORT = ["report", "--quiet"]
TRAIN = ["train", "--variant", "ours", "--videos", "{w}/videos", "--out", "{w}/scratch/train", "--quiet"]
BENCH = ["bench", "--method", "ours", "--checkpoint", "unused", "--flops-only", "--quiet"]

# (case id, arguments, a fragment the one-line message must contain)
CASES: list[tuple[str, list[str], str]] = [
    # usage errors: typer's short usage message
    ("no-such-command", ["nosuch"], "No such command"),
    ("unknown-global-option", ["--bogus"], "No such option"),
    (
        "list-unknown-option",
        ["list", "--bogus", "methods"],
        "takes 'methods', 'datasets', 'metrics' or 'pairs davis', not '--bogus methods'",
    ),
    ("list-missing-argument", ["list"], "Missing argument"),
    ("list-unknown-kind", ["list", "things"], "takes 'methods', 'datasets', 'metrics' or 'pairs davis'"),
    (
        "list-extra-argument",
        ["list", "methods", "datasets"],
        "takes 'methods', 'datasets', 'metrics' or 'pairs davis', not 'methods datasets'",
    ),
    ("run-missing-method", ["run", "--dataset", "synthetic"], "Missing option '--method'"),
    ("run-missing-dataset", ["run", "--method", "flow"], "Missing option '--dataset'"),
    ("run-limit-negative", [*RUN_OUT, "--limit", "-1"], "'--limit'"),
    ("run-limit-zero", [*RUN_OUT, "--limit", "0"], "'--limit'"),
    ("run-limit-text", [*RUN_OUT, "--limit", "many"], "'--limit'"),
    ("run-seed-text", [*RUN_OUT, "--seed", "abc"], "'--seed'"),
    ("run-seed-float", [*RUN_OUT, "--seed", "1.5"], "'--seed'"),
    ("run-option-without-value", [*RUN_OUT, "--out"], "requires an argument"),
    # run: names, method and dataset options
    (
        "run-unknown-method",
        ["run", "--method", "nope", "--dataset", "synthetic", "--out", "{w}/scratch"],
        "unknown method 'nope'",
    ),
    (
        "run-unknown-dataset",
        ["run", "--method", "flow", "--dataset", "nope", "--out", "{w}/scratch"],
        "unknown dataset 'nope'",
    ),
    ("run-unknown-extra-option", [*RUN_OUT, "--colour", "red"], "unknown option --colour"),
    ("run-bare-extra-argument", [*RUN_OUT, "stray"], "unexpected argument 'stray'"),
    ("run-option-not-integer", [*RUN_OUT, "--num-pairs", "x"], "is not an integer"),
    (
        "run-option-not-number",
        ["run", "--method", "flow", "--dataset", "synthetic", "--out", "{w}/scratch", "--consistency-sigma", "x"],
        "is not a number",
    ),
    (
        "run-option-nan",
        ["run", "--method", "flow", "--dataset", "synthetic", "--out", "{w}/scratch", "--consistency-sigma", "nan"],
        "not a finite number",
    ),
    (
        "run-option-inf",
        ["run", "--method", "flow", "--dataset", "synthetic", "--out", "{w}/scratch", "--consistency-sigma", "inf"],
        "not a finite number",
    ),
    ("run-height-zero", [*RUN_OUT, "--height", "0"], "--height"),
    ("run-height-negative", [*RUN_OUT, "--height", "-64"], "--height"),
    ("run-width-zero", [*RUN_OUT, "--width", "0"], "--width"),
    ("run-height-huge", [*RUN_OUT, "--height", "10000000"], "--height"),
    ("run-num-frames-one", [*RUN_OUT, "--num-frames", "1"], "--num-frames"),
    ("run-num-frames-zero", [*RUN_OUT, "--num-frames", "0"], "--num-frames"),
    ("run-num-frames-negative", [*RUN_OUT, "--num-frames", "-5"], "--num-frames"),
    ("run-num-frames-huge", [*RUN_OUT, "--num-frames", "100000000"], "--num-frames"),
    ("run-num-pairs-zero", [*RUN_OUT, "--num-pairs", "0"], "--num-pairs"),
    ("run-num-pairs-negative", [*RUN_OUT, "--num-pairs", "-3"], "--num-pairs"),
    ("run-bool-option-not-bool", [*RUN_OUT, "--quiet-unused", "x"], "unknown option"),
    # run: pair selection
    ("run-shard-no-slash", [*RUN_OUT, "--shard", "3"], "--shard takes I/N"),
    ("run-shard-text", [*RUN_OUT, "--shard", "a/b"], "--shard takes I/N"),
    ("run-shard-out-of-range", [*RUN_OUT, "--shard", "3/2"], "need 0 <= I < N"),
    ("run-shard-negative", [*RUN_OUT, "--shard", "-1/2"], "need 0 <= I < N"),
    ("run-shard-zero-count", [*RUN_OUT, "--shard", "0/0"], "need 0 <= I < N"),
    ("run-shard-three-parts", [*RUN_OUT, "--shard", "0/2/4"], "--shard takes I/N"),
    ("run-shard-empty", [*RUN_OUT, "--shard", ""], "--shard takes I/N"),
    ("run-unknown-pair", [*RUN_OUT, "--pairs", "no-such-pair"], "unknown pair id"),
    ("run-pairs-only-commas", [*RUN_OUT, "--pairs", ",,"], "--pairs"),
    # run: the run store folder
    ("run-out-is-a-file", [*RUN, "--out", "{w}/afile.txt"], "afile.txt"),
    ("run-out-under-a-file", [*RUN, "--out", "{w}/afile.txt/runs"], "afile.txt"),
    ("run-out-read-only", [*RUN, "--out", "{ro}/runs"], "runs"),
    # run: dataset roots
    (
        "run-folder-root-missing",
        ["run", "--method", "linear", "--dataset", "folder", "--root", "{w}/nothing", "--out", "{w}/scratch"],
        "does not exist",
    ),
    (
        "run-folder-root-empty-dir",
        ["run", "--method", "linear", "--dataset", "folder", "--root", "{w}/emptydir", "--out", "{w}/scratch"],
        "no videos",
    ),
    (
        "run-folder-root-is-a-file",
        ["run", "--method", "linear", "--dataset", "folder", "--root", "{w}/afile.txt", "--out", "{w}/scratch"],
        "afile.txt",
    ),
    (
        "run-folder-broken-images",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/brokenframes",
            "--out",
            "{w}/scratch",
            "--quiet",
        ],
        "cannot decode",
    ),
    (
        "run-folder-mixed-sizes",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/mixedsizes",
            "--out",
            "{w}/scratch",
            "--quiet",
        ],
        "differ in size",
    ),
    (
        "run-folder-too-short",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/shortclip",
            "--out",
            "{w}/scratch",
            "--quiet",
        ],
        "has no pairs",
    ),
    (
        "run-folder-manifest-missing",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/videos",
            "--manifest",
            "{w}/nothing.json",
            "--out",
            "{w}/scratch",
        ],
        "nothing.json",
    ),
    (
        "run-folder-manifest-malformed",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/videos",
            "--manifest",
            "{w}/malformed.json",
            "--out",
            "{w}/scratch",
        ],
        "malformed.json",
    ),
    (
        "run-folder-manifest-is-a-dir",
        [
            "run",
            "--method",
            "linear",
            "--dataset",
            "folder",
            "--root",
            "{w}/videos",
            "--manifest",
            "{w}/emptydir",
            "--out",
            "{w}/scratch",
        ],
        "emptydir",
    ),
    (
        "run-davis-root-missing",
        ["run", "--method", "linear", "--dataset", "davis", "--root", "{w}/nothing", "--out", "{w}/scratch"],
        "does not exist",
    ),
    (
        "run-davis-root-empty",
        ["run", "--method", "linear", "--dataset", "davis", "--root", "{w}/emptydir", "--out", "{w}/scratch"],
        "davis",
    ),
    (
        "run-pexels-root-empty",
        ["run", "--method", "linear", "--dataset", "pexels", "--root", "{w}/emptydir", "--out", "{w}/scratch"],
        "pexels",
    ),
    # run: pairs CSV
    ("pairs-csv-missing", [*PAIRS, "{w}/nothing.csv"], "does not exist"),
    ("pairs-csv-empty-file", [*PAIRS, "{w}/empty.csv"], "empty.csv"),
    ("pairs-csv-header-only", [*PAIRS, "{w}/header.csv"], "lists no pairs"),
    ("pairs-csv-wrong-columns", [*PAIRS, "{w}/columns.csv"], "lacks column"),
    ("pairs-csv-latin1", [*PAIRS, "{w}/latin1.csv"], "UTF-8"),
    ("pairs-csv-binary", [*PAIRS, "{w}/a.png"], "a.png"),
    ("pairs-csv-image-missing", [*PAIRS, "{w}/missingimage.csv"], "do not exist"),
    ("pairs-csv-image-is-a-dir", [*PAIRS, "{w}/dirimage.csv"], "emptydir"),
    ("pairs-csv-image-not-an-image", [*PAIRS, "{w}/textimage.csv"], "cannot decode"),
    ("pairs-csv-image-truncated", [*PAIRS, "{w}/truncated.csv"], "cannot decode"),
    ("pairs-csv-sizes-differ", [*PAIRS, "{w}/sizes.csv"], "size"),
    ("pairs-csv-num-frames-text", [*PAIRS, "{w}/numtext.csv"], "num_frames must be an integer"),
    ("pairs-csv-num-frames-one", [*PAIRS, "{w}/numone.csv"], "num_frames must be within 2..4096"),
    ("pairs-csv-fps-zero", [*PAIRS, "{w}/fpszero.csv"], "fps"),
    ("pairs-csv-fps-nan", [*PAIRS, "{w}/fpsnan.csv"], "fps"),
    ("pairs-csv-duplicate-id", [*PAIRS, "{w}/duplicate.csv"], "appears twice"),
    ("pairs-csv-empty-path", [*PAIRS, "{w}/emptypath.csv"], "line 2"),
    ("pairs-csv-extra-column-values", [*PAIRS, "{w}/ragged.csv"], "line 2"),
    # evaluate
    ("evaluate-out-missing", ["evaluate", "--out", "{w}/nothing", "--quiet"], "nothing"),
    ("evaluate-out-empty", ["evaluate", "--out", "{w}/emptydir", "--quiet"], "no completed runs"),
    ("evaluate-out-is-a-file", ["evaluate", "--out", "{w}/afile.txt", "--quiet"], "afile.txt"),
    ("evaluate-unknown-metric", [*EVAL, "--metrics", "psnr,nosuch"], "nosuch"),
    ("evaluate-no-metrics", [*EVAL, "--metrics", ","], "--metrics"),
    ("evaluate-unknown-dataset", [*EVAL, "--metrics", "psnr", "--dataset", "nope"], "nope"),
    ("evaluate-unknown-method", [*EVAL, "--metrics", "psnr", "--methods", "nope"], "nope"),
    ("evaluate-covariance", [*EVAL, "--covariance", "n-2"], "--covariance"),
    ("evaluate-inception-resize", [*EVAL, "--inception-resize", "bilinear"], "--inception-resize"),
    ("evaluate-confidence-too-high", [*EVAL, "--confidence", "1.5"], "'--confidence'"),
    ("evaluate-confidence-text", [*EVAL, "--confidence", "high"], "'--confidence'"),
    ("evaluate-confidence-nan", [*EVAL, "--confidence", "nan"], "'--confidence'"),
    ("evaluate-bootstrap-negative", [*EVAL, "--bootstrap", "-1"], "'--bootstrap'"),
    ("evaluate-kid-subset-one", [*EVAL, "--kid-subset-size", "1"], "'--kid-subset-size'"),
    ("evaluate-fvd-window-zero", [*EVAL, "--fvd-window", "0"], "'--fvd-window'"),
    ("evaluate-device-unknown", [*EVAL, "--metrics", "psnr", "--device", "gpu7"], "unknown device 'gpu7'"),
    ("evaluate-shard-bad", [*EVAL, "--shard", "x"], "--shard takes I/N"),
    ("evaluate-shard-out-of-range", [*EVAL, "--shard", "2/2"], "need 0 <= I < N"),
    (
        "evaluate-inception-weights-missing",
        [*EVAL, "--metrics", "fid", "--inception-weights", "{w}/nothing.pth"],
        "nothing.pth",
    ),
    (
        "evaluate-inception-weights-is-a-dir",
        [*EVAL, "--metrics", "fid", "--inception-weights", "{w}/emptydir"],
        "emptydir",
    ),
    ("evaluate-i3d-weights-missing", [*EVAL, "--metrics", "fvd", "--i3d-weights", "{w}/nothing.pt"], "nothing.pt"),
    (
        "evaluate-lpips-weights-missing",
        [*EVAL, "--metrics", "lpips", "--lpips-weights", "{w}/nothing.pth"],
        "nothing.pth",
    ),
    (
        "evaluate-nan-inception",
        [*EVAL, "--metrics", "fid", "--inception-weights", "{w}/nan_inception.pth"],
        "features are not finite",
    ),
    (
        "evaluate-results-is-a-dir",
        ["evaluate", "--out", "{w}/resultsdir", "--metrics", "psnr", "--bootstrap", "0", "--quiet"],
        "results.csv",
    ),
    # report
    ("report-out-missing", [*REPORT, "--out", "{w}/nothing", "--to", "{w}/scratch/r"], "nothing"),
    ("report-not-evaluated", [*REPORT, "--out", "{w}/bare", "--to", "{w}/scratch/r"], "evaluate"),
    ("report-out-is-a-file", [*REPORT, "--out", "{w}/afile.txt", "--to", "{w}/scratch/r"], "afile.txt"),
    ("report-videos-unknown", [*REPORT, "--out", "{w}/runs", "--videos", "gif"], "--videos"),
    ("report-to-is-a-file", [*REPORT, "--out", "{w}/runs", "--to", "{w}/afile.txt"], "afile.txt"),
    ("report-to-read-only", [*REPORT, "--out", "{w}/runs", "--to", "{ro}/report"], "report"),
    ("report-unknown-pair", [*REPORT, "--out", "{w}/runs", "--to", "{w}/scratch/r", "--pairs", "nope"], "nope"),
    ("report-results-garbage", [*REPORT, "--out", "{w}/garbage", "--to", "{w}/scratch/r"], "results.csv"),
    ("report-results-empty", [*REPORT, "--out", "{w}/emptyresults", "--to", "{w}/scratch/r"], "results.csv"),
    ("report-results-latin1", [*REPORT, "--out", "{w}/latin1results", "--to", "{w}/scratch/r"], "results.csv"),
    # check
    ("check-missing-baseline-option", ["check"], "Missing option '--baseline'"),
    ("check-baseline-missing", ["check", "--baseline", "{w}/nothing.json"], "does not exist"),
    ("check-baseline-malformed", ["check", "--baseline", "{w}/malformed.json"], "malformed.json"),
    ("check-baseline-empty", ["check", "--baseline", "{w}/empty.csv"], "empty.csv"),
    ("check-baseline-is-a-list", ["check", "--baseline", "{w}/list.json"], "list.json"),
    ("check-baseline-is-a-dir", ["check", "--baseline", "{w}/emptydir"], "emptydir"),
    ("check-baseline-latin1", ["check", "--baseline", "{w}/latin1.json"], "latin1.json"),
    ("check-baseline-bad-entry", ["check", "--baseline", "{w}/badentry.json"], "badentry.json"),
    ("check-baseline-unknown-dataset", ["check", "--baseline", "{w}/baddataset.json"], "nope"),
    ("check-baseline-no-values", ["check", "--baseline", "{w}/novalues.json"], "lists no 'values'"),
    ("check-baseline-tolerance-text", ["check", "--baseline", "{w}/badtolerance.json"], "'tolerance'"),
    ("check-tolerance-text", ["check", "--baseline", "{w}/baseline.json", "--tolerance", "lots"], "--tolerance"),
    (
        "check-tolerance-unknown-metric",
        ["check", "--baseline", "{w}/baseline.json", "--tolerance", "nosuch=0.1"],
        "unknown metric 'nosuch'",
    ),
    ("check-tolerance-negative", ["check", "--baseline", "{w}/baseline.json", "--tolerance", "-0.5"], "--tolerance"),
    ("check-tolerance-nan", ["check", "--baseline", "{w}/baseline.json", "--tolerance", "nan"], "--tolerance"),
    ("check-update-into-a-file", ["check", "--baseline", "{w}/afile.txt/b.json", "--update"], "afile.txt"),
    # prepare
    ("prepare-unknown-dataset", ["prepare", "nope"], "unknown dataset 'nope'"),
    ("prepare-nothing-to-prepare", ["prepare", "synthetic"], "nothing to prepare"),
    ("prepare-missing-name", ["prepare"], "Missing argument"),
    ("prepare-unknown-option", ["prepare", "folder", "--root", "{w}/videos", "--colour", "red"], "colour"),
    ("prepare-folder-root-missing", ["prepare", "folder", "--root", "{w}/nothing"], "does not exist"),
    ("prepare-folder-root-is-a-file", ["prepare", "folder", "--root", "{w}/afile.txt"], "afile.txt"),
    (
        "prepare-folder-manifest-into-a-file",
        ["prepare", "folder", "--root", "{w}/videos", "--manifest", "{w}/afile.txt/m.json"],
        "afile.txt",
    ),
    (
        "prepare-folder-manifest-malformed",
        ["prepare", "folder", "--root", "{w}/videos", "--manifest", "{w}/malformed.json"],
        "malformed.json",
    ),
    ("prepare-davis-offline", ["prepare", "davis", "--root", "{w}/scratch/davis", "--offline"], "davis"),
    (
        "prepare-davis-bad-resolution",
        ["prepare", "davis", "--root", "{w}/scratch/davis", "--offline", "--resolution", "4k"],
        "4k",
    ),
    (
        "prepare-davis-bad-splits",
        ["prepare", "davis", "--root", "{w}/scratch/davis", "--offline", "--splits", "nope"],
        "nope",
    ),
    ("prepare-pexels-no-manifest", ["prepare", "pexels", "--root", "{w}/emptydir", "--offline"], "pexels"),
    # make-tiny-models
    ("tiny-missing-folder", ["make-tiny-models"], "Missing argument"),
    ("tiny-folder-is-a-file", ["make-tiny-models", "{w}/afile.txt"], "afile.txt"),
    ("tiny-folder-read-only", ["make-tiny-models", "{ro}/tiny"], "tiny"),
    # bench
    ("bench-missing-method", ["bench", "--flops-only"], "needs --method NAME, or --suite"),
    ("bench-unknown-method", ["bench", "--method", "nope", "--flops-only"], "unknown method 'nope'"),
    ("bench-not-svd-family", ["bench", "--method", "linear", "--flops-only"], "linear"),
    ("bench-num-frames-one", [*BENCH, "--num-frames", "1"], "--num-frames"),
    ("bench-repeats-zero", [*BENCH, "--repeats", "0"], "--repeats"),
    ("bench-warmup-negative", [*BENCH, "--warmup", "-1"], "--warmup"),
    ("bench-unknown-option", [*BENCH, "--colour", "red"], "unknown option --colour"),
    (
        "bench-random-unknown-method",
        ["bench", "--random-weights", "--flops-only", "-m", "nope"],
        "unknown method 'nope'",
    ),
    ("bench-model-missing", ["bench", "--method", "svd", "--model", "{w}/nothing", "--flops-only"], "nothing"),
    (
        "bench-model-without-unet",
        ["bench", "--method", "svd", "--model", "{w}/emptydir", "--flops-only"],
        "unet/config.json",
    ),
    (
        "bench-model-unet-config-malformed",
        ["bench", "--method", "svd", "--model", "{w}/badmodel", "--flops-only"],
        "config.json",
    ),
    ("bench-json-into-a-file", [*BENCH, "--json", "{w}/afile.txt/r.json"], "afile.txt"),
    # train
    ("train-unknown-variant", [*TRAIN, "--variant", "nope"], "--variant"),
    ("train-missing-videos", ["train", "--variant", "ours", "--out", "{w}/scratch/t"], "Missing option '--videos'"),
    ("train-videos-missing", [*TRAIN, "--videos", "{w}/nothing"], "nothing"),
    ("train-videos-is-a-file", [*TRAIN, "--videos", "{w}/afile.txt"], "afile.txt"),
    ("train-videos-empty", [*TRAIN, "--videos", "{w}/emptydir"], "emptydir"),
    ("train-height-zero", [*TRAIN, "--height", "0"], "--height"),
    ("train-height-not-multiple", [*TRAIN, "--height", "100"], "multiples of 8"),
    ("train-height-negative", [*TRAIN, "--height", "-64"], "--height"),
    ("train-steps-zero", [*TRAIN, "--max-steps", "0"], "--max-steps"),
    ("train-batch-zero", [*TRAIN, "--batch-size", "0"], "--batch-size"),
    ("train-num-frames-one", [*TRAIN, "--num-frames", "1"], "--num-frames"),
    ("train-stride-zero", [*TRAIN, "--stride", "0"], "--stride"),
    ("train-learning-rate-negative", [*TRAIN, "--learning-rate", "-1"], "--learning-rate"),
    ("train-learning-rate-nan", [*TRAIN, "--learning-rate", "nan"], "--learning-rate"),
    ("train-holdout-negative", [*TRAIN, "--holdout", "-1"], "--holdout"),
    ("train-mixed-precision", [*TRAIN, "--mixed-precision", "fp8"], "--mixed-precision"),
    ("train-model-missing", [*TRAIN, "--model", "{w}/nothing"], "nothing"),
    ("train-out-is-a-file", [*TRAIN, "--out", "{w}/afile.txt"], "afile.txt"),
    ("train-resume-nothing", [*TRAIN, "--resume", "--out", "{w}/emptydir"], "resume"),
    # convert-checkpoint
    ("convert-missing-arguments", ["convert-checkpoint", "--method", "ours"], "Missing argument"),
    (
        "convert-unknown-method",
        ["convert-checkpoint", "--method", "linear", "{w}/nothing", "{w}/scratch/x.safetensors"],
        "no checkpoint converter",
    ),
    (
        "convert-src-missing",
        ["convert-checkpoint", "--method", "ours", "{w}/nothing", "{w}/scratch/x.safetensors"],
        "nothing",
    ),
    (
        "convert-src-empty-dir",
        ["convert-checkpoint", "--method", "ours", "{w}/emptydir", "{w}/scratch/x.safetensors"],
        "emptydir",
    ),
    (
        "convert-film-src-missing",
        ["convert-checkpoint", "--method", "film", "{w}/nothing.pt", "{w}/scratch/x.safetensors"],
        "nothing.pt",
    ),
    (
        "convert-film-src-empty",
        ["convert-checkpoint", "--method", "film", "{w}/empty.csv", "{w}/scratch/x.safetensors"],
        "empty.csv",
    ),
    (
        "convert-dynamicrafter-src-missing",
        ["convert-checkpoint", "--method", "dynamicrafter", "{w}/nothing.ckpt", "{w}/scratch/x.safetensors"],
        "nothing.ckpt",
    ),
    (
        "convert-unknown-option",
        ["convert-checkpoint", "--method", "ours", "{w}/nothing", "{w}/scratch/x.safetensors", "--colour", "red"],
        "colour",
    ),
    # demo
    ("demo-out-is-a-file", ["demo", "--out", "{w}/afile.txt", "--quiet"], "afile.txt"),
    ("demo-out-read-only", ["demo", "--out", "{ro}/demo", "--quiet"], "demo"),
]


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


def png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, str]:
    """The scratch folder: an evaluated store, broken stores and broken files, and a folder nothing can write to."""
    w = tmp_path_factory.mktemp("bad-inputs")
    code, _, err = run_main(*RUN, "--num-pairs", "1", "--num-frames", "3", "--out", w / "runs")
    assert code == 0, err
    code, _, err = run_main("evaluate", "--out", w / "runs", "--metrics", "psnr", "--bootstrap", "0", "--quiet")
    assert code == 0, err
    shutil.copytree(w / "runs" / "synthetic", w / "bare" / "synthetic")
    for name, text in {"garbage": '\x00\x01 not,a\n"table', "emptyresults": ""}.items():
        shutil.copytree(w / "runs" / "synthetic", w / name / "synthetic")
        (w / name / "results.csv").write_text(text)
    shutil.copytree(w / "runs" / "synthetic", w / "latin1results" / "synthetic")
    (w / "latin1results" / "results.csv").write_bytes(
        (w / "runs" / "results.csv").read_bytes().replace(b"synthetic", b"synth\xe9tic")
    )
    shutil.copytree(w / "runs" / "synthetic", w / "resultsdir" / "synthetic")
    (w / "resultsdir" / "results.csv").mkdir()
    (w / "emptydir").mkdir()
    (w / "afile.txt").write_text("not a folder\n")
    (w / "empty.csv").write_bytes(b"")
    rng = np.random.default_rng(0)
    png(w / "a.png", rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    png(w / "b.png", rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    png(w / "small.png", rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    (w / "text.png").write_text("not an image")
    (w / "truncated.png").write_bytes((w / "a.png").read_bytes()[:200])
    csvs = {
        "header.csv": "id,first,last\n",
        "columns.csv": "id,start,end\nx,a.png,b.png\n",
        "missingimage.csv": "id,first,last\nx,a.png,gone.png\n",
        "dirimage.csv": "id,first,last\nx,a.png,emptydir\n",
        "textimage.csv": "id,first,last\nx,a.png,text.png\n",
        "truncated.csv": "id,first,last\nx,a.png,truncated.png\n",
        "sizes.csv": "id,first,last\nx,a.png,small.png\n",
        "numtext.csv": "id,first,last,num_frames\nx,a.png,b.png,many\n",
        "numone.csv": "id,first,last,num_frames\nx,a.png,b.png,1\n",
        "fpszero.csv": "id,first,last,fps\nx,a.png,b.png,0\n",
        "fpsnan.csv": "id,first,last,fps\nx,a.png,b.png,nan\n",
        "duplicate.csv": "id,first,last\nx,a.png,b.png\nx,b.png,a.png\n",
        "emptypath.csv": "id,first,last\nx,,b.png\n",
        "ragged.csv": "id,first,last\nx,a.png,b.png,extra,values\n",
    }
    for name, text in csvs.items():
        write_csv(w / name, text)
    write_csv(w / "latin1.csv", "id,first,last\ncaf\u00e9,a.png,b.png\n", "latin-1")
    (w / "malformed.json").write_text('{"subset": {')
    (w / "list.json").write_text("[]")
    shutil.copy(Path(__file__).parent / "data" / "check_baseline.json", w / "baseline.json")
    (w / "latin1.json").write_bytes('{"values": [], "note": "caf\u00e9"}'.encode("latin-1"))
    (w / "badentry.json").write_text(json.dumps({"values": [{"dataset": "synthetic"}]}))
    (w / "novalues.json").write_text("{}")
    (w / "badtolerance.json").write_text(json.dumps({"tolerance": "lots", "values": []}))
    (w / "baddataset.json").write_text(
        json.dumps(
            {
                "subset": {"dataset": "nope"},
                "values": [{"dataset": "nope", "method": "flow", "metric": "psnr", "value": 1}],
            }
        )
    )
    (w / "badmodel" / "unet").mkdir(parents=True)
    (w / "badmodel" / "unet" / "config.json").write_text("{not json")
    frames = w / "videos" / "clip"
    frames.mkdir(parents=True)
    for i in range(30):
        png(frames / f"{i:05d}.png", np.full((32, 48, 3), i * 8, np.uint8))
    (w / "brokenframes" / "clip").mkdir(parents=True)
    for i in range(30):
        (w / "brokenframes" / "clip" / f"{i:05d}.png").write_text("not an image")
    (w / "mixedsizes" / "clip").mkdir(parents=True)
    for i in range(30):
        png(w / "mixedsizes" / "clip" / f"{i:05d}.png", np.zeros((32 + (i == 10) * 8, 48, 3), np.uint8))
    (w / "shortclip" / "clip").mkdir(parents=True)
    for i in range(3):
        png(w / "shortclip" / "clip" / f"{i:05d}.png", np.zeros((32, 48, 3), np.uint8))
    (w / "scratch").mkdir()
    nan_inception(w / "nan_inception.pth")
    return {"w": str(w), "ro": read_only_folder(w)}


def nan_inception(path: Path) -> None:
    """torch-fidelity InceptionV3 weights in the real layout, every value NaN (features come out non-finite)."""
    import torch

    from tests.helpers.metric_weights import save_random_inception

    save_random_inception(path)
    state = torch.load(path, weights_only=True)
    torch.save({k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state.items()}, path)


def read_only_folder(w: Path) -> str:
    """A folder this process cannot create files in (root ignores permission bits, so sysfs stands in)."""
    if os.geteuid() == 0:
        return "/sys/kfbench-read-only"
    folder = w / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return str(folder)


def expand(args: list[str], world: dict[str, str]) -> list[str]:
    return [a.replace("{w}", world["w"]).replace("{ro}", world["ro"]) for a in args]


# `prepare --offline` lists each file to download (URL -> path) above its one error line, by design.
LISTING_FIRST = {"prepare-davis-offline"}


def outcome(args: list[str], listing_first: bool = False) -> tuple[str, str]:
    """('clear' | 'unclear' | 'traceback' | 'silent', stderr) of one bad input."""
    try:
        code, _, err = run_main(*args)
    except Exception as exc:  # the sweep reports what escaped
        return "traceback", f"{type(exc).__name__}: {exc}"
    if code == 0:
        return "silent", err
    lines = err.strip().splitlines()
    usage = lines[:1] and lines[0].startswith("Usage:") and lines[-1].startswith("Error:")
    one_line = (len(lines) == 1 or listing_first) and lines[-1].startswith(("error: ", "Error: "))
    if code == 2 and "Traceback" not in err and (usage or one_line):
        return "clear", err
    return ("traceback" if "Traceback" in err else "unclear"), err


@pytest.mark.parametrize("case, args, fragment", [pytest.param(*c, id=c[0]) for c in CASES])
def test_bad_input_is_one_clear_line_exit_2_no_traceback(world, case, args, fragment):
    kind, err = outcome(expand(args, world), case in LISTING_FIRST)
    assert kind == "clear", err
    assert fragment in err, err
