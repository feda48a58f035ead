"""`kfbench prepare`: fetch and verify a dataset's files, then write (or check) its manifest.

davis: the official DAVIS 2017 archives are downloaded into the root when missing (unless
offline), checked (size and sha256 where published, every ZIP member's CRC) and extracted into a
temporary folder whose files are then renamed into place; a stamp written last marks the archive
extracted, so a killed extraction is redone. The sequences of train, val and test-dev are then
checked against the official list (each present, with its frame count) when the dataset opens.
pexels with an existing ``--manifest``: the listed videos missing from the root are downloaded and
checked against the manifest's size and sha256. Downloads are http(s) only, land under a temporary
name and are renamed into place only once they match; a mismatch is removed. Offline, nothing is
fetched and the error lists each missing file with its URL and the path to put it at.

Then, for every clip dataset: with an existing ``--manifest`` the data is checked against it;
otherwise a manifest of the current selection is written (default ROOT/manifests/<name>.json).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfbench.datasets.clips import ClipDataset, default_manifest_path, default_root
from kfbench.datasets.davis import Archive, archives_for, davis_dir, parse_splits
from kfbench.datasets.davislist import LISTED_SPLITS, listed_frame_counts
from kfbench.datasets.manifest import Manifest
from kfbench.datasets.pexels import download_url
from kfbench.datasets.sources import sha256_file
from kfbench.errors import KfbenchError
from kfbench.registry import create_dataset, dataset_presets, lookup
from kfbench.utils.atomicio import remove_leftovers, replacing, staging_folder, write_text
from kfbench.utils.progress import track

CHUNK = 1 << 20


@dataclass
class MissingFiles(KfbenchError):
    """Files that must be fetched by hand: (url, destination) each."""

    dataset: str
    files: list[tuple[str | None, Path]] = field(default_factory=list)
    hint: str = ""
    reason: str = "offline"

    def __str__(self) -> str:
        return (
            f"{self.dataset}: {len(self.files)} file(s) missing and not downloaded ({self.reason}); "
            "fetch each URL listed above to the path beside it, then run the same command again"
        )

    def listing(self) -> list[str]:
        """A header, then '  URL -> PATH' per file, then the hint if any."""
        lines = [f"{self.dataset}: download each file to the path shown:"]
        lines += [f"  {url or '(no URL recorded)'} -> {dest}" for url, dest in self.files]
        return lines + ([self.hint] if self.hint else [])


@dataclass
class Fetcher:
    """Downloads files unless offline; after the first failure to connect it stays offline."""

    offline: bool
    log: list[str] = field(default_factory=list)
    failure: str = ""

    def fetch(self, url: str | None, dest: Path, size: int | None = None, sha256: str | None = None) -> str | None:
        """Download ``url`` to ``dest`` and check it; its sha256, or None (the reason in ``failure``) when not
        fetched."""
        if url is not None:
            _require_http(url, dest)
        if self.offline or url is None:
            self.failure = self.failure or ("offline" if self.offline else "no URL recorded")
            return None
        remove_leftovers(dest.parent)
        try:
            with replacing(dest) as part:
                digest = self._download(url, dest, part)
                _check_download(url, dest, part.stat().st_size, size, digest, sha256)
        except urllib.error.HTTPError as exc:
            self.failure = f"{url}: HTTP {exc.code}"
            return None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            self.offline = True
            self.failure = f"cannot reach {url}: {getattr(exc, 'reason', exc)}"
            return None
        self.log.append(f"downloaded {url} -> {dest}")
        return digest

    @staticmethod
    def _download(url: str, dest: Path, part: Path) -> str:
        """Stream ``url`` into ``part`` within :data:`DEADLINE_S` and above :data:`MIN_RATE`; returns its sha256."""
        digest = hashlib.sha256()
        with open_url(url, dest) as response, open(part, "wb") as out:
            _require_http(getattr(response, "url", None) or url, dest)  # where redirects led
            total = content_length(response.headers.get("Content-Length"))
            if total is not None:
                check_free_space(dest.parent, total, f"download of {url}")
            pace = _Pace(url)
            chunks = iter(lambda: response.read1(CHUNK), b"")
            for chunk in track(chunks, f"download {dest.name}", total=-(-total // CHUNK) if total else None):
                out.write(chunk)
                digest.update(chunk)
                pace.check(len(chunk))
        return digest.hexdigest()


def open_url(url: str, dest: Path) -> Any:
    """The response of ``url``, redirects followed only to http(s) (checked before connecting)."""
    return urllib.request.build_opener(_HttpOnlyRedirects(dest)).open(url, timeout=READ_TIMEOUT_S)


READ_TIMEOUT_S = 30.0
"""A connection or read that stalls this long fails."""
DEADLINE_S = 6 * 3600.0
"""No download may take longer (the largest DAVIS archive takes 20 minutes at 20 Mbit/s)."""
MIN_RATE = 16 * 1024
"""Bytes per second a download must average over each window of :data:`RATE_WINDOW_S` (a trickling server fails)."""
RATE_WINDOW_S = 60.0


class _Pace:
    """Fails a download past :data:`DEADLINE_S`, or slower than :data:`MIN_RATE` over a window of
    :data:`RATE_WINDOW_S`."""

    def __init__(self, url: str) -> None:
        self.url, self.start = url, time.monotonic()
        self.window_start, self.window_bytes = self.start, 0

    def check(self, size: int) -> None:
        now = time.monotonic()
        self.window_bytes += size
        if now - self.start > DEADLINE_S:
            raise KfbenchError(
                f"download of {self.url} took longer than {DEADLINE_S:.0f} s; stopped it, nothing was kept"
            )
        if now - self.window_start >= RATE_WINDOW_S:
            rate = self.window_bytes / (now - self.window_start)
            if rate < MIN_RATE:
                raise KfbenchError(
                    f"download of {self.url} ran at {rate:.0f} bytes/s, below the minimum of {MIN_RATE} "
                    f"over {RATE_WINDOW_S:.0f} s; stopped it, nothing was kept: try again later"
                )
            self.window_start, self.window_bytes = now, 0


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to http(s), checked before connecting to it."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 (urllib's signature)
        _require_http(urllib.parse.urljoin(req.full_url, newurl), self.dest)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def content_length(value: str | None) -> int | None:
    """A Content-Length header as a byte count, or None when absent or not a plain non-negative integer."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """An error before writing when ``folder``'s file system has less than ``needed`` bytes free."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise KfbenchError(f"{what} needs {needed} bytes, {folder} has {free} free; free some space and run again")


