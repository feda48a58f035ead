"""`kfbench prepare`: fetch and verify a dataset's files, then write (or check) its manifest.

davis: the official DAVIS 2017 archives are downloaded into the root when missing (unless
offline), checked (size and sha256 where published, every ZIP member's CRC) and extracted; the
sequences of train, val and test-dev are then checked against the official list (each present,
with its frame count) when the dataset opens.
pexels with an existing ``--manifest``: the listed videos missing from the root are downloaded
and checked against the manifest's size and sha256. Offline, nothing is fetched and the error
lists each missing file with its URL and the path to put it at.

Then, for every clip dataset: with an existing ``--manifest`` the data is checked against it;
otherwise a manifest of the current selection is written (default ROOT/manifests/<name>.json).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfbench.datasets.clips import ClipDataset, default_manifest_path, default_root
from kfbench.datasets.davis import Archive, archives_for, davis_dir, parse_splits
from kfbench.datasets.manifest import Manifest
from kfbench.datasets.pexels import download_url
from kfbench.datasets.sources import sha256_file
from kfbench.errors import KfbenchError
from kfbench.progress import track
from kfbench.registry import create_dataset, dataset_presets, lookup

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

    def fetch(self, url: str | None, dest: Path) -> bool:
        """Download ``url`` to ``dest``; False (and the reason in ``failure``) when it could not."""
        if self.offline or url is None:
            self.failure = self.failure or ("offline" if self.offline else "no URL recorded")
            return False
        part = dest.with_name(dest.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                chunks = iter(lambda: response.read(CHUNK), b"")
                for chunk in track(chunks, f"download {dest.name}", total=-(-total // CHUNK) or None):
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            part.unlink(missing_ok=True)
            self.failure = f"{url}: HTTP {exc.code}"
            return False
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            part.unlink(missing_ok=True)
            self.offline = True
            self.failure = f"cannot reach {url}: {getattr(exc, 'reason', exc)}"
            return False
        part.replace(dest)
        self.log.append(f"downloaded {url} -> {dest}")
        return True


def verify_file(path: Path, size: int | None, sha256: str | None) -> str:
    """Compare a file with its recorded size and sha256 (when known); returns its sha256."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise KfbenchError(f"{path} has {actual_size} bytes, expected {size}; delete it and download it again")
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256:
        raise KfbenchError(f"{path}: sha256 {digest}, expected {sha256}; delete it and download it again")
    return digest


def prepare(
    name: str, *, root: str | None, manifest: str | None, offline: bool, options: dict[str, Any]
) -> list[str]:
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
    dataset: ClipDataset = create_dataset(name, root=str(root_path), manifest=str(pinned) if pinned else None, **options)
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
        if not path.is_file() and not fetcher.fetch(archive.url, path):
            missing.files.append((archive.url, path))
            continue
        digest = verify_file(path, archive.bytes, archive.sha256)
        checked = "matches the published sha256" if archive.sha256 else "no published sha256 to compare"
        fetcher.log.append(f"{archive.name}: sha256 {digest} ({checked})")
        _extract(path, root, resolution)
    if missing.files:
        missing.reason = fetcher.failure
        raise missing


def _stamp(root: Path, archive: Archive) -> Path:
    return root / ".kfbench" / f"{archive.name}.sequences"


def _extracted(root: Path, archive: Archive, resolution: str) -> bool:
    """True when every sequence of the archive is under JPEGImages/<resolution>."""
    base = davis_dir(root)
    stamp = _stamp(root, archive)
    if stamp.is_file():
        names = stamp.read_text().split()
    else:
        lists = [base / "ImageSets" / "2017" / f"{split}.txt" for split in archive.splits]
        if not all(p.is_file() for p in lists):
            return False
        names = [n for p in lists for n in p.read_text().split()]
    return bool(names) and all((base / "JPEGImages" / resolution / n).is_dir() for n in names)


def _extract(path: Path, root: Path, resolution: str) -> None:
    """Check every member's CRC, extract into ``root`` and record which sequences the archive held."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise KfbenchError(f"{path}: member {bad} is corrupt (CRC mismatch); delete it and download it again")
            for member in track(archive.infolist(), f"extract {path.name}"):
                archive.extract(member, root)
            prefix = f"JPEGImages/{resolution}/"
            inside = [n.split(prefix, 1)[1] for n in archive.namelist() if prefix in n]
            sequences = sorted({rest.split("/")[0] for rest in inside if "/" in rest.strip("/")})
    except zipfile.BadZipFile as exc:
        raise KfbenchError(f"{path} is not a valid ZIP archive ({exc}); delete it and download it again") from None
    stamp = _stamp(root, Archive(path.name, ()))
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("\n".join(sequences) + "\n")


def fetch_pexels(root: Path, manifest_path: Path, fetcher: Fetcher) -> None:
    """Download the manifest's videos missing from ``root`` and check their size and sha256."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(manifest_path, "pexels")
    missing = MissingFiles("pexels")
    for facts in manifest.sources.values():
        dest = root / facts["path"]
        if dest.is_file():
            continue
        url = download_url(facts)
        if not fetcher.fetch(url, dest):
            missing.files.append((url, dest))
            continue
        verify_file(dest, facts.get("bytes"), facts.get("sha256"))
    if missing.files:
        missing.reason = fetcher.failure
        raise missing
