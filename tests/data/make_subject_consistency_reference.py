"""How tests/data/subject_consistency_reference.json was made: vbench 0.1.5's ``subject_consistency`` with the model
that its torch hub call builds, DINO's own ``vision_transformer.VisionTransformer`` (github facebookresearch/dino),
at 64 channels and 2 blocks with random weights (the hub's ``dino_vitb16`` is the same class at 768 and 12).

Usage: python tests/data/make_subject_consistency_reference.py DINO_DIR COMMIT  (DINO_DIR: a checkout of
facebookresearch/dino at COMMIT; run from the repository root with it on PYTHONPATH). DINO's code is
imported from DINO_DIR, nothing of it is copied; the videos and weights are the test's (tests/vbench_reference.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch


def main(dino: Path, commit: str, out: Path) -> None:
    from tests.helpers.vbench_reference import DINO_TINY, import_vbench, read_video, save_random_dino, subject_videos

    vbench = import_vbench("subject_consistency")
    sys.path.insert(0, str(dino))
    import vision_transformer

    work = Path(tempfile.mkdtemp())
    weights = save_random_dino(work / "dino_vitbase16_pretrain.pth")
    model = vision_transformer.VisionTransformer(
        **DINO_TINY,
        num_classes=0,
        mlp_ratio=4,
        qkv_bias=True,
        norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6),
    )
    model.load_state_dict(torch.load(weights, weights_only=True))  # as dino_vitb16(pretrained=True) does
    videos = subject_videos(work)
    total, per_video = vbench.subject_consistency(model.eval(), [str(v) for v in videos], "cpu", False)
    record = {
        "source": "vbench 0.1.5 subject_consistency(read_frame=False) with DINO's VisionTransformer (torch hub code)",
        "dino_commit": commit,
        "made_by": "tests/data/make_subject_consistency_reference.py",
        "torch": torch.__version__,
        "model": {**DINO_TINY, "qkv_bias": True, "layer_norm_eps": 1e-6},
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "videos": {v.name: hashlib.sha256(read_video(v).tobytes()).hexdigest() for v in videos},
        "per_video": [r["video_results"] for r in per_video],
        "subject_consistency": total,
    }
    out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(__file__).with_name("subject_consistency_reference.json"))
