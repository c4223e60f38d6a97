from __future__ import annotations

import json

import pytest

from zit_desktop.core.request import (
    MAX_SEED,
    GenerationRequest,
    RequestError,
    nearest_valid_side,
    prompt_token_warning,
    validate,
)
from zit_desktop.core.sizes import DEFAULT_PRESET, PRESETS, get_preset, preset_for_size


def test_turbo_defaults_and_presets() -> None:
    req = GenerationRequest(prompt="cat")
    assert (req.steps, req.guidance, req.width, req.height, req.preset) == (8, 0.0, 768, 768, "768x768")
    assert DEFAULT_PRESET == "768x768"
    sizes = {p.name: (p.width, p.height) for p in PRESETS}
    assert sizes == {
        "512x512": (512, 512),
        "768x768": (768, 768),
        "1024x1024": (1024, 1024),
        "landscape": (1024, 576),
        "portrait": (576, 1024),
    }
    assert preset_for_size(1024, 576) == "landscape"
    assert preset_for_size(800, 608) is None
    with pytest.raises(ValueError, match="Choose one of"):
        get_preset("huge")


def test_json_round_trip_keeps_chinese_and_is_frozen() -> None:
    req = GenerationRequest(prompt="一只橘色的猫", negative_prompt="模糊", seed=7, count=3).with_preset("portrait")
    text = req.to_json()
    assert "一只橘色的猫" in text
    back = GenerationRequest.from_json(text)
    assert back == req
    assert json.loads(text)["preset"] == "portrait"
    with pytest.raises(AttributeError):
        req.seed = 3  # type: ignore[misc]


def test_random_seed_is_resolved_and_batch_seeds_follow() -> None:
    req = GenerationRequest(prompt="cat", seed=-1, count=3)
    resolved = req.resolved()
    assert 0 <= resolved.seed <= MAX_SEED
    assert resolved.seeds() == [resolved.seed, resolved.seed + 1, resolved.seed + 2]
    assert resolved.single(2).seed == resolved.seed + 2 and resolved.single(2).count == 1
    assert GenerationRequest(prompt="c", seed=MAX_SEED, count=2).seeds() == [MAX_SEED, 0]
    with pytest.raises(RequestError):
        req.seeds()


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"prompt": "   "}, "prompt", "prompt is empty"),
        ({"width": 770, "preset": None}, "width", "Try 768"),
        ({"height": 100, "preset": None}, "height", "Try 256"),
        ({"width": 4096, "preset": None}, "width", "Try 2048"),
        ({"steps": 0}, "steps", "between 1 and 100"),
        ({"steps": 101}, "steps", "between 1 and 100"),
        ({"guidance": -1.0}, "guidance", "between 0 and 20"),
        ({"guidance": 21.0}, "guidance", "between 0 and 20"),
        ({"seed": -2}, "seed", "-1 (random)"),
        ({"seed": 2**32}, "seed", "-1 (random)"),
        ({"count": 0}, "count", "between 1 and 16"),
        ({"count": 17}, "count", "between 1 and 16"),
        ({"width": 1024, "preset": "768x768"}, "preset", "does not match"),
        ({"preset": "giant"}, "preset", "Unknown size preset"),
        ({"model": ""}, "model", "No model"),
    ],
)
def test_bad_input_gets_a_clear_message(changes: dict[str, object], field: str, fragment: str) -> None:
    req = GenerationRequest(prompt="cat")
    data = req.to_dict() | changes
    with pytest.raises(RequestError) as err:
        validate(GenerationRequest.from_dict(data))
    assert err.value.field_name == field
    assert fragment in str(err.value)


def test_warnings() -> None:
    assert validate(GenerationRequest(prompt="cat")) == []
    (warning,) = validate(GenerationRequest(prompt="cat", negative_prompt="dog"))
    assert "no effect" in warning
    assert validate(GenerationRequest(prompt="cat", negative_prompt="dog", guidance=2.0)) == []
    assert prompt_token_warning(600, 512) is not None and "512" in str(prompt_token_warning(600, 512))
    assert prompt_token_warning(100, 512) is None


def test_nearest_valid_side() -> None:
    assert [nearest_valid_side(v) for v in (770, 775, 10, 5000, 1000)] == [768, 768, 256, 2048, 992]
