"""Report figures with many methods: distinct styles, normalised time, captions that match, missing reasons once."""

import numpy as np
import pandas as pd
import pytest

from kfbench.report import compare, plots
from kfbench.report.html import _STYLE, missing_summary, table_html
from kfbench.report.sources import PairView
from kfbench.report.tables import MissingCell, Table, newer_table, paper_table, table1
from kfbench.utils.escaping import plain_text


@pytest.fixture
def captured(monkeypatch):
    figures = []
    keep = lambda fig, stem: figures.append(fig) or [stem.with_suffix(".png")]  # noqa: E731
    monkeypatch.setattr(plots, "save", keep)
    monkeypatch.setattr(compare, "save", keep)
    yield figures
    for fig in figures:
        plots.plt.close(fig)


def test_twenty_methods_get_twenty_colours_and_more_still_differ_by_line_style():
    styles = plots.method_styles([f"m{i:02d}" for i in range(20)])
    assert len({s["color"] for s in styles.values()}) == 20
    more = plots.method_styles([f"m{i:02d}" for i in range(27)])
    assert len({(s["color"], s["linestyle"]) for s in more.values()}) == 27


def test_per_frame_curves_of_different_lengths_share_normalised_time(captured, tmp_path):
    rows = [
        {"dataset": "d", "method": f"m{k}", "time": i / (n - 1), "psnr": 20.0 + i, "lpips": np.nan}
        for k, n in enumerate((6, 7, 23))
        for i in range(n)
    ]
    caption, _ = plots.per_frame_curves(pd.DataFrame(rows), "d", tmp_path / "curves")
    assert caption == "per-frame PSNR ↑ against normalised time, mean over pairs"  # LPIPS was not computed
    lines = captured[0].axes[0].get_lines()
    assert [len(line.get_xdata()) for line in lines] == [6, 7, 23]
    assert all(line.get_xdata()[0] == 0 and line.get_xdata()[-1] == 1 for line in lines)
    assert captured[0].legends and not captured[0].axes[0].get_legend()  # below the axes, not over a curve


def test_metric_bars_for_twenty_methods_rotate_labels_and_say_when_there_are_no_intervals(captured, tmp_path):
    rows = [
        {"dataset": "d", "method": f"method-{i:02d}", "metric": m, "value": float(i), "ci_low": np.nan,
         "ci_high": np.nan, "n": 4, "missing_reason": ""}
        for i in range(20)
        for m in ("psnr", "ssim", "lpips", "flicker")
    ]  # fmt: skip
    caption, _ = plots.metric_bars(pd.DataFrame(rows), "d", tmp_path / "bars")
    assert caption.endswith("metrics (no intervals computed)")
    axes = [ax for ax in captured[0].axes if ax.get_visible()]
    assert len(axes) == 4 and all(len(ax.get_xticklabels()) == 20 for ax in axes)
    assert all(label.get_rotation() == 60 for label in axes[0].get_xticklabels())
    assert captured[0].get_size_inches()[0] <= 16  # wrapped into rows rather than one 4-panel strip


def test_difficulty_figure_gives_thirteen_runs_thirteen_colours_and_its_legend_sits_below_the_panels(
    captured, tmp_path
):
    methods = [f"flow-farneback-sigma{k}.0" for k in range(12)] + ["cost $5$"]
    rows = [
        {"dataset": "d", "factor": factor, "bin": b, "label": ("<= 5", "> 6")[b], "method": m, "metric": metric,
         "value": float(k + b), "ci_low": float(k + b) - 0.5, "ci_high": float(k + b) + 0.5, "n": 3}
        for factor in ("motion", "occlusion")
        for metric in ("psnr", "ssim")
        for k, m in enumerate(methods)
        for b in (0, 1)
    ]  # fmt: skip
    assert compare.difficulty_figure(pd.DataFrame(rows), "d", tmp_path / "d-by-difficulty")
    fig = captured[0]
    lines = [c.lines[0] for c in fig.axes[0].containers]
    assert len({line.get_color() for line in lines}) == len(methods) == 13
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1  # outside every panel
    assert [t.get_text() for t in fig.legends[0].get_texts()] == sorted(plain_text(m) for m in methods)
    offsets = np.concatenate([line.get_xdata() - np.array([0, 1]) for line in lines])
    assert np.abs(offsets).max() <= 0.25  # the runs sit side by side around their own bin


def test_strip_row_labels_of_long_run_names_do_not_overlap(captured, tmp_path):
    frames = np.zeros((5, 32, 48, 3), np.uint8)
    names = ["flow-farneback-sigma1.0", "flow-farneback-sigma3.0", "linear-with-a-much-longer-run-name"]
    view = PairView("p", None, 7.0, {m: frames for m in names}, {m: list(np.linspace(0, 1, 5)) for m in names})
    plots.qualitative_strip(view, tmp_path / "strip")
    fig = captured[0]
    fig.canvas.draw()
    labels = [ax.yaxis.label for ax in fig.axes[:: len(plots.STRIP_TIMES)]]
    assert all(max(map(len, t.get_text().splitlines())) <= plots.STRIP_LABEL_WIDTH for t in labels)
    boxes = [t.get_window_extent() for t in labels]
    assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:]))
    assert all(box.x0 >= 0 for box in boxes)  # inside the figure


def test_wide_tables_scroll_sideways_inside_the_page():
    table = Table(["method"] + [f"metric {i}" for i in range(16)], [["a"] + ["— (missing)"] * 16], "wide", [])
    shown = table_html(table)
    assert '<p class="caption">wide</p><div class="table-scroll"><table>' in shown and shown.endswith("</div>")
    assert ".table-scroll { overflow-x: auto;" in _STYLE


def test_missing_reasons_are_listed_once_per_report():
    one = Table([], [], "", [], missing={"no weights": [MissingCell("d", r, "FID") for r in "abc"]})
    two = Table(
        [],
        [],
        "",
        [],
        missing={
            "no weights": [MissingCell("d", "b", "FID"), MissingCell("d", "e", "FID"), MissingCell("e", "a", "FID")],
            "too short": [MissingCell("e", "a", "FVD")],
        },
    )
    assert missing_summary([one, two]) == [
        "d FID (4 runs: a, b, c, ...); e FID (a): no weights",
        "e FVD (a): too short",
    ]


def test_missing_summary_keeps_multi_word_metric_labels_and_run_names_whole():
    missing = {
        "lpips": "no AlexNet weights",
        "keyframe_lpips": "no AlexNet weights",
        "subject_consistency": "no DINO weights",
        "background_consistency": "no CLIP weights",
    }
    rows = [
        {"dataset": "synthetic", "method": run, "metric": metric, "value": np.nan, "ci_low": np.nan,
         "ci_high": np.nan, "n": 0, "extractor": "", "settings": "", "missing_reason": reason}
        for run in ("flow", "my run/2")
        for metric, reason in missing.items()
    ]  # fmt: skip
    results = pd.DataFrame(rows)
    tables = [table1(results, paper_table()), newer_table(results)]
    assert missing_summary(tables) == [
        "synthetic LPIPS (flow, my run/2); synthetic keyframe LPIPS (flow, my run/2): no AlexNet weights",
        "synthetic Subject consistency (flow, my run/2): no DINO weights",
        "synthetic Background consistency (flow, my run/2): no CLIP weights",
    ]
    assert tables[1].missing_notes()[1] == (
        "missing (synthetic/flow Subject consistency, synthetic/my run/2 Subject consistency): no DINO weights"
    )