def _require_http(url: str, dest: Path) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise KfbenchError(f"refusing to fetch {url!r} for {dest}: only http:// and https:// downloads are allowed")


def _check_download(url: str, dest: Path, actual_size: int, size: int | None, digest: str, sha256: str | None) -> None:
    """A download that does not match its recorded size or sha256 is an error (the caller removes it)."""
    if size is not None and actual_size != size:
        problem = f"{actual_size} bytes, expected {size}"
    elif sha256 is not None and digest != sha256:
        problem = f"sha256 {digest}, expected {sha256}"
    else:
        return
    raise KfbenchError(f"download of {url} had {problem}; removed it, nothing was written to {dest}")


def verify_file(path: Path, size: int | None, sha256: str | None) -> str:
    """Compare a file with its recorded size and sha256 (when known); returns its sha256."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise KfbenchError(f"{path} has {actual_size} bytes, expected {size}; delete it and download it again")
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256:
        raise KfbenchError(f"{path}: sha256 {digest}, expected {sha256}; delete it and download it again")
    return digest


def prepare(name: str, *, root: str | None, manifest: str | None, offline: bool, options: dict[str, Any]) -> list[str]:
    """Fetch, verify and write or check the manifest of dataset ``name``; returns report lines."""
    lookup(dataset_presets(), name, "dataset")
    if name not in ("davis", "pexels", "folder"):
        raise KfbenchError(f"{name} has nothing to prepare; prepare davis, pexels or folder")
    root_path = Path(root).expanduser() if root else default_root(name)
    pinned = Path(manifest).expanduser() if manifest and Path(manifest).expanduser().is_file() else None
    fetcher = Fetcher(offline or os.environ.get("KFBENCH_OFFLINE") == "1")
    if name == "davis":
        if pinned is not None:
            options = {**Manifest.load(pinned, "davis").options, **options}
        chosen = {**dataset_presets()["davis"].options, **options}
        fetch_davis(root_path, chosen["resolution"], chosen["splits"], fetcher)
    elif name == "pexels" and pinned is not None:
        fetch_pexels(root_path, pinned, fetcher)
    if pinned is not None:
        options = {k: v for k, v in options.items() if k in ("skip_bad", "resolution")}
    dataset: ClipDataset = create_dataset(
        name, root=str(root_path), manifest=str(pinned) if pinned else None, **options
    )
    lines = fetcher.log + [dataset.summary()] + [f"  skipped: {line}" for line in dataset.bad]
    if pinned is not None:
        problems = dataset.verify()
        if problems:
            raise KfbenchError(f"{len(problems)} problem(s) against manifest {pinned}: {'; '.join(problems)}")
        return lines + [f"{name}: all {len(dataset)} pair(s) match manifest {pinned}"]
    out = Path(manifest).expanduser() if manifest else default_manifest_path(root_path, name)
    dataset.to_manifest().save(out)
    return lines + [f"wrote manifest {out} ({len(dataset)} pairs); pin it with --manifest {out}"]


def fetch_davis(root: Path, resolution: str, splits: str, fetcher: Fetcher) -> None:
    """Make sure the archives of ``splits`` at ``resolution`` are extracted under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    images = root / "DAVIS" / "JPEGImages" / resolution
    missing = MissingFiles("davis", hint=f"(or unzip them yourself into {root}, giving {images}/<sequence>/00000.jpg)")
    for archive in archives_for(parse_splits(splits), resolution):
        if _extracted(root, archive, resolution):
            fetcher.log.append(f"{archive.name}: already extracted under {davis_dir(root)}")
            continue
        path = root / archive.name
        digest = (
            verify_file(path, archive.bytes, archive.sha256)
            if path.is_file()
            else (fetcher.fetch(archive.url, path, archive.bytes, archive.sha256))
        )
        if digest is None:
            missing.files.append((archive.url, path))
            continue
        checked = "matches the published sha256" if archive.sha256 else "no published sha256 to compare"
        fetcher.log.append(f"{archive.name}: sha256 {digest} ({checked})")
        _extract(path, root, resolution, archive)
    if missing.files:
        missing.reason = fetcher.failure
        raise missing


