"""Paths and ids from files stay in their place: hostile manifests, odd pair ids, the run store's folders.

Downloads go to an in-process HTTP server on 127.0.0.1 only.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kfbench.errors import KfbenchError
from kfbench.store.claims import Claim, Held, try_claim
from kfbench.store.owners import HOST
from kfbench.store.runstore import RunStore
from kfbench.utils.atomicio import remove_leftovers, temp_path
from tests.helpers.datatrees import write_video
from tests.helpers.inprocess import run_main

BAD_IDS = [".", "..", "x/y", "/abs", ".hidden", "a\\b", "a\tb", "a\x00b", "x" * 201]


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every file (contents) and symlink (target) under ``folder``, by relative path."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[key] = os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


def one_error_line(code: int, err: str) -> str:
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: "), err
    return lines[-1]


@pytest.fixture
def server(monkeypatch):
    """An HTTP server on 127.0.0.1 serving ``files`` (path -> bytes) and ``redirects`` (path -> URL)."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    files: dict[str, bytes] = {}
    redirects: dict[str, str] = {}
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            if self.path in redirects:
                self.send_response(302)
                self.send_header("Location", redirects[self.path])
                self.end_headers()
            elif self.path in files:
                self.send_response(200)
                self.send_header("Content-Length", str(len(files[self.path])))
                self.end_headers()
                self.wfile.write(files[self.path])
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.files, httpd.redirects, httpd.requested = files, redirects, requested
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def pexels(tmp_path):
    """A pexels manifest written from one clip, the clip's bytes, and an empty root to prepare into."""
    clips = tmp_path / "clips"
    write_video(clips / "3571264.mp4", 25)
    manifest = tmp_path / "pexels.json"
    code, _, err = run_main("prepare", "pexels", "--root", clips, "--manifest", manifest, "--offline")
    assert code == 0, err
    root = tmp_path / "root"
    root.mkdir()
    return manifest, (clips / "3571264.mp4").read_bytes(), root


def edit(manifest: Path, **facts) -> Path:
    data = json.loads(manifest.read_text())
    data["sources"]["3571264"].update(facts)
    manifest.write_text(json.dumps(data))
    return manifest


def test_a_manifest_download_over_http_is_verified_and_lands_inside_the_root(pexels, server):
    manifest, clip, root = pexels
    server.files["/clip.mp4"] = clip
    edit(manifest, download_url=server.url + "/clip.mp4")
    code, out, err = run_main("prepare", "pexels", "--root", root, "--manifest", manifest)
    assert code == 0, err
    assert server.requested == ["/clip.mp4"] and (root / "3571264.mp4").read_bytes() == clip
    assert "all 1 pair(s) match manifest" in out


@pytest.mark.parametrize("served, problem", [("other", "sha256 "), ("short", " bytes, expected ")])
def test_a_download_failing_its_check_is_removed_and_the_error_says_so(pexels, server, served, problem):
    manifest, clip, root = pexels
    server.files["/clip.mp4"] = clip[:-1] + bytes([clip[-1] ^ 1]) if served == "other" else clip[:100]
    edit(manifest, download_url=server.url + "/clip.mp4")
    line = one_error_line(*run_main("prepare", "pexels", "--root", root, "--manifest", manifest)[::2])
    assert problem in line and "removed it, nothing was written to" in line
    assert tree(root) == {}  # neither the file nor a temporary copy is left


