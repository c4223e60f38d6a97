"""Random-weight super-resolution models built from spandrel's own architecture classes and saved
in the official Real-ESRGAN release layouts, for the upscaler tests.

- ``realesr-general-x4v3.pth``: ``{"params": SRVGGNetCompact state dict}`` (keys ``body.N.*``);
- ``RealESRGAN_x4plus.pth``: ``{"params_ema": RRDBNet state dict}`` in basicsr's new-arch key names
  (``conv_first``, ``body.N.rdbK.convJ``, ``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``,
  ``conv_last``), which is what the release file holds; spandrel's class uses the old-arch names
  (``model.0``, ``model.1.sub.N.RDBK.convJ.0``, …), so they are renamed here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch


def _randomize(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


def compact_state(num_feat: int = 8, num_conv: int = 2, scale: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    from spandrel.architectures.Compact import Compact

    model = Compact(num_in_ch=3, num_out_ch=3, num_feat=num_feat, num_conv=num_conv, upscale=scale)
    _randomize(model, seed)
    return {k: v.clone() for k, v in model.state_dict().items()}


def save_compact(path: Path, **kwargs: int) -> Path:
    """The realesr-general-x4v3.pth layout: the weights under ``params``."""
    torch.save({"params": compact_state(**kwargs)}, path)
    return path


def esrgan_new_arch_state(num_filters: int = 8, num_blocks: int = 1, scale: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    from spandrel.architectures.ESRGAN import ESRGAN

    model = ESRGAN(in_nc=3, out_nc=3, num_filters=num_filters, num_blocks=num_blocks, scale=scale)
    _randomize(model, seed)
    ups = int(math.log2(scale))
    names = {0: "conv_first", **{3 * (i + 1): f"conv_up{i + 1}" for i in range(ups)}}
    names[3 * ups + 2] = "conv_hr"
    names[3 * ups + 4] = "conv_last"
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if m := re.fullmatch(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)", key):
            out[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value.clone()
        elif m := re.fullmatch(rf"model\.1\.sub\.{num_blocks}\.(weight|bias)", key):
            out[f"conv_body.{m[1]}"] = value.clone()
        elif m := re.fullmatch(r"model\.(\d+)\.(weight|bias)", key):
            out[f"{names[int(m[1])]}.{m[2]}"] = value.clone()
        else:
            raise AssertionError(f"unmapped key {key}")
    return out


def save_esrgan(path: Path, **kwargs: int) -> Path:
    """The RealESRGAN_x4plus.pth layout: new-arch names under ``params_ema``."""
    torch.save({"params_ema": esrgan_new_arch_state(**kwargs)}, path)
    return path
