"""The one table of the dtype names kfbench's options take (``--dtype bfloat16``) and the torch dtypes they mean."""

from __future__ import annotations

import torch

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
