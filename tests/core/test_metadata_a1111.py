"""The A1111/Forge ``parameters`` text: layout, quoting, round trip through the parser. No Qt, no torch."""

from __future__ import annotations

from typing import Any

from zit_desktop.core.metadata.a1111 import (
    a1111_parameters,
    model_display_name,
    params_from_a1111,
    parse_a1111_parameters,
)
from zit_desktop.core.request import GenerationRequest

CAT = "一只橘色的猫, sitting on a windowsill: golden hour"


def _request(**kw: Any) -> GenerationRequest:
    base: dict[str, Any] = dict(prompt=CAT, negative_prompt="负面提示", seed=7, width=768, height=768)
    base.update(kw)
    return GenerationRequest(**base)


def test_a1111_text_layout() -> None:
    text = a1111_parameters(_request(prompt="a cat", negative_prompt="blurry"))
    lines = text.split("\n")
    assert lines[0] == "a cat"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith(
        "Steps: 8, Sampler: Euler, Schedule type: Simple, CFG scale: 0, Seed: 7, Size: 768x768, "
        "Model: Z-Image-Turbo"
    )


def test_a1111_text_omits_empty_negative_and_appends_extra() -> None:
    req = _request(prompt="a cat", negative_prompt="  ", width=1024, height=576, guidance=3.5)
    text = a1111_parameters(req, {"Strategy": "group-offload", "Skipped": None, "OOM: retries": 1})
    assert "Negative prompt" not in text
    prompt, negative, settings = parse_a1111_parameters(text) or ("", "", {})
    assert (prompt, negative) == ("a cat", "")
    assert settings["Size"] == "1024x576"
    assert settings["CFG scale"] == "3.5"
    assert settings["Strategy"] == "group-offload"
    assert settings["OOM retries"] == "1"
    assert "Skipped" not in settings


def test_a1111_model_name_from_path_or_repo() -> None:
    assert model_display_name("Tongyi-MAI/Z-Image-Turbo") == "Z-Image-Turbo"
    assert model_display_name("C:\\models\\zit-bf16\\") == "zit-bf16"
    assert model_display_name("/home/u/models/tiny") == "tiny"


def test_a1111_values_with_commas_are_quoted_and_round_trip() -> None:
    req = _request(prompt="line one\nline two, with: colon", negative_prompt="bad, ugly\nworse")
    text = a1111_parameters(req, {"Strategy": 'offload, "leaf" level: 2'})
    prompt, negative, settings = parse_a1111_parameters(text) or ("", "", {})
    assert prompt == "line one\nline two, with: colon"
    assert negative == "bad, ugly\nworse"
    assert settings["Strategy"] == 'offload, "leaf" level: 2'
    assert settings["Seed"] == "7"


def test_params_from_our_text_give_back_the_request_fields() -> None:
    req = _request(width=1024, height=576, guidance=1.5, model="/models/zit-bf16")
    params = params_from_a1111(a1111_parameters(req, {"Strategy": "full-gpu"}))
    assert params is not None and params.source == "a1111"
    assert (params.prompt, params.negative_prompt, params.seed) == (CAT, "负面提示", 7)
    assert (params.width, params.height, params.steps, params.guidance) == (1024, 576, 8, 1.5)
    assert params.model == "zit-bf16"
    assert (params.request, params.raw, params.file) == (None, {}, "")  # the reader adds those


def test_params_from_a1111_source_unreadable_values_and_empty_text() -> None:
    fooocus = params_from_a1111("a cat\nSteps: 30, Sampler: DPM++ 2M, Seed: 9, Version: Fooocus v2.5.5")
    assert fooocus is not None and fooocus.source == "fooocus" and fooocus.seed == 9
    junk = params_from_a1111("a cat\nSteps: x, Seed: 7.5, Size: zebra, CFG scale: inf")
    assert junk is not None and junk.prompt == "a cat"
    assert (junk.steps, junk.seed, junk.width, junk.height, junk.guidance) == (None, None, None, None, None)
    only_prompt = params_from_a1111("just a prompt")
    assert only_prompt is not None and (only_prompt.prompt, only_prompt.steps) == ("just a prompt", None)
    assert params_from_a1111("") is None and params_from_a1111(" \n\r\n ") is None
