#!/usr/bin/env bash
# Measure every kfbench method on one GPU with random full-size weights (no downloads), within 10 minutes.
#
#   bash scripts/gpu_bench.sh OUT_DIR
#
# Needs: python with PyTorch (CUDA build) installed; a folder of wheels (kfbench's and its dependencies', not
# torch) in $KFBENCH_WHEELS (default: ./wheels next to this script's repository). Nothing is fetched from the
# network. Writes OUT_DIR/bench.json, bench.md (the table), bench.log and environment.txt.
#
# Environment (all optional):
#   KFBENCH_WHEELS      wheel folder for `pip install --no-index --find-links` (default: <repo>/wheels)
#   KFBENCH_SUITE       paper (default) or tiny (CPU, seconds: the tests run it)
#   KFBENCH_METHODS     comma-separated subset of the suite (default: all, in the suite's order)
#   KFBENCH_BUDGET_S    no method or lever run starts after this many seconds (default 420)
#   KFBENCH_TIMEOUT_S   hard stop of the whole benchmark (default 570); what finished is already on disk
#   KFBENCH_DTYPE       float16 (default on CUDA) or bfloat16
#   KFBENCH_LEVERS      0: no lever sweep (default 1)
#   KFBENCH_NO_INSTALL  1: skip the install step (kfbench already importable, e.g. a checkout on PYTHONPATH)
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bash scripts/gpu_bench.sh OUT_DIR   (see the header of this script for the environment it reads)" >&2
    exit 2
fi
out=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python}
wheels=${KFBENCH_WHEELS:-$repo/wheels}
suite=${KFBENCH_SUITE:-paper}
budget=${KFBENCH_BUDGET_S:-420}
hard=${KFBENCH_TIMEOUT_S:-570}
mkdir -p "$out"

if ! "$python" -c "import torch" 2>/dev/null; then
    echo "error: $python cannot import torch; install PyTorch first (this script never installs torch)" >&2
    exit 2
fi

if [[ ${KFBENCH_NO_INSTALL:-0} != 1 ]]; then
    wheel=$(ls -t "$wheels"/kfbench-*.whl 2>/dev/null | head -n 1 || true)
    if [[ -z $wheel ]]; then
        echo "error: no kfbench wheel in '$wheels'; prepare the folder as README 'Measuring speed on a GPU' says, or set KFBENCH_WHEELS" >&2
        exit 2
    fi
    # dependencies from the folder only (torch is already installed), then this wheel's kfbench over any older one
    { "$python" -m pip install --no-index --find-links "$wheels" "$wheel" &&
      "$python" -m pip install --no-index --no-deps --force-reinstall "$wheel"; } >"$out/install.log" 2>&1 || {
        echo "error: installing kfbench from '$wheels' failed (see $out/install.log); a wheel is missing from the folder" >&2
        exit 2
    }
fi

{
    date -u +"date: %Y-%m-%dT%H:%M:%SZ"
    "$python" -c "import torch, platform; print('python', platform.python_version(), '| torch', torch.__version__, '| cuda', torch.version.cuda); print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')"
    if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; fi
} >"$out/environment.txt" 2>&1

args=(bench --suite "$suite" --out "$out" --budget-s "$budget" --quiet)
[[ ${KFBENCH_LEVERS:-1} == 1 ]] && args+=(--levers)
[[ -n ${KFBENCH_METHODS:-} ]] && args+=(--methods "$KFBENCH_METHODS")
[[ -n ${KFBENCH_DTYPE:-} ]] && args+=(--dtype "$KFBENCH_DTYPE")
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # nothing is downloaded: the weights are random
status=0
timeout --signal=INT --kill-after=20 "$hard" "$python" -m kfbench "${args[@]}" >"$out/bench.log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
    tail -n 20 "$out/bench.log" >&2
    [[ $status -eq 124 || $status -eq 130 ]] && echo "stopped after ${hard} s; $out/bench.md holds what finished" >&2
    exit "$status"
fi
cat "$out/bench.md"
echo "wrote $out/bench.json, $out/bench.md, $out/bench.log, $out/environment.txt"
