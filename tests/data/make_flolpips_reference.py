"""How tests/data/flolpips_reference.json was made: the FloLPIPS authors' release run on CPU with random weights.

Usage: python tests/data/make_flolpips_reference.py RELEASE_DIR COMMIT  (RELEASE_DIR: github danier97/flolpips
at COMMIT; run from the repository root with it on PYTHONPATH). Nothing of the release is
copied into kfbench: this script imports it from RELEASE_DIR and changes only what cannot run on a CPU
without network access:

- ``correlation.FunctionCorrelation`` is a cupy CUDA kernel; it is replaced by a loop that transcribes the
  kernel's indexing (zero padding 4, output channel c at displacement x = c % 9 - 4, y = c // 9 - 4, the sum
  over channels divided by their number);
- ``Tensor.cuda`` (called on a grid in ``pwcnet.backwarp``) returns the tensor unchanged;
- the downloads (torchvision's AlexNet, pytorch-pwc's network-default.pytorch) return the random weights
  files the test also builds (tests/metric_weights.py); the LPIPS linear layers are the release's own file.

The frames go through ``calc_flolpips``'s per-frame computation (flows t -> t+1 of reference and distorted,
``FloLPIPS(net='alex', version='0.1').forward(ref, dis, flow_ref - flow_dis, normalize=True)``) directly,
instead of after its ffmpeg YUV 4:2:0 round trip.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import types
from pathlib import Path

import torch
import torchvision


def transcribed_correlation(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    n, channels, height, width = first.shape
    rbot0 = torch.zeros(n, height + 8, width + 8, channels)
    rbot1 = torch.zeros(n, height + 8, width + 8, channels)
    rbot0[:, 4 : 4 + height, 4 : 4 + width] = first.permute(0, 2, 3, 1)
    rbot1[:, 4 : 4 + height, 4 : 4 + width] = second.permute(0, 2, 3, 1)
    top = torch.zeros(n, 81, height, width)
    for channel in range(81):
        s2o, s2p = channel % 9 - 4, channel // 9 - 4
        y1, x1 = 4, 4
        patch = rbot0[:, y1 : y1 + height, x1 : x1 + width]
        other = rbot1[:, y1 + s2p : y1 + s2p + height, x1 + s2o : x1 + s2o + width]
        top[:, channel] = (patch * other).sum(-1) / channels
    return top


def main(release: Path, commit: str, out: Path) -> None:
    from tests.helpers.flow_clips import panned
    from tests.helpers.metric_weights import save_random_alexnet_features, save_random_pwcnet

    work = Path(tempfile.mkdtemp())
    alexnet = save_random_alexnet_features(work / "alexnet-owt-7be5be79.pth")
    pwc = save_random_pwcnet(work / "network-default.pytorch")

    cupy = types.ModuleType("cupy")  # imported by correlation.py; its kernels are never compiled nor launched
    cupy.memoize = lambda **kwargs: lambda function: function
    sys.modules["cupy"] = cupy
    sys.path.insert(0, str(release))
    import correlation.correlation as corr

    corr.FunctionCorrelation = lambda tenFirst, tenSecond: transcribed_correlation(tenFirst, tenSecond)
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.hub.load_state_dict_from_url = lambda url, **kwargs: torch.load(pwc, weights_only=True)
    build_alexnet = torchvision.models.alexnet

    def random_alexnet(pretrained: bool = False, **kwargs):
        model = build_alexnet(weights=None)
        state = torch.load(alexnet, weights_only=True)  # the features (all LPIPS reads)
        model.features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()})
        return model

    torchvision.models.alexnet = random_alexnet
    import flolpips
    import pwcnet

    flolpips.pn.tv.alexnet = random_alexnet
    loss = flolpips.FloLPIPS(net="alex", version="0.1").eval()
    flow = pwcnet.Network().eval()
    cases = {
        "other_motion": (panned(0, 4, (64, 96), (2, 1)), panned(0, 4, (64, 96), (3, -1))),
        "same_motion_other_texture": (panned(1, 4, (64, 96), (1, 2)), panned(2, 4, (64, 96), (1, 2))),
    }
    values = {}
    for name, (truth, generated) in cases.items():
        ref = torch.from_numpy(truth).permute(0, 3, 1, 2).float() / 255
        dis = torch.from_numpy(generated).permute(0, 3, 1, 2).float() / 255
        with torch.no_grad():
            flow_diff = flow(ref[:-1], ref[1:]) - flow(dis[:-1], dis[1:])
            values[name] = loss.forward(ref[:-1], dis[:-1], flow_diff, normalize=True).tolist()
    record = {
        "source": "FloLPIPS authors' release, github danier97/flolpips, flolpips.py calc_flolpips per-frame step",
        "release_commit": commit,
        "made_by": "tests/data/make_flolpips_reference.py (its docstring lists what was replaced to run on CPU)",
        "torch": torch.__version__,
        "weights": {
            "alexnet": "tests/metric_weights.py save_random_alexnet_features (seed 0)",
            "pwcnet": "tests/metric_weights.py save_random_pwcnet (seed 0)",
            "sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (alexnet, pwc)},
        },
        "inputs": {
            "other_motion": "truth panned(0, 4, (64, 96), (2, 1)), generated panned(0, 4, (64, 96), (3, -1))",
            "same_motion_other_texture": "truth panned(1, 4, (64, 96), (1, 2)), generated panned(2, ...)",
        },
        "flolpips_per_step": values,
    }
    out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(__file__).with_name("flolpips_reference.json"))