def _stamp(root: Path, archive: Archive) -> Path:
    return root / ".kfbench" / f"{archive.name}.sequences"


def _extracted(root: Path, archive: Archive, resolution: str) -> bool:
    """True when every sequence of the archive is under JPEGImages/<resolution>.

    Only the stamp, written after the last file is in place, vouches for an extraction; without it
    an archive lying in the root is extracted (again), and a tree the user unzipped by hand counts
    when the split lists name only sequences that are present.
    """
    base = davis_dir(root)
    stamp = _stamp(root, archive)
    if stamp.is_file():
        names = stamp.read_text().split()
    elif (root / archive.name).is_file():
        return False
    else:
        lists = [base / "ImageSets" / "2017" / f"{split}.txt" for split in archive.splits]
        if not all(p.is_file() for p in lists):
            return False
        names = [n for p in lists for n in p.read_text().split()]
    return bool(names) and all((base / "JPEGImages" / resolution / n).is_dir() for n in names)


def _extract(path: Path, root: Path, resolution: str, archive_facts: Archive) -> None:
    """Check every member's CRC, place and split, and the free space; extract into a temporary folder, move its
    files into ``root``, then stamp."""
    remove_leftovers(root)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise KfbenchError(f"{path}: member {bad} is corrupt (CRC mismatch); delete it and download it again")
            members = archive.infolist()
            for member in members:
                _check_member(path, member.filename, archive_facts)
            check_free_space(root, sum(m.file_size for m in members), f"extracting {path.name}")
            with staging_folder(root / f"{path.name}.extract") as staging:
                for member in track(members, f"extract {path.name}"):
                    archive.extract(member, staging)
                _move_into(staging, root)
            prefix = f"JPEGImages/{resolution}/"
            inside = [n.split(prefix, 1)[1] for n in archive.namelist() if prefix in n]
            sequences = sorted({rest.split("/")[0] for rest in inside if "/" in rest.strip("/")})
    except zipfile.BadZipFile as exc:
        raise KfbenchError(f"{path} is not a valid ZIP archive ({exc}); delete it and download it again") from None
    write_text(_stamp(root, archive_facts), "\n".join(sequences) + "\n")


