"""Build a tiny Z-Image pipeline with random weights, fully offline.

Every class is the real one users load (``ZImagePipeline`` with a ``Qwen3Model`` text encoder, a
``ZImageTransformer2DModel``, a 16-channel ``AutoencoderKL`` and a byte-level BPE tokenizer with a
chat template), only far smaller, so tests and the ``--tiny`` benchmarks exercise the exact loading
and generation code of the app. The pictures it makes are noise: it is a test model, and says so in
its files.
"""

from __future__ import annotations

import json
from pathlib import Path

TEST_MODEL_MARKER = "ZIT_DESKTOP_TEST_MODEL.txt"


def is_test_model(model_dir: str | Path | None) -> bool:
    """True for a folder :func:`make_tiny_model` (or a tiny variant) wrote: it carries the marker file.
    Its measured peaks say nothing about a real model, so the engine does not learn from them."""
    return model_dir is not None and (Path(model_dir) / TEST_MODEL_MARKER).is_file()

_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}"
    "{% endif %}"
)

_CORPUS = [
    "a photo of a cat sitting on a red chair, highly detailed, soft light",
    "一只橘色的猫坐在红色的椅子上，高清，柔和的光线",
    "a mountain landscape at sunset, cinematic, 4k, wide angle",
    "山间日落的风景，电影感，广角",
    "portrait of an astronaut, studio lighting, sharp focus",
    "宇航员的肖像，摄影棚灯光，清晰对焦",
]
_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def _build_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=1024,
    )
    fast.chat_template = _CHAT_TEMPLATE
    return fast


def build_tiny_pipeline(seed: int = 0):  # type: ignore[no-untyped-def]
    """Return an in-memory tiny ``ZImagePipeline`` (float32, random weights, deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImagePipeline,
        ZImageTransformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3Model

    torch.manual_seed(seed)
    tokenizer = _build_tokenizer()
    text_encoder = Qwen3Model(
        Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            max_position_embeddings=1024,
            rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
            tie_word_embeddings=True,
        )
    )
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=64,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=32,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 12, 12],
        axes_lens=[1536, 512, 512],
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=4,
        sample_size=1024,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
        mid_block_add_attention=True,
        force_upcast=True,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    text_encoder.eval()
    transformer.eval()  # type: ignore[attr-defined]  # ModelMixin is an nn.Module at run time
    vae.eval()  # type: ignore[attr-defined]
    return ZImagePipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


def make_tiny_model(directory: str | Path, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it as a diffusers folder; returns the folder."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    pipe = build_tiny_pipeline(seed)
    pipe.save_pretrained(out, safe_serialization=True)
    index_path = out / "model_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["_zit_desktop_test_model"] = "random weights: a tiny offline test model, its images are noise"
    index_path.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / TEST_MODEL_MARKER).write_text(
        "This is a tiny Z-Image pipeline with RANDOM weights, built offline by\n"
        "`zit-desktop make-tiny-model` for tests and benchmarks. Its images are noise.\n"
        "For real images install Tongyi-MAI/Z-Image-Turbo.\n",
        encoding="utf-8",
    )
    return out
