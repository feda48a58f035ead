"""Write the figures kfbench computes into the guides, so that no number is typed twice.

    python scripts/gen_docs.py            # rewrite every generated block in docs/
    python scripts/gen_docs.py --check    # exit 1 naming each block that is out of date (tests/test_docs.py)

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->`` in a docs/ page:
``parameters`` (performance.md: the random full-size models' real parameter counts), ``flops``
(performance.md: FLOPs per video at the paper suite's settings, counted on the meta device; about half a
minute of CPU) and ``metrics`` (metrics.md: the registered metrics).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def cell(text: str) -> str:
    """Text for a Markdown table cell (a bar would end the cell)."""
    return text.replace("|", "\\|")


def parameters_block() -> str:
    """Markdown table of every random full-size model's parameter count and where the real figure comes from."""
    from kfbench.bench.randomweights import random_models

    lines = ["| model | parameters | source of the real figure |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {spec.parameters:,} | {cell(spec.source)} |" for name, spec in random_models().items()]
    return "\n".join(lines)


def flops_block() -> str:
    """Markdown table of network calls and FLOPs per video of every method of the paper suite."""
    from kfbench.bench.suite import flops_row, suites

    lines = [
        "| method | network calls per video | PFLOP per video | without attention matmuls |",
        "| --- | --- | --- | --- |",
    ]
    suite = suites().get("paper")
    for row in (flops_row(entry, entry.frame_size or suite.frame_size) for entry in suite.entries):
        calls = f"{row['calls']} {row.get('network', 'UNet')}" if "calls" in row else "-"
        if row.get("flops_missing"):
            lines.append(f"| `{row['method']}` | {calls} | not counted: {cell(row['flops_missing'])} | |")
        else:
            lines.append(
                f"| `{row['method']}` | {calls} | {row['flops_per_video'] / 1e15:.4g} | "
                f"{row['flops_per_video_without_attention_matmuls'] / 1e15:.4g} |"
            )
    return "\n".join(lines)


def metrics_block() -> str:
    """Markdown table of the registered metrics: name, what they read, description, weights files, papers."""
    from kfbench.metrics.registry import metric_class, metric_names

    lines = ["| metric | reads | what it measures | weights | follows |", "| --- | --- | --- | --- | --- |"]
    for name in metric_names():
        cls = metric_class(name)
        weights = " + ".join(" or ".join(f"`{n}`" for n in w.names) for w in cls.weights) or "none"
        papers = cell("; ".join(cls.papers)) or "-"
        lines.append(f"| [`{name}`](#{name}) | {cls.reads} | {cell(cls.description)} | {weights} | {papers} |")
    return "\n".join(lines)


BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "parameters": ("performance.md", parameters_block),
    "flops": ("performance.md", flops_block),
    "metrics": ("metrics.md", metrics_block),
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end generated: {name} -->)", re.S)


def stale_blocks(names: list[str] | None = None, *, write: bool = False) -> list[str]:
    """The blocks whose text differs from what the code computes now (rewritten in place with ``write``)."""
    stale = []
    for name in names or list(BLOCKS):
        page, make = BLOCKS[name]
        path = DOCS / page
        text = path.read_text()
        match = _pattern(name).search(text)
        if match is None:
            raise SystemExit(f"error: {path} has no generated block '{name}'")
        fresh = make() + "\n"
        if match.group(2) != fresh:
            stale.append(f"{page}: {name}")
            if write:
                path.write_text(text[: match.start(2)] + fresh + text[match.end(2) :])
    return stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale blocks (exit 1 if any)")
    parser.add_argument("blocks", nargs="*", help=f"blocks to generate: {', '.join(BLOCKS)} (default: all)")
    args = parser.parse_args()
    unknown = [b for b in args.blocks if b not in BLOCKS]
    if unknown:
        raise SystemExit(f"error: no generated block '{unknown[0]}'; valid: {', '.join(BLOCKS)}")
    stale = stale_blocks(args.blocks or None, write=not args.check)
    for block in stale:
        print(f"{'stale' if args.check else 'rewrote'}: {block}")
    sys.exit(1 if args.check and stale else 0)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
