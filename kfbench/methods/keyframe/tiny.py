"""Tiny random Wan FLF2V, Wan 2.2, LTX-Video (and its upsampler) and FramePack folders in the real diffusers layout,
built offline.

Shapes follow diffusers' own pipeline tests. The text encoders are UMT5 / T5 encoders from small
configs and the tokenizer a word-level ``tokenizers`` model wrapped in ``PreTrainedTokenizerFast``,
so nothing is downloaded. The schedulers are built as diffusers' conversion scripts build the real
ones (Wan: UniPC with flow sigmas, flow shift 16 for FLF2V and 3 for 2.2; LTX 0.9.7: FlowMatchEuler
without dynamic shifting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

TINY_WORDS = ("a", "the", "bird", "flies", "over", "sea", "cat", "walks", "camera", "pans", "slowly", "left", "right")
TINY_TEXT_DIM = 32
TINY_CLIP_SIZE = 4


def tiny_tokenizer():
    """A word-level tokenizer over a few English words (pad 0, eos 1, unk 2)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(TINY_WORDS)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def tiny_text_encoder(vocab_size: int, family: str = "umt5"):
    """A one-layer UMT5 (Wan) or T5 (LTX-Video) encoder with TINY_TEXT_DIM outputs."""
    import transformers

    prefix = "UMT5" if family == "umt5" else "T5"
    config = getattr(transformers, f"{prefix}Config")(
        vocab_size=vocab_size, d_model=TINY_TEXT_DIM, d_kv=8, d_ff=37, num_layers=1, num_heads=2,
        relative_attention_num_buckets=8, feed_forward_proj="gated-gelu", is_encoder_decoder=False,
    )  # fmt: skip
    return getattr(transformers, f"{prefix}EncoderModel")(config).eval()


def tiny_vae():
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    ).eval()


def tiny_transformer(image_dim: int | None):
    """WanTransformer3DModel with FLF2V's image branch (two images' CLIP tokens) or, for 2.2, none."""
    from diffusers import WanTransformer3DModel

    tokens = TINY_CLIP_SIZE * TINY_CLIP_SIZE + 1
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=TINY_TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=image_dim,
        pos_embed_seq_len=2 * tokens if image_dim else None,
    ).eval()  # fmt: skip


def tiny_image_encoder():
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    config = CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=TINY_CLIP_SIZE,
        intermediate_size=16, patch_size=1,
    )  # fmt: skip
    return CLIPVisionModel(config).eval(), CLIPImageProcessor(crop_size=TINY_CLIP_SIZE, size=TINY_CLIP_SIZE)


def flow_scheduler(flow_shift: float):
    """The scheduler diffusers' convert_wan_to_diffusers.py writes into the real folders."""
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=flow_shift
    )


def tiny_wan_components(*, two_experts: bool, seed: int = 0) -> dict[str, Any]:
    """Components of a tiny WanImageToVideoPipeline: Wan 2.1 FLF2V layout, or Wan 2.2 A14B's two experts."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    components: dict[str, Any] = {
        "tokenizer": tokenizer,
        "text_encoder": tiny_text_encoder(len(tokenizer)),
        "vae": tiny_vae(),
    }
    if two_experts:
        components.update(
            transformer=tiny_transformer(None), transformer_2=tiny_transformer(None), scheduler=flow_scheduler(3.0),
            image_encoder=None, image_processor=None, boundary_ratio=0.9,
        )  # fmt: skip
    else:
        encoder, processor = tiny_image_encoder()
        components.update(
            transformer=tiny_transformer(4),
            scheduler=flow_scheduler(16.0),
            image_encoder=encoder,
            image_processor=processor,
        )
    return components


def tiny_wan21_components(seed: int = 0) -> dict[str, Any]:
    return tiny_wan_components(two_experts=False, seed=seed)


def tiny_wan22_components(seed: int = 0) -> dict[str, Any]:
    return tiny_wan_components(two_experts=True, seed=seed)


def make_tiny_wan(folder: str | Path, *, two_experts: bool, seed: int = 0) -> Path:
    """Save a tiny Wan image-to-video pipeline folder (safetensors, diffusers layout) and return its path."""
    from diffusers import WanImageToVideoPipeline

    folder = Path(folder)
    WanImageToVideoPipeline(**tiny_wan_components(two_experts=two_experts, seed=seed)).save_pretrained(folder)
    return folder


def tiny_ltx_vae():
    """A tiny LTX-Video VAE: 8 latent channels, compression 4 in space and time."""
    from diffusers import AutoencoderKLLTXVideo

    return AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4,
        upsample_factor=(1,) * 4,
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    ).eval()


def tiny_ltx_components(seed: int = 0) -> dict[str, Any]:
    """Components of a tiny LTXConditionPipeline (VAE compression 4 in space and time instead of 32 and 8)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=TINY_TEXT_DIM,
    )  # fmt: skip
    return {
        "tokenizer": tokenizer,
        "text_encoder": tiny_text_encoder(len(tokenizer), family="t5"),
        "transformer": transformer.eval(),
        "vae": tiny_ltx_vae(),
        "scheduler": FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False),
    }


