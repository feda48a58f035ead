"""Diffusers pipelines that generate the frames between a first and a last keyframe.

Wan FLF2V, Wan 2.2, LTX-Video, FramePack, LTX-2, SkyReels-V2 (FLF2V and diffusion forcing), Wan VACE (2.1, and
Wan 2.2 VACE-Fun).
"""

from kfbench.methods.keyframe.framepack import FramePack
from kfbench.methods.keyframe.ltx import LTXVideo, LTXVideoDistilled
from kfbench.methods.keyframe.ltx2 import LTX2
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.methods.keyframe.skyreels import SkyReelsV2DF, SkyReelsV2FLF2V
from kfbench.methods.keyframe.vace import Wan22VACE, WanVACE
from kfbench.methods.keyframe.wan import Wan22FLF2V, WanFLF2V

__all__ = [
    "LTX2", "FramePack", "KeyframePipelineInterpolator", "LTXVideo", "LTXVideoDistilled", "SkyReelsV2DF",
    "SkyReelsV2FLF2V", "Wan22FLF2V", "Wan22VACE", "WanFLF2V", "WanVACE",
]  # fmt: skip