@pytest.mark.parametrize(
    "facts, message",
    [
        ({"path": "../outside.mp4"}, "goes up with '..'"),
        ({"path": "sub/../../outside.mp4"}, "goes up with '..'"),
        ({"path": "ABSOLUTE/outside.mp4"}, "is absolute"),
        ({"path": "link/outside.mp4"}, "leads outside"),
        ({"path": "."}, "names the dataset root itself"),
        ({"path": ""}, "is not a file name"),
        ({"path": "a\x00b.mp4"}, "is not a file name"),
        ({"path": ["x"]}, "is not a file name"),
        ({"download_url": "file:///SECRET"}, "only http:// and https:// downloads are allowed"),
        ({"download_url": "ftp://127.0.0.1/clip.mp4"}, "only http:// and https:// downloads are allowed"),
        ({"download_url": "FiLe:///SECRET"}, "only http:// and https:// downloads are allowed"),
        ({"bytes": "many"}, "bytes 'many' is not valid"),
    ],
)
def test_hostile_manifest_entries_write_nothing_outside_the_root(pexels, server, tmp_path, facts, message):
    manifest, clip, root = pexels
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(clip)
    (root / "link").symlink_to(outside)
    server.files["/clip.mp4"] = clip
    facts = {
        k: v.replace("ABSOLUTE", str(outside)).replace("SECRET", str(outside / "secret.mp4"))
        if isinstance(v, str)
        else v
        for k, v in facts.items()
    }
    edit(manifest, **{"download_url": server.url + "/clip.mp4", **facts})
    before = tree(tmp_path)
    for offline in ([], ["--offline"]):
        line = one_error_line(*run_main("prepare", "pexels", "--root", root, "--manifest", manifest, *offline)[::2])
        assert message in line
    assert tree(tmp_path) == before and server.requested == []
    code, _, err = run_main(
        "run", "-m", "linear", "-d", "pexels", "--root", root, "--manifest", manifest, "--out", root / "o"
    )
    if "download_url" not in facts:  # a manifest that only reads
        assert message in one_error_line(code, err)


def test_a_redirect_to_a_local_file_is_not_followed(pexels, server, tmp_path):
    manifest, clip, root = pexels
    (tmp_path / "secret.mp4").write_bytes(clip)
    server.redirects["/clip.mp4"] = (tmp_path / "secret.mp4").as_uri()
    edit(manifest, download_url=server.url + "/clip.mp4")
    code, _, err = run_main("prepare", "pexels", "--root", root, "--manifest", manifest)
    assert "HTTP 302" in one_error_line(code, err)
    assert tree(root) == {}