def make_tiny_ltx(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny LTXConditionPipeline folder (safetensors, diffusers layout) and return its path."""
    from diffusers import LTXConditionPipeline

    folder = Path(folder)
    LTXConditionPipeline(**tiny_ltx_components(seed)).save_pretrained(folder)
    return folder


def make_tiny_ltx_upsampler(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny LTXLatentUpsamplePipeline folder (Lightricks/ltxv-spatial-upscaler-0.9.7's layout) and return its
    path."""
    from diffusers import LTXLatentUpsamplePipeline
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    torch.manual_seed(seed)
    upsampler = LTXLatentUpsamplerModel(
        in_channels=8, mid_channels=32, num_blocks_per_stage=1, dims=3, spatial_upsample=True
    )
    folder = Path(folder)
    LTXLatentUpsamplePipeline(vae=tiny_ltx_vae(), latent_upsampler=upsampler.eval()).save_pretrained(folder)
    return folder


def tiny_framepack_components(seed: int = 0) -> dict[str, Any]:
    """Components of a tiny HunyuanVideoFramepackPipeline (shapes of diffusers' FramePack tests)."""
    from diffusers import (
        AutoencoderKLHunyuanVideo,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoFramepackTransformer3DModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        LlamaConfig,
        LlamaModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    torch.manual_seed(seed)
    tokenizer, tokenizer_2 = tiny_tokenizer(), tiny_tokenizer()
    transformer = HunyuanVideoFramepackTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1, num_single_layers=1,
        num_refiner_layers=1, patch_size=2, patch_size_t=1, guidance_embeds=True, text_embed_dim=16,
        pooled_projection_dim=8, rope_axes_dim=(2, 4, 4), image_condition_type=None, has_image_proj=True,
        image_proj_dim=32, has_clean_x_embedder=True,
    )  # fmt: skip
    vae = AutoencoderKLHunyuanVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        act_fn="silu",
        norm_num_groups=4,
        scaling_factor=0.476986,
        spatial_compression_ratio=8,
        temporal_compression_ratio=4,
        mid_block_add_attention=True,
    )
    text = {"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "intermediate_size": 37, "num_attention_heads": 4,
            "num_hidden_layers": 2, "hidden_act": "gelu"}  # fmt: skip
    return {
        "transformer": transformer.eval(),
        "vae": vae.eval(),
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
        "text_encoder": LlamaModel(LlamaConfig(hidden_size=16, vocab_size=len(tokenizer), **text)).eval(),
        "text_encoder_2": CLIPTextModel(
            CLIPTextConfig(
                hidden_size=8, vocab_size=len(tokenizer_2), projection_dim=32, max_position_embeddings=77, **text
            )
        ).eval(),  # fmt: skip
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "image_encoder": SiglipVisionModel(
            SiglipVisionConfig(
                hidden_size=32,
                intermediate_size=37,
                num_attention_heads=4,
                num_hidden_layers=2,
                image_size=30,
                patch_size=6,
            )
        ).eval(),  # fmt: skip
        "feature_extractor": SiglipImageProcessor(size={"height": 30, "width": 30}),
    }


def make_tiny_framepack(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny HunyuanVideoFramepackPipeline folder (safetensors, diffusers layout) and return its path."""
    from diffusers import HunyuanVideoFramepackPipeline

    folder = Path(folder)
    HunyuanVideoFramepackPipeline(**tiny_framepack_components(seed)).save_pretrained(folder)
    return folder


def make_tiny_keyframe_models(folder: Path) -> dict[str, Path]:
    """The tiny folders the keyframe methods load: wan-flf2v, wan22-flf2v, ltx-video (both LTX presets), ltx-upsampler
    and framepack."""
    folder = Path(folder)
    return {
        "wan-flf2v": make_tiny_wan(folder / "wan-flf2v", two_experts=False),
        "wan22-flf2v": make_tiny_wan(folder / "wan22-flf2v", two_experts=True, seed=1),
        "ltx-video": make_tiny_ltx(folder / "ltx-video", seed=2),
        "ltx-upsampler": make_tiny_ltx_upsampler(folder / "ltx-upsampler", seed=4),
        "framepack": make_tiny_framepack(folder / "framepack", seed=3),
    }
