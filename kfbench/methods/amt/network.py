"""AMT (Li et al. 2023, "All-Pairs Multi-Field Transforms for Efficient Frame Interpolation"): AMT-S, -L, -G.

The networks of the release (MCG-NKU/AMT ``networks/AMT-{S,L,G}.py`` with ``cfgs/AMT-*.yaml``) in one
configurable module: frames centred on their joint mean; all-pairs correlation of 1/8 features; an IFRNet
pyramid decoded coarse to fine (1/16 -> 1/2) into flows from the frame at t to both frames, each level
refined by correlation lookups along the flows scaled to t = 0 and 1 (linear motion); the last level
predicts ``num_flows`` flow pairs, masks and residuals, combined into the frame. AMT-G refines the 1/8
and 1/4 levels a second time at full level resolution (``update3_high``, ``update2_high``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from kfbench.methods.amt.blocks import (
    BidirCorrelation,
    Decoder,
    FeatureEncoder,
    Pyramid,
    UpdateBlock,
    coords_grid,
    resize,
    warp,
)

CORR_RADIUS, CORR_LEVELS = 3, 4  # every released config
CORR_PLANES = CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2


@dataclass(frozen=True)
class AmtConfig:
    """One released AMT network: feature encoder, pyramid widths, update blocks, flows and the combine kernel."""

    name: str
    encoder_stem: int
    encoder_stages: tuple[tuple[str, int, int], ...]
    encoder_output: int
    bottleneck: bool  # SmallEncoder's bottleneck blocks (AMT-S) or residual blocks
    channels: tuple[int, int, int, int]  # pyramid widths at 1/2 .. 1/16
    skip: int  # ResBlock side channels
    num_flows: int
    large_pyramid: bool  # 7x7 first pyramid convolution
    update: tuple[int, int, int, int, int | None]  # hidden, flow_dim, corr_dim, fc_dim, corr_dim2 (None: small)
    comb_kernel: int
    high_res_updates: bool  # AMT-G's second update at the 1/8 and 1/4 levels


VARIANTS: dict[str, AmtConfig] = {
    "AMT-S": AmtConfig(
        "AMT-S", 32, (("layer1", 32, 1), ("layer2", 64, 2), ("layer3", 96, 2)), 84, True,
        (20, 32, 44, 56), 20, 3, False, (76, 20, 64, 68, None), 3, False,
    ),
    "AMT-L": AmtConfig(
        "AMT-L", 64, (("layer1", 64, 1), ("layer2", 72, 2), ("layer3", 128, 2)), 128, False,
        (48, 64, 72, 128), 48, 5, True, (128, 48, 256, 124, 160), 7, False,
    ),
    "AMT-G": AmtConfig(
        "AMT-G", 64, (("layer1", 64, 1), ("layer2", 112, 2), ("layer3", 160, 2), ("layer3_2", 160, 1)), 128, False,
        (84, 96, 112, 128), 84, 5, True, (192, 64, 256, 188, 192), 7, True,
    ),
}  # fmt: skip


class AMT(nn.Module):
    """The frame at t between two frames (B x 3 x H x W in [0, 1], H and W multiples of 16 / scale_factor)."""

    def __init__(self, config: AmtConfig = VARIANTS["AMT-S"]) -> None:
        super().__init__()
        self.config = config
        c, n, skip = config.channels, config.num_flows, config.skip
        self.feat_encoder = FeatureEncoder(
            config.encoder_stem, config.encoder_stages, config.encoder_output, config.bottleneck
        )
        self.encoder = Pyramid(c, config.large_pyramid)
        self.decoder4 = Decoder(2 * c[3], 2 * c[3] + 1, c[2] + 4, skip)
        self.decoder3 = Decoder(3 * c[2], 3 * c[2] + 4, c[1] + 4, skip)
        self.decoder2 = Decoder(3 * c[1], 3 * c[1] + 4, c[0] + 4, skip)
        self.decoder1 = Decoder(3 * c[0], 3 * c[0] + 4, 8 * n, skip)
        low = "_low" if config.high_res_updates else ""
        self.update4 = self.update_block(c[2], None)
        self.add_module(f"update3{low}", self.update_block(c[1], 2.0))
        self.add_module(f"update2{low}", self.update_block(c[0], 4.0))
        if config.high_res_updates:
            self.update3_high = self.update_block(c[1], None)
            self.update2_high = self.update_block(c[0], None)
        k = config.comb_kernel
        self.comb_block = nn.Sequential(
            nn.Conv2d(3 * n, 6 * n, k, 1, k // 2), nn.PReLU(6 * n), nn.Conv2d(6 * n, 3, k, 1, k // 2)
        )

    def update_block(self, cdim: int, scale: float | None) -> UpdateBlock:
        hidden, flow_dim, corr_dim, fc_dim, corr_dim2 = self.config.update
        return UpdateBlock(cdim, hidden, flow_dim, corr_dim, fc_dim, CORR_PLANES, corr_dim2, scale)

    def forward(
        self, img0: torch.Tensor, img1: torch.Tensor, embt: torch.Tensor, scale_factor: float = 1.0
    ) -> torch.Tensor:
        """``embt``: B x 1 x 1 x 1 times; ``scale_factor``: the release's inference scale (flows at that resolution)."""
        mean = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean, img1 - mean
        small0 = resize(img0, scale_factor) if scale_factor != 1.0 else img0
        small1 = resize(img1, scale_factor) if scale_factor != 1.0 else img1
        batch, _, height, width = small0.shape
        coord = coords_grid(batch, height // 8, width // 8, img0.device)
        fmap0, fmap1 = torch.split(self.feat_encoder(torch.cat([small0, small1], 0)), [batch, batch], dim=0)
        corr_fn = BidirCorrelation(fmap0, fmap1, CORR_LEVELS, CORR_RADIUS)
        f0 = self.encoder(small0)  # 1/2, 1/4, 1/8, 1/16
        f1 = self.encoder(small1)

        out = self.decoder4.first(f0[3], f1[3], embt)
        flow0, flow1, ft = out[:, :2], out[:, 2:4], out[:, 4:]
        flow0, flow1, ft, _ = self.lookup_update(self.update4, corr_fn, coord, flow0, flow1, ft, embt, 1)
        for decoder, level, downsample in ((self.decoder3, 3, 2), (self.decoder2, 2, 4)):
            out = decoder.refine(ft, f0[level - 1], f1[level - 1], flow0, flow1)
            flow0 = out[:, :2] + 2.0 * resize(flow0, 2.0)
            flow1 = out[:, 2:4] + 2.0 * resize(flow1, 2.0)
            ft = out[:, 4:]
            update = getattr(self, f"update{level}_low" if self.config.high_res_updates else f"update{level}")
            flow0, flow1, ft, corr = self.lookup_update(update, corr_fn, coord, flow0, flow1, ft, embt, downsample)
            if self.config.high_res_updates:
                delta_ft, delta = getattr(self, f"update{level}_high")(
                    ft, torch.cat([flow0, flow1], 1), resize(corr, downsample)
                )
                ft, flow0, flow1 = ft + delta_ft, flow0 + delta[:, 0:2], flow1 + delta[:, 2:4]

        n = self.config.num_flows
        out = self.decoder1.refine(ft, f0[0], f1[0], flow0, flow1)
        delta0, delta1, mask, residual = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = delta0 + 2.0 * resize(flow0, 2.0).repeat(1, n, 1, 1)
        flow1 = delta1 + 2.0 * resize(flow1, 2.0).repeat(1, n, 1, 1)
        mask = torch.sigmoid(mask)
        if scale_factor != 1.0:
            flow0 = resize(flow0, 1.0 / scale_factor) * (1.0 / scale_factor)
            flow1 = resize(flow1, 1.0 / scale_factor) * (1.0 / scale_factor)
            mask = resize(mask, 1.0 / scale_factor)
            residual = resize(residual, 1.0 / scale_factor)
        return torch.clamp(self.combine(img0, img1, flow0, flow1, mask, residual, mean), 0, 1)

    @staticmethod
    def lookup_update(
        update: UpdateBlock, corr_fn: BidirCorrelation, coord: torch.Tensor, flow0: torch.Tensor, flow1: torch.Tensor,
        ft: torch.Tensor, embt: torch.Tensor, downsample: int,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """Correlation looked up along the flows scaled to t = 0 and t = 1 (at 1/8), then the update block's residuals.

        Returns both flows and the feature updated, and the correlation looked up.
        """
        small0, small1 = flow0, flow1
        if downsample != 1:
            inv = 1 / downsample
            small0, small1 = inv * resize(flow0, inv), inv * resize(flow1, inv)
        corr0, corr1 = corr_fn(coord + small1 * (1.0 / embt), coord + small0 * (1.0 / (1.0 - embt)))
        corr = torch.cat([corr0, corr1], dim=1)
        delta_ft, delta = update(ft, torch.cat([small0, small1], dim=1), corr)
        delta0, delta1 = torch.chunk(delta, 2, 1)
        return flow0 + delta0, flow1 + delta1, ft + delta_ft, corr

    def combine(
        self, img0: torch.Tensor, img1: torch.Tensor, flow0: torch.Tensor, flow1: torch.Tensor, mask: torch.Tensor,
        residual: torch.Tensor, mean: torch.Tensor,
    ) -> torch.Tensor:  # fmt: skip
        """Warp both frames by each flow pair, blend by its mask, add its residual; average, refine the candidates."""
        batch, channels, height, width = flow0.shape
        n = channels // 2
        flows0, flows1 = flow0.reshape(-1, 2, height, width), flow1.reshape(-1, 2, height, width)
        masks, residuals = mask.reshape(-1, 1, height, width), residual.reshape(-1, 3, height, width)
        frames0 = torch.stack([img0] * n, 1).reshape(-1, 3, height, width)
        frames1 = torch.stack([img1] * n, 1).reshape(-1, 3, height, width)
        means = torch.stack([mean] * n, 1).reshape(-1, 1, 1, 1)
        candidates = masks * warp(frames0, flows0) + (1 - masks) * warp(frames1, flows1) + means + residuals
        candidates = candidates.reshape(batch, n, 3, height, width)
        return candidates.mean(1) + self.comb_block(candidates.view(batch, -1, height, width))


def build(variant: str) -> AMT:
    """The AMT ``variant`` (random initial weights)."""
    return AMT(VARIANTS[variant])
