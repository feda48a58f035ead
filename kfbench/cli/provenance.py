"""`kfbench show` and `kfbench verify`: one run's full settings; the frames' content against their recorded hashes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kfbench.cli.app import app
from kfbench.errors import KfbenchError
from kfbench.store.fingerprint import flatten
from kfbench.store.runstore import META, RUN, RunStore


def _runs(path: Path) -> tuple[RunStore, list[tuple[str, str]]]:
    """(store, [(dataset, run)]) for a run folder OUT/DATASET/RUN or a whole run store OUT."""
    if not path.is_dir():
        raise KfbenchError(f"{path} is not a folder; pass a run folder OUT/DATASET/RUN or a run store OUT")
    if (path / RUN).is_file() or any((p / META).is_file() for p in path.iterdir() if p.is_dir()):
        return RunStore(path.parent.parent), [(path.parent.name, path.name)]
    store = RunStore(path)
    runs = [(d, r) for d in store.datasets() for r in store.methods(d) if store.written_pairs(d, r)]
    if not runs:
        raise KfbenchError(f"{path} holds no run (OUT/DATASET/RUN with pairs); pass a run folder or a run store")
    return store, runs


@app.command()
def show(run: Path = typer.Argument(..., help="Run folder OUT/DATASET/RUN.")) -> None:
    """Print one run's full settings: fingerprint, method, every option, seed, weights hashes, versions, pairs.

    Example: kfbench show runs/synthetic/svd@1a2b3c4d
    """
    store, runs = _runs(run)
    if len(runs) != 1:
        raise KfbenchError(
            f"{run} is a run store with {len(runs)} runs; pass one of them: "
            + ", ".join(str(run / d / r) for d, r in runs[:5])
        )
    dataset, name = runs[0]
    record = store.run_record(dataset, name)
    lines = [f"run: {store.method_dir(dataset, name)}"]
    if record is None:
        lines.append("settings: not recorded (pairs made before kfbench recorded settings)")
    else:
        lines.append(f"fingerprint: {record['fingerprint']}")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in flatten(record.get("settings", {})).items()]
        lines += [f"  versions.{key}: {value}" for key, value in sorted((record.get("versions") or {}).items())]
        lines.append(f"created: {record.get('created')}")
    complete, damaged = store.completed_pairs(dataset, name), store.damaged_pairs(dataset, name)
    seen: dict[str, set[str]] = {}
    for pair_id in complete:
        packages = (store.load_meta(dataset, name, pair_id).get("environment") or {}).get("packages") or {}
        for package in (record or {}).get("versions") or {}:
            seen.setdefault(package, set()).add(str(packages.get(package)))
    lines.append(f"pairs: {len(complete)} complete, {len(damaged)} damaged")
    lines += [f"  damaged {pair_id}: {why}" for pair_id, why in damaged.items()]
    lines += [
        f"  pairs made with {package} {', '.join(sorted(v))} (mixed)" for package, v in seen.items() if len(v) > 1
    ]
    typer.echo("\n".join(lines))


@app.command()
def verify(path: Path = typer.Argument(..., help="A run folder OUT/DATASET/RUN, or a run store OUT.")) -> None:
    """Check every pair's meta.json, frame count and sizes, and the frames' content against the recorded sha256.

    Exit status 1 names each damaged pair; `kfbench run` with the run's settings recomputes them.

    Example: kfbench verify runs
    """
    store, runs = _runs(path)
    problems, checked = [], 0
    for dataset, run in runs:
        for pair_id in store.written_pairs(dataset, run):
            checked += 1
            why = store.verify_pair(dataset, run, pair_id)
            if why is not None:
                problems.append(f"damaged: {dataset}/{run}/{pair_id}: {why}")
    for line in problems:
        typer.echo(line)
    typer.echo(f"verified {checked} pair(s) in {len(runs)} run(s): {len(problems)} damaged")
    if problems:
        raise typer.Exit(1)