_PER_SEQUENCE = ("JPEGImages", "Annotations", "Annotations_unsupervised")


def _check_member(path: Path, name: str, archive: Archive) -> None:
    """A member may write only under DAVIS/: its own split's sequences and split lists, or a top-level note.

    So an archive without a published checksum (test-challenge) cannot replace another split's frames,
    lists or kfbench's extraction stamps.
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    refuse = f"{path}: member {name!r}"
    if len(parts) < 2 or parts[0] != "DAVIS" or any(p in (".", "..") or p.startswith(".") for p in parts):
        raise KfbenchError(
            f"{refuse} lies outside DAVIS/ (or is hidden); official archives hold only DAVIS/...; "
            "delete the archive and download it again"
        )
    if parts[1] in _PER_SEQUENCE and len(parts) >= 4:
        sequence = parts[3]
        if not _sequence_of(sequence, archive.splits):
            raise KfbenchError(
                f"{refuse} writes sequence {sequence!r}, which is not in split(s) "
                f"{', '.join(archive.splits)}; an archive writes only its own split's sequences"
            )
    elif parts[1] == "ImageSets" and len(parts) == 4:
        if parts[3].removesuffix(".txt") not in archive.splits:
            raise KfbenchError(f"{refuse} is another split's list; an archive writes only its own split's lists")
    elif len(parts) != 2 and parts[1] not in _PER_SEQUENCE and parts[1] != "ImageSets":
        raise KfbenchError(
            f"{refuse} is not where official DAVIS archives put files; delete the archive and download it again"
        )


def _sequence_of(sequence: str, splits: tuple[str, ...]) -> bool:
    """True when ``sequence`` belongs to ``splits``: listed there, or (test-challenge) listed in no other split."""
    own = tuple(s for s in splits if s in LISTED_SPLITS)
    if own and sequence in listed_frame_counts(own):
        return True
    return "test-challenge" in splits and sequence not in listed_frame_counts(LISTED_SPLITS)


def _move_into(source: Path, target: Path) -> None:
    """Rename each file or whole folder of ``source`` into ``target`` (merging into folders already there).

    Every rename is atomic, so ``target`` never holds a partly written file; the split lists
    (ImageSets) move last, after every sequence they name.
    """
    for child in sorted(source.iterdir(), key=lambda p: (p.name == "ImageSets", p.name)):
        dest = target / child.name
        if child.is_dir() and dest.is_dir():
            _move_into(child, dest)
        elif dest.exists() and (child.is_dir() or dest.is_dir()):
            raise KfbenchError(
                f"cannot extract {child.name} to {dest}: a file or folder is in the way; move it away and run "
                "prepare again"
            )
        else:
            os.replace(child, dest)


def fetch_pexels(root: Path, manifest_path: Path, fetcher: Fetcher) -> None:
    """Download the manifest's videos missing from ``root`` and check their size and sha256."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(manifest_path, "pexels")
    missing = MissingFiles("pexels")
    for name, facts in manifest.sources.items():
        dest = manifest.source_path(root, name)
        if dest.is_file():
            continue
        url = download_url(facts)
        if fetcher.fetch(url, dest, facts.get("bytes"), facts.get("sha256")) is None:
            missing.files.append((url, dest))
    if missing.files:
        missing.reason = fetcher.failure
        raise missing
