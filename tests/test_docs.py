"""The guides in docs/: figures the code computes are the code's (scripts/gen_docs.py), every metric has a card."""

from __future__ import annotations

import importlib.util
import re

import pytest

from kfbench.metrics.registry import metric_class
from tests.helpers.cli import REPO
from tests.helpers.inprocess import run_main


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parameter_counts_and_metric_list_in_the_docs_are_the_codes():
    """Regenerate with `python scripts/gen_docs.py` when this fails."""
    assert gen_docs().stale_blocks(["parameters", "metrics"]) == []


@pytest.mark.slow
def test_flops_per_video_in_the_docs_are_the_codes():
    """Counts every method's FLOPs at paper settings on the meta device (about half a minute of CPU)."""
    assert gen_docs().stale_blocks(["flops"]) == []


def test_every_listed_metric_has_a_card_naming_its_weights():
    code, listing, stderr = run_main("list", "metrics")
    assert code == 0, stderr
    listed = {}
    for line in listing.strip().splitlines():
        name, weights = line.split()[0], re.search(r"\[([^\]]*)\]$", line).group(1)
        listed[name] = [] if weights == "no weights" else re.split(r" \+ | or ", weights)
    page = (REPO / "docs" / "metrics.md").read_text()
    cards = dict(re.findall(r"^### `([a-z0-9_]+)`\n(.*?)(?=^##)", page + "\n##", re.S | re.M))
    assert list(cards) == list(listed)  # one card per metric, in the listing's order
    for name, files in listed.items():
        weights_line = re.search(r"^- \*\*Weights\*\*: (.*?)(?=^- \*\*)", cards[name], re.S | re.M).group(1)
        assert all(f"`{f}`" in weights_line for f in files), (name, files)
        assert files or weights_line.startswith("none"), name
        for field in ("Measures", "Weights", "Conventions", "Paper"):
            assert f"- **{field}**:" in cards[name], (name, field)
        paper_line = re.search(r"^- \*\*Paper\*\*: (.*?)(?=^###|\Z)", cards[name], re.S | re.M).group(1)
        for paper in metric_class(name).papers:  # the card cites what the metric's class says it follows
            assert paper.split()[0].rstrip(",") in paper_line, (name, paper)
