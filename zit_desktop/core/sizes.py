"""Size presets and Turbo defaults."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STEPS = 8
DEFAULT_GUIDANCE = 0.0
DEFAULT_MODEL = "Tongyi-MAI/Z-Image-Turbo"
MAX_SEQUENCE_LENGTH = 512


@dataclass(frozen=True)
class SizePreset:
    name: str
    width: int
    height: int
    label: str  # short English label; the UI translates its own

    @property
    def pixels(self) -> int:
        return self.width * self.height


PRESETS: tuple[SizePreset, ...] = (
    SizePreset("512x512", 512, 512, "512×512"),
    SizePreset("768x768", 768, 768, "768×768"),
    SizePreset("1024x1024", 1024, 1024, "1024×1024"),
    SizePreset("landscape", 1024, 576, "16:9"),
    SizePreset("portrait", 576, 1024, "9:16"),
)
PRESETS_BY_NAME: dict[str, SizePreset] = {p.name: p for p in PRESETS}
DEFAULT_PRESET = "768x768"


def get_preset(name: str) -> SizePreset:
    try:
        return PRESETS_BY_NAME[name]
    except KeyError:
        names = ", ".join(PRESETS_BY_NAME)
        raise ValueError(f"Unknown size preset {name!r}. Choose one of: {names}.") from None


def preset_for_size(width: int, height: int) -> str | None:
    """The name of the preset with exactly this size, if any."""
    for p in PRESETS:
        if (p.width, p.height) == (width, height):
            return p.name
    return None