def keyframe_csv(folder: Path, ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in (("a", 0), ("b", 1)):
        pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.png")
    rows = "".join(f'"{pair_id}",a.png,b.png,3\n' for pair_id in ids)
    (folder / "pairs.csv").write_text("id,first,last,num_frames\n" + rows)
    return folder / "pairs.csv"


@pytest.fixture
def completed(tmp_path):
    """A run store with two completed pairs and the mtimes of their meta.json."""
    out = tmp_path / "out"
    code, _, err = run_main(
        "run",
        "-m",
        "linear",
        "-d",
        "pairs",
        "--root",
        keyframe_csv(tmp_path / "ok", ["p1", "p2"]),
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    store = RunStore(out)
    return out, {
        p: (store.pair_dir("pairs", "linear", p) / "meta.json").stat().st_mtime_ns
        for p in store.completed_pairs("pairs", "linear")
    }


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_pair_ids_in_a_pairs_csv_are_errors_and_completed_pairs_survive(completed, tmp_path, bad):
    out, stamps = completed
    csv = keyframe_csv(tmp_path / "bad", ["fine", bad])
    before = tree(tmp_path / "out")
    for extra in ([], ["--overwrite"]):
        line = one_error_line(*run_main("run", "-m", "linear", "-d", "pairs", "--root", csv, "--out", out, *extra)[::2])
        assert line.startswith(f"error: bad pair id {bad!r} (line 3 of {csv}): ")
    assert tree(tmp_path / "out") == before
    store = RunStore(out)
    assert {p: (store.pair_dir("pairs", "linear", p) / "meta.json").stat().st_mtime_ns for p in stamps} == stamps


@pytest.mark.parametrize("bad", BAD_IDS[:4] + [""])
def test_bad_pair_ids_in_a_manifest_are_errors_naming_the_manifest(tmp_path, bad):
    clips = tmp_path / "clips"
    write_video(clips / "a.mp4", 25)
    manifest = tmp_path / "m.json"
    assert run_main("prepare", "folder", "--root", clips, "--manifest", manifest)[0] == 0
    data = json.loads(manifest.read_text())
    data["pairs"][0]["id"] = bad
    manifest.write_text(json.dumps(data))
    for command in (["prepare", "folder"], ["run", "-m", "linear", "-d", "folder", "--out", tmp_path / "o"]):
        line = one_error_line(*run_main(*command, "--root", clips, "--manifest", manifest)[::2])
        assert line.startswith(f"error: bad pair id {bad!r} (manifest {manifest}, pairs[0]): ")
    assert not (tmp_path / "o").exists()


def test_the_run_store_refuses_ids_and_symlinks_leading_out_of_the_method_folder(completed, tmp_path):
    out, _ = completed
    store = RunStore(out)
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    for bad in (".", "..", "x/y", "/abs", "", "../linear"):
        with pytest.raises(KfbenchError, match="bad pair id"):
            store.save("pairs", "linear", bad, frames, {}, fps=7)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "meta.json").write_text("{}")
    (out / "pairs" / "linear" / "sneaky").symlink_to(outside)
    with pytest.raises(KfbenchError, match="leads outside"):
        store.save("pairs", "linear", "sneaky", frames, {}, fps=7)
    assert tree(outside) == {"meta.json": b"{}"}
    assert store.written_pairs("pairs", "linear") == ["p1", "p2", "sneaky"]
    assert store.completed_pairs("pairs", "linear") == ["p1", "p2"]  # its meta.json lacks what a complete pair records


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_hold_for_live_owners_and_are_taken_over_from_dead_ones(tmp_path):
    first = try_claim(tmp_path, "p")
    assert isinstance(first, Claim) and isinstance(try_claim(tmp_path, "p"), Held)
    first.release()
    assert not (tmp_path / ".claim-p").exists()
    again = try_claim(tmp_path, "p")
    assert isinstance(again, Claim)
    claim_file = tmp_path / ".claim-p"
    for owner, held in (
        (dict(pid=_dead_pid(), host=HOST, started=None), False),
        (dict(pid=os.getpid(), host=HOST, started=1), False),  # pid reused by another process
        (dict(pid=_dead_pid(), host="otherhost", started=None), True),
    ):
        claim_file.write_text(json.dumps({**owner, "token": "t"}))
        taken = try_claim(tmp_path, "p")
        assert isinstance(taken, Held) == held, owner
        assert json.loads(claim_file.read_text())["pid"] == (owner["pid"] if held else os.getpid())
        if not held:
            again.release()  # no longer ours: leaves the new owner's claim
            assert claim_file.exists()
            taken.release()
    claim_file.write_text("")  # a creator killed between creating and writing its claim
    assert isinstance(try_claim(tmp_path, "p"), Held)
    os.utime(claim_file, (time.time() - 120, time.time() - 120))
    assert isinstance(try_claim(tmp_path, "p"), Claim)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".claim-p"]


def test_only_leftovers_of_dead_processes_of_this_host_are_removed(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = temp_path(tmp_path / "x").name.replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
        names = {
            dead: False,
            temp_path(tmp_path / "x").name.replace(f"-{os.getpid()}-", f"-{live.pid}-"): True,
            temp_path(tmp_path / "x").name: True,  # this process's own
            temp_path(tmp_path / "x").name.replace(f"-{HOST}-", "-otherhost-"): True,
            ".tmp-results.csv": True,  # not a name kfbench writes
            "p1": True,
        }
        for name in names:
            (tmp_path / name).mkdir()
            (tmp_path / name / "f").write_text("x")
        assert remove_leftovers(tmp_path) == [tmp_path / dead]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, kept in names.items() if kept)
    finally:
        live.kill()
        live.wait()
