"""The packaged variant catalogue: every variant, complete entries, consistent sizes."""

from __future__ import annotations

import pytest

from zit_desktop.core.models.catalogue import (
    COMPONENTS,
    SourceRole,
    VariantId,
    VariantKind,
    catalogue,
    variant,
)


def test_every_variant_is_listed_once_best_quality_first() -> None:
    ids = [v.id for v in catalogue()]
    assert ids == list(VariantId)
    assert ids[0] == VariantId.BF16


@pytest.mark.parametrize("v", catalogue(), ids=lambda v: str(v.id))
def test_entries_are_complete(v) -> None:  # type: ignore[no-untyped-def]
    assert set(v.weights) == set(COMPONENTS) and all(b > 0 for b in v.weights.values())
    assert v.download_bytes > 0 and v.quality and v.quality_source.startswith("https://")
    assert v.licence and v.licence_url.startswith("https://")
    assert all(s.allow_patterns and "/" in s.repo for s in v.sources)
    if v.kind == VariantKind.GGUF:
        assert {s.role for s in v.sources} == {SourceRole.TRANSFORMER, SourceRole.PIPELINE_WITHOUT_TRANSFORMER}
        assert "gguf" in v.requires
    else:
        assert [s.role for s in v.sources] == [SourceRole.PIPELINE]
    if v.quantized:
        assert v.weights_bytes < variant(VariantId.BF16).weights_bytes


def test_quantized_variants_are_smaller_and_bf16_is_the_published_size() -> None:
    from zit_desktop.core.memory.profile import published_profile

    p = published_profile()
    bf16 = variant("bf16")
    assert bf16.weights == {"transformer": p.transformer.bytes, "text_encoder": p.text_encoder.bytes,
                            "vae": p.vae.bytes}
    sizes = [variant(i).download_bytes for i in ("bf16", "sdnq-int8", "sdnq-uint4")]
    assert sizes == sorted(sizes, reverse=True)
    assert variant("gguf-q4").weights["transformer"] < variant("gguf-q8").weights["transformer"]


def test_an_unknown_variant_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sdnq-uint4"):
        variant("fp4")
