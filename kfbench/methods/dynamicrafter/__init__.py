"""DynamiCrafter interpolation (Xing et al.): networks that load the released checkpoint strictly."""

from kfbench.methods.dynamicrafter.method import DynamiCrafterInterpolator
from kfbench.methods.dynamicrafter.unet import build_unet

__all__ = ["DynamiCrafterInterpolator", "build_unet"]
