"""Latent-to-RGB preview at no VRAM cost.

Z-Image uses the Flux VAE (16 latent channels). A fixed 16×3 linear projection of the latents,
published for Flux latents by several open tools, gives a recognisable colour preview at 1/8 of the
image size.
"""

from __future__ import annotations

import torch

# Rows: latent channel; columns: R, G, B contribution.
FLUX_LATENT_RGB = (
    (-0.0346, 0.0244, 0.0681),
    (0.0034, 0.0210, 0.0687),
    (0.0275, -0.0668, -0.0433),
    (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329),
    (0.0004, 0.0383, 0.0115),
    (0.0405, 0.0861, 0.0915),
    (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180),
    (0.1008, 0.0755, -0.0421),
    (-0.0515, 0.0201, 0.0011),
    (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749),
    (-0.1264, -0.0522, -0.1103),
    (-0.0280, -0.0881, -0.0499),
    (-0.1262, -0.0982, -0.0778),
)
FLUX_LATENT_RGB_BIAS = (-0.0329, -0.0718, -0.0851)

_weights: torch.Tensor | None = None
_bias: torch.Tensor | None = None


def latents_to_rgb(latents: torch.Tensor) -> tuple[int, int, bytes]:
    """(width, height, RGB888 bytes) for the first latent of a (B, 16, h, w) batch."""
    global _weights, _bias
    if _weights is None or _bias is None:
        _weights = torch.tensor(FLUX_LATENT_RGB, dtype=torch.float32)
        _bias = torch.tensor(FLUX_LATENT_RGB_BIAS, dtype=torch.float32)
    lat = latents[0].detach().to("cpu", torch.float32)  # (16, h, w)
    if lat.shape[0] != _weights.shape[0]:
        # Not a Flux-VAE latent: show the first three channels, normalised.
        lat3 = lat[:3]
        lo, hi = lat3.amin(), lat3.amax()
        rgb = (lat3 - lo) / (hi - lo + 1e-6)
        rgb = rgb.permute(1, 2, 0)
    else:
        rgb = torch.einsum("chw,cr->hwr", lat, _weights) + _bias
        rgb = (rgb + 1.0) * 0.5
    img = (rgb.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).contiguous()
    h, w = img.shape[0], img.shape[1]
    return w, h, img.numpy().tobytes()
