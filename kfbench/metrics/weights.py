"""Where feature-extractor weights come from: an explicit file, or the torch hub cache. Never a download."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from kfbench.errors import KfbenchError


@dataclass(frozen=True)
class WeightsFile:
    """A weights file a metric needs: what it is, its usual file names and where to get it."""

    what: str
    flag: str
    names: tuple[str, ...]
    source: str

    def resolve(self, explicit: str | None) -> Path | str:
        """The file to load, or the reason it is missing (a str). A given path must exist."""
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                problem = "is a folder, not a file" if path.is_dir() else "does not exist"
                raise KfbenchError(
                    f"{self.what} file '{path}' given with {self.flag} {problem}; it is {self.source}; "
                    f"pass an existing file with {self.flag}"
                )
            return path
        cache = hub_checkpoints()
        for name in self.names:
            if (cache / name).is_file():
                return cache / name
        return (
            f"no {self.what}: {self.flag} not given and {' / '.join(self.names)} not in the torch hub cache "
            f"({cache}); get {self.source} and pass it with {self.flag}"
        )


def hub_checkpoints() -> Path:
    """The folder torch.hub (and so torchmetrics/torchvision) caches downloaded weights in."""
    return Path(torch.hub.get_dir()) / "checkpoints"


INCEPTION = WeightsFile(
    "InceptionV3 FID weights",
    "--inception-weights",
    ("weights-inception-2015-12-05-6726825d.pth",),
    "torch-fidelity's port of TF pt_inception-2015-12-05 (weights-inception-2015-12-05-6726825d.pth, "
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/)",
)
I3D = WeightsFile(
    "Kinetics-400 I3D weights",
    "--i3d-weights",
    ("i3d_torchscript.pt", "i3d_pretrained_400.pt"),
    "StyleGAN-V's TorchScript detector i3d_torchscript.pt or the InceptionI3d state_dict i3d_pretrained_400.pt "
    "(converted from TF-hub i3d-kinetics-400/1)",
)
LPIPS_BACKBONE = WeightsFile(
    "LPIPS AlexNet backbone weights",
    "--lpips-weights",
    ("alexnet-owt-7be5be79.pth",),
    "torchvision's ImageNet AlexNet (alexnet-owt-7be5be79.pth, https://download.pytorch.org/models/)",
)
VIDEOMAE = WeightsFile(
    "VideoMAE-v2 ViT-g weights",
    "--videomae-weights",
    ("vit_g_hybrid_pt_1200e_ssv2_ft.pth",),
    "the VideoMAE-v2 release's ViT-g fine-tuned on SSv2, the checkpoint cd-fvd uses "
    "(vit_g_hybrid_pt_1200e_ssv2_ft.pth, "
    "https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo/videomaev2/)",
)
VJEPA_ENCODER = WeightsFile(
    "V-JEPA ViT-H/16 encoder weights",
    "--vjepa-weights",
    ("vith16.pth.tar",),
    "Meta's V-JEPA release (vith16.pth.tar, https://dl.fbaipublicfiles.com/jepa/vith16/), the encoder videojedi uses",
)
VJEPA_PROBE = WeightsFile(
    "V-JEPA SSv2 attentive-probe weights",
    "--vjepa-probe-weights",
    ("ssv2-probe.pth.tar",),
    "Meta's V-JEPA release (ssv2-probe.pth.tar, https://dl.fbaipublicfiles.com/jepa/vith16/), the pooler videojedi "
    "uses",
)
