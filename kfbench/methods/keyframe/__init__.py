"""Diffusers pipelines that generate the frames between a first and a last keyframe (Wan FLF2V, Wan 2.2, LTX-Video,
FramePack)."""

from kfbench.methods.keyframe.framepack import FramePack
from kfbench.methods.keyframe.ltx import LTXVideo, LTXVideoDistilled
from kfbench.methods.keyframe.method import KeyframePipelineInterpolator
from kfbench.methods.keyframe.wan import Wan22FLF2V, WanFLF2V

__all__ = ["FramePack", "KeyframePipelineInterpolator", "LTXVideo", "LTXVideoDistilled", "Wan22FLF2V", "WanFLF2V"]
