"""Progress bars with ETA that nest: an inner loop (sampling steps) shows under the outer one (pairs)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

_active: list[Progress] = []
enabled = True


def _new_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(file=sys.stderr),
        transient=False,
        disable=not enabled,
    )


@contextmanager
def _progress() -> Iterator[Progress]:
    if _active:
        yield _active[-1]
        return
    progress = _new_progress()
    _active.append(progress)
    try:
        with progress:
            yield progress
    finally:
        _active.pop()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar; nested calls add a transient row to the outer bar's display."""
    nested = bool(_active)
    with _progress() as progress:
        task = progress.add_task(description, total=total if total is not None else _len(items), status="")
        try:
            for item in items:
                yield item
                progress.advance(task)
        finally:
            if nested:
                progress.remove_task(task)


def set_status(text: str) -> None:
    """Show a short status (e.g. 'skipped 3') at the end of the innermost bar."""
    if has_bar():
        _active[-1].update(_active[-1].tasks[-1].id, status=text)


def has_bar() -> bool:
    """Whether a progress bar is showing (a status set now appears on it)."""
    return bool(_active and _active[-1].tasks)


def _len(items: Iterable[object]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
