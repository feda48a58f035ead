"""kfbench check: the project's CI runs it against the committed baseline; comparison and tolerances."""

import json

import pandas as pd
import pytest

from kfbench.errors import KfbenchError
from kfbench.report.check import compare, parse_tolerance
from tests.helpers.cli import REPO
from tests.helpers.inprocess import run_main


def results(psnr, fid=float("nan"), reason=""):
    rows = [("psnr", psnr, ""), ("fid", fid, reason)]
    return pd.DataFrame(
        [{"dataset": "synthetic", "method": "flow", "metric": m, "value": v, "missing_reason": r} for m, v, r in rows]
    )


BASELINE = [
    {"dataset": "synthetic", "method": "flow", "metric": "psnr", "value": 22.0},
    {"dataset": "synthetic", "method": "flow", "metric": "fid", "value": 50.0},
]


def test_regressions_are_named_in_the_metric_direction():
    tol = parse_tolerance(None, 0.01)
    assert compare(BASELINE, results(21.9, 50.2), tol).regressions == []
    worse = compare(BASELINE, results(21.0, 52.0), tol).regressions
    assert len(worse) == 2 and worse[0].startswith("synthetic/flow/psnr") and "worse by 4.55%" in worse[0]
    assert worse[1].startswith("synthetic/flow/fid") and "worse by 4.00%" in worse[1]
    better = compare(BASELINE, results(25.0, 40.0), tol)
    assert better.regressions == [] and all("--update" in line for line in better.lines)
    missing = compare(BASELINE, results(22.0, reason="no weights"), tol).regressions
    assert missing == ["synthetic/flow/fid: missing now (no weights)"]


def test_tolerance_is_one_fraction_or_per_metric():
    assert parse_tolerance("0.05", 0.01)["ssim"] == 0.05
    per_metric = parse_tolerance("psnr=0.1,ssim=0.2", 0.01)
    assert per_metric["psnr"] == 0.1 and per_metric["ssim"] == 0.2 and per_metric["fid"] == 0.01
    assert compare(BASELINE[:1], results(21.0), parse_tolerance("psnr=0.05", 0.01)).regressions == []
    with pytest.raises(KfbenchError, match="unknown metric 'psrn'"):
        parse_tolerance("psrn=0.1", 0.01)
    with pytest.raises(KfbenchError, match="--tolerance takes a fraction"):
        parse_tolerance("lots", 0.01)


def test_check_passes_against_the_committed_baseline_and_fails_naming_a_regression(tmp_path):
    baseline = REPO / "tests" / "data" / "check_baseline.json"
    committed = {(v["method"], v["metric"]): v["value"] for v in json.loads(baseline.read_text())["values"]}
    # the committed numbers are sane on their own: flow beats the cross-fade on translating shapes
    assert (
        committed["flow", "psnr"] > committed["linear", "psnr"] + 1
        and committed["flow", "ssim"] > committed["linear", "ssim"]
    )
    code, out, err = run_main("check", "--baseline", baseline)
    assert code == 0, err
    assert "synthetic/flow/psnr: baseline" in out and "REGRESSED" not in err
    total = len(json.loads(baseline.read_text())["values"])
    assert out.strip().splitlines()[-1] == f"check passed: {total} metric value(s) checked, 0 regressed"
    raised = json.loads(baseline.read_text())
    raised["values"][0]["value"] *= 1.5
    (tmp_path / "raised.json").write_text(json.dumps(raised))
    code, out, err = run_main("check", "--baseline", tmp_path / "raised.json")
    name = "/".join(raised["values"][0][k] for k in ("dataset", "method", "metric"))
    assert code == 1 and f"REGRESSED {name}: baseline" in err and err.count("REGRESSED") == 1
    assert out.strip().splitlines()[-1] == f"check FAILED: {total} metric value(s) checked, 1 regressed"
