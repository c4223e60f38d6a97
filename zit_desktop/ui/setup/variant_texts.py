"""The catalogue's labels and quality notes (``resources/variants.json``) as translatable strings.

The catalogue is core data, in English; the window shows it through ``QCoreApplication.translate(
"Variants", text)``. These markers let lupdate find the texts; a test checks they match the catalogue.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

VARIANT_TEXTS = (
    QT_TRANSLATE_NOOP("Variants", "Original (bf16)"),
    QT_TRANSLATE_NOOP("Variants", "The reference: the weights as Tongyi-MAI published them."),
    QT_TRANSLATE_NOOP("Variants", "SDNQ 8-bit"),
    QT_TRANSLATE_NOOP("Variants", "Close to the original: 8-bit weights, quantized per layer without group sizes."),
    QT_TRANSLATE_NOOP("Variants", "SDNQ 4-bit (SVD r32)"),
    QT_TRANSLATE_NOOP(
        "Variants",
        "A little less fine detail than the original: 4-bit weights with a rank-32 SVD correction; the text "
        "encoder is 4-bit too.",
    ),
    QT_TRANSLATE_NOOP("Variants", "GGUF Q8_0 + SDNQ 4-bit text encoder"),
    QT_TRANSLATE_NOOP(
        "Variants", "Transformer close to the original (8-bit GGUF); text encoder from the SDNQ 4-bit pipeline."
    ),
    QT_TRANSLATE_NOOP("Variants", "GGUF Q4_K_M + SDNQ 4-bit text encoder"),
    QT_TRANSLATE_NOOP(
        "Variants",
        "Some loss of fine detail (4-bit K-quant transformer); the usual community choice for 8 GB cards.",
    ),
)


def variant_text(text: str) -> str:
    """A catalogue label or quality note in the window's language."""
    return QCoreApplication.translate("Variants", text)
