"""The planner: model sizes from configs / weight headers, rung choices on fake devices, monotonicity,
forced rungs, OOM ladder, learning from measured peaks, presets."""

from __future__ import annotations

import json
import random
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from zit_desktop.core.memory.fits import preset_fit, preset_fits, recommend_preset
from zit_desktop.core.memory.peak_log import PeakLog, model_key, peak_log_path
from zit_desktop.core.memory.peak_model import Calibration, PlanOptions, calibration_path, predict_peak
from zit_desktop.core.memory.plan import options_from_settings, plan
from zit_desktop.core.memory.profile import (
    ProfileError,
    packaged_configs,
    profile_from_configs,
    profile_from_model_dir,
)
from zit_desktop.core.memory.rungs import LADDER, RUNG_DESCRIPTIONS
from zit_desktop.core.memory.vram import GIB, DeviceInfo, simulated_cuda_device
from zit_desktop.core.settings import Settings
from zit_desktop.core.sizes import PRESETS, PRESETS_BY_NAME

CONFIGS = packaged_configs()  # the copy inside the package, as an installed wheel has it
PROFILE = profile_from_configs(CONFIGS)
CPU = DeviceInfo(
    kind="cpu",
    name="CPU",
    system_ram_bytes=32 * GIB,
    system_ram_available_bytes=24 * GIB,
    reason="no NVIDIA GPU",
)


def gpu(total_gib: float, bf16: bool = True, ram_gib: float = 64) -> DeviceInfo:
    return simulated_cuda_device(total_gib, bf16=bf16, ram_gib=ram_gib)


# ---- sizes --------------------------------------------------------------------------------------
def test_parameter_counts_from_configs() -> None:
    assert PROFILE.transformer.params == 6_154_908_736
    assert PROFILE.text_encoder.params == 4_022_468_096
    assert PROFILE.vae.params == 83_819_683
    assert PROFILE.transformer.bytes == 2 * 6_154_908_736  # bf16
    assert abs(PROFILE.total_bytes / 1e9 - 20.5) < 0.1  # DESIGN: all weights in bf16 ≈ 20.5 GB


def test_parameter_counts_match_the_real_classes_on_meta_device() -> None:
    torch = pytest.importorskip("torch")
    from diffusers import AutoencoderKL, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    def cfg(name: str) -> dict[str, object]:
        return dict(json.loads((CONFIGS / name / "config.json").read_text()))

    with torch.device("meta"):
        t = ZImageTransformer2DModel.from_config(cfg("transformer"))
        te = Qwen3Model(Qwen3Config(**cfg("text_encoder")))
        v = AutoencoderKL.from_config(cfg("vae"))

    def count(m):
        return sum(p.numel() for p in m.parameters())
    assert (count(t), count(te), count(v)) == (
        PROFILE.transformer.params,
        PROFILE.text_encoder.params,
        PROFILE.vae.params,
    )
    assert count(t.layers[0]) * 2 == PROFILE.transformer.block_bytes
    assert count(te.layers[0]) * 2 == PROFILE.text_encoder.block_bytes


def _write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> None:
    """A safetensors file with a real header; the data is zeros (only the header is read)."""
    width = {"F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1}
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = width[dtype]
        for s in shape:
            n *= s
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_profile_from_weight_headers_scales_fp32_and_reads_shards(tmp_path: Path) -> None:
    for comp in ("transformer", "text_encoder", "vae"):
        (tmp_path / comp).mkdir()
        (tmp_path / comp / "config.json").write_text((CONFIGS / comp / "config.json").read_text())
    # transformer: fp32 on disk, sharded with an index
    _write_safetensors(tmp_path / "transformer" / "a.safetensors", {
        "layers.0.attention.to_q.weight": ("F32", [64, 64]), "layers.0.attention_norm1.weight": ("F32", [64]),
        "x_pad_token": ("F32", [1, 64]),
    })  # fmt: skip
    _write_safetensors(tmp_path / "transformer" / "b.safetensors", {
        "layers.1.feed_forward.w1.weight": ("F32", [128, 64]),
    })  # fmt: skip
    index = {"weight_map": {"layers.0.attention.to_q.weight": "a.safetensors", "x_pad_token": "a.safetensors",
                            "layers.0.attention_norm1.weight": "a.safetensors",
                            "layers.1.feed_forward.w1.weight": "b.safetensors"}}  # fmt: skip
    (tmp_path / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps(index)
    )
    _write_safetensors(tmp_path / "text_encoder" / "model.safetensors", {
        "embed_tokens.weight": ("BF16", [100, 32]), "layers.0.mlp.up_proj.weight": ("BF16", [64, 32]),
    })  # fmt: skip
    _write_safetensors(
        tmp_path / "vae" / "diffusion_pytorch_model.safetensors", {"conv.weight": ("BF16", [8, 8])}
    )
    prof = profile_from_model_dir(tmp_path)
    t = prof.transformer
    assert t.params == 64 * 64 + 64 + 64 + 128 * 64
    assert t.bytes == 2 * t.params  # fp32 on disk counted at bf16
    assert t.block_bytes == 2 * 128 * 64 and t.n_blocks == 2
    assert t.other_bytes == 2 * 64
    assert t.fp8_castable_bytes == 2 * (64 * 64 + 128 * 64)
    assert prof.text_encoder.bytes == 2 * (100 * 32 + 64 * 32)
    assert prof.text_encoder.largest_tensor_bytes == 2 * 100 * 32
    assert prof.source == "weights" and any("transformer" in n for n in prof.notes)
    assert prof.dim == 3840  # architecture still from the configs


def test_profile_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="config.json is missing"):
        profile_from_configs(tmp_path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 16)
    from zit_desktop.core.memory.profile import read_safetensors_header

    with pytest.raises(ProfileError, match="implausible"):
        read_safetensors_header(bad)


def test_profile_of_the_tiny_model_matches_its_weights(tiny_model: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    prof = profile_from_model_dir(tiny_model)
    for comp, size in (
        ("transformer", prof.transformer),
        ("text_encoder", prof.text_encoder),
        ("vae", prof.vae),
    ):
        files = list((tiny_model / comp).glob("*.safetensors"))
        n = sum(t.numel() for f in files for t in load_file(f).values())
        assert size.params == n
    assert prof.n_layers == 2 and prof.te_layers == 2
    assert profile_from_configs(tiny_model).transformer.params == prof.transformer.params
    del torch


# ---- choices on fake devices -------------------------------------------------------------------
CASES = [
    # total GiB, bf16, RAM GiB, width, expected rung(s)
    (24, True, 64, 1024, {"gpu"}),  # only with tiled decode: ~21.8 GB predicted in ~22.8 GB free
    (24, True, 64, 768, {"gpu"}),
    (16, True, 64, 1024, {"group-offload"}),  # model offload fits but was measured 5x slower
    (12, True, 64, 1024, {"group-offload"}),
    (8, True, 64, 1024, {"group-offload"}),
    (8, True, 16, 1024, {"group-offload"}),
    (6, True, 32, 1024, {"group-offload"}),
    (4, True, 32, 1024, {"group-offload", "sequential"}),
    (4, True, 16, 768, {"group-offload", "sequential"}),
    (24, False, 64, 1024, {"group-offload"}),  # no bf16: fp32 weights (41 GB), the transformer alone is 24.6
    (32, False, 64, 1024, {"model-offload"}),  # fp32 weights (41 GB): pinned copies do not fit in 64 GB RAM
    (8, False, 32, 1024, {"group-offload"}),
    (4, False, 32, 1024, {"sequential"}),
]


@pytest.mark.parametrize("total, bf16, ram, side, expected", CASES)
def test_sensible_choices(total: float, bf16: bool, ram: float, side: int, expected: set[str]) -> None:
    p = plan(PROFILE, gpu(total, bf16, ram), side, side)
    assert p.rung in expected, p.reasons
    assert p.fits and not p.forced
    assert p.compute_dtype == ("bfloat16" if bf16 else "float32")
    if p.rung in ("group-offload", "sequential"):
        assert p.vae_tiling
    assert p.reasons and p.reasons[0].startswith(p.rung)


def test_24gb_gpu_rung_is_honest() -> None:
    p = plan(PROFILE, gpu(24), 1024, 1024)
    assert p.rung == "gpu" and p.vae_tiling  # untiled decode (~2 GB more) would not fit
    assert p.predicted_peak_bytes > 21e9  # all weights (20.5 GB) + activations + context
    untiled = predict_peak(PROFILE, "gpu", 1024, 1024, 1, gpu(24), vae_tiling=False)
    assert untiled.bytes > p.predicted_peak_bytes + 1.5e9
    assert plan(PROFILE, gpu(32), 1024, 1024).vae_tiling is False
    # a 24 GB card with a browser holding 2 GB: no longer fits on gpu
    busy = replace(gpu(24), free_bytes=int(20.5 * GIB))
    assert plan(PROFILE, busy, 1024, 1024).rung == "group-offload"


def test_low_ram_pins_on_demand_and_warns() -> None:
    p = plan(PROFILE, gpu(8, ram_gib=16), 1024, 1024)
    assert p.rung == "group-offload" and p.group_offload_low_cpu_mem
    assert any("pinned on demand" in r for r in p.reasons)
    assert any(r.startswith("warning: system RAM") for r in p.reasons)
    roomy = plan(PROFILE, gpu(8, ram_gib=64), 1024, 1024)
    assert not roomy.group_offload_low_cpu_mem and not any("warning" in r for r in roomy.reasons)


def test_monotonic_in_vram_and_image_size() -> None:
    rng = random.Random(1234)
    sides = list(range(256, 2049, 16))
    for _ in range(300):
        bf16 = rng.random() < 0.7
        opts = PlanOptions(
            fp8=rng.random() < 0.3, cfg=rng.random() < 0.3, vae_tiling=rng.choice(["auto", "on", "off"])
        )
        w, h = rng.choice(sides), rng.choice(sides)
        ram = rng.choice([8, 16, 32, 64])
        small, big = sorted(rng.uniform(2, 96) for _ in range(2))
        a = plan(PROFILE, gpu(small, bf16, ram), w, h, options=opts)
        b = plan(PROFILE, gpu(big, bf16, ram), w, h, options=opts)
        assert LADDER.index(b.rung) <= LADDER.index(a.rung), (small, big, w, h, opts, a.rung, b.rung)
        dev = gpu(rng.uniform(2, 96), bf16, ram)
        w2, h2 = rng.choice([s for s in sides if s >= w]), rng.choice([s for s in sides if s >= h])
        c = plan(PROFILE, dev, w, h, options=opts)
        d = plan(PROFILE, dev, w2, h2, options=opts)
        assert LADDER.index(d.rung) >= LADDER.index(c.rung), (dev.total_bytes, w, h, w2, h2, c.rung, d.rung)
        # and each rung's prediction grows with the image
        for rung in LADDER:
            p1 = predict_peak(PROFILE, rung, w, h, 1, dev, opts)
            p2 = predict_peak(PROFILE, rung, w2, h2, 1, dev, opts)
            assert p2.bytes >= p1.bytes


def test_predictions_are_ordered_along_the_ladder() -> None:
    for side in (512, 768, 1024, 2048):
        peaks = [predict_peak(PROFILE, r, side, side).bytes for r in LADDER]
        assert peaks == sorted(peaks, reverse=True), (side, peaks)
    with pytest.raises(ValueError):
        predict_peak(PROFILE, "warp-drive", 512, 512)


def test_switches_change_predictions() -> None:
    base = predict_peak(PROFILE, "model-offload", 1024, 1024)
    fp8 = predict_peak(PROFILE, "model-offload", 1024, 1024, options=PlanOptions(fp8=True))
    assert fp8.breakdown["phase_denoise"] < base.breakdown["phase_denoise"] - 5e9  # block linears halve
    assert fp8.bytes < base.bytes - 4e9  # now the text encoder (8 GB) is the peak
    cfg = predict_peak(PROFILE, "group-offload", 1024, 1024, options=PlanOptions(cfg=True))
    assert (
        cfg.breakdown["activations_transformer"]
        == 2 * predict_peak(PROFILE, "group-offload", 1024, 1024).breakdown["activations_transformer"]
    )
    te_cpu = predict_peak(PROFILE, "gpu", 1024, 1024, options=PlanOptions(text_encoder_on_cpu=True))
    assert te_cpu.breakdown["weights_text_encoder"] == 0
    cached = predict_peak(PROFILE, "group-offload", 1024, 1024, options=PlanOptions(embeddings_cached=True))
    assert cached.breakdown["phase_encode"] == 0
    fp32 = predict_peak(PROFILE, "group-offload", 1024, 1024, device=gpu(8, bf16=False))
    assert fp32.bytes > predict_peak(PROFILE, "group-offload", 1024, 1024, device=gpu(8)).bytes
    # 12 GB with fp8: the transformer (~6 GB) fits whole; model offload is chosen only where streaming
    # is not preferred (the calibration measured it 5x slower) or RAM cannot hold pinned copies
    fp8_opts = PlanOptions(fp8=True)
    assert plan(PROFILE, gpu(12), 1024, 1024, options=fp8_opts).rung == "group-offload"
    old_order = Calibration(prefer_group_over_model_offload=False)
    assert plan(PROFILE, gpu(12), 1024, 1024, options=fp8_opts, calibration=old_order).rung == "model-offload"


def test_forced_rung_and_settings() -> None:
    for rung in LADDER:
        p = plan(PROFILE, gpu(80), 1024, 1024, options=PlanOptions(forced_rung=rung))
        assert p.rung == rung and p.forced and "forced" in p.reasons[0]
    forced_gpu_small = plan(PROFILE, gpu(6), 1024, 1024, options=PlanOptions(forced_rung="gpu"))
    assert forced_gpu_small.rung == "gpu" and not forced_gpu_small.fits
    assert any("predicted not to fit" in r for r in forced_gpu_small.reasons)
    s = Settings(low_vram="sequential", fp8=True, vae_tiling="off", text_encoder_on_cpu=True)
    opts = options_from_settings(s, cfg=True)
    assert opts == PlanOptions("sequential", True, "off", True, cfg=True)
    p = plan(PROFILE, gpu(24), 768, 768, options=opts)
    assert (p.rung, p.fp8, p.vae_tiling, p.text_encoder_on_cpu) == ("sequential", True, False, True)
    assert options_from_settings(Settings()).forced_rung is None


def test_next_rung_walks_the_ladder_for_oom_recovery() -> None:
    p = plan(PROFILE, gpu(80), 1024, 1024)
    seen = [p.rung]
    while (nxt := p.next_rung()) is not None:
        assert nxt.oom_retries == p.oom_retries + 1
        assert "out of video memory" in nxt.reasons[0]
        p = nxt
        seen.append(p.rung)
    assert seen == ["gpu", "group-offload", "sequential"]  # model offload skipped: streaming is faster
    assert p.vae_tiling  # sequential tiles
    p = plan(PROFILE, gpu(80), 1024, 1024, calibration=Calibration(prefer_group_over_model_offload=False))
    seen = [p.rung]
    while (nxt := p.next_rung()) is not None:
        p = nxt
        seen.append(p.rung)
    assert seen == list(LADDER)
    low_ram = plan(PROFILE, gpu(16, ram_gib=16), 1024, 1024)
    assert low_ram.rung == "model-offload"  # pinned copies would not fit in RAM: model offload wins
    forced = plan(PROFILE, gpu(80), 512, 512, options=PlanOptions(forced_rung="group-offload"))
    assert forced.next_rung() is not None and forced.next_rung().rung == "sequential"  # type: ignore[union-attr]


def test_cpu_device_gets_a_cpu_plan() -> None:
    p = plan(PROFILE, CPU, 1024, 1024)
    assert p.rung == "cpu" and p.next_rung() is None and p.fits
    assert "no NVIDIA GPU" in p.reasons[0] and RUNG_DESCRIPTIONS["cpu"]
    small_ram = replace(CPU, system_ram_bytes=8 * GIB)
    assert not plan(PROFILE, small_ram, 512, 512).fits
    assert all(f.verdict == "fits" and f.rung == "cpu" for f in preset_fits(PROFILE, CPU))
    forced = plan(PROFILE, CPU, 512, 512, options=PlanOptions(forced_rung="gpu"))
    assert forced.rung == "gpu" and forced.forced and "plain CPU" in forced.reasons[0]
    ladder = [forced.rung]
    while (nxt := forced.next_rung()) is not None:
        forced = nxt
        ladder.append(forced.rung)
    assert ladder == list(LADDER) and forced.oom_retries == 3


def test_nothing_fits_tries_the_leanest() -> None:
    p = plan(PROFILE, gpu(1.5), 1024, 1024)
    assert p.rung == "sequential" and not p.fits and "no strategy" in p.reasons[0]
    assert p.next_rung() is None


# ---- learning ----------------------------------------------------------------------------------
def test_peak_learning_corrects_predictions(data_dir: Path) -> None:
    dev = gpu(8)
    log_path = peak_log_path(data_dir / "cache")
    peaks = PeakLog(log_path)
    before = plan(PROFILE, dev, 1024, 1024, history_of_measured_peaks=peaks)
    assert before.prediction is not None
    predicted = before.prediction.allocator_bytes
    for measured in (1.30, 1.25, 1.35):
        peaks.record(before.rung, 1024, 1024, int(predicted * measured), predicted, dev, model=before.model)
    reloaded = PeakLog(log_path)
    m = before.model
    assert m == model_key(PROFILE) and m.startswith("custom:")  # PROFILE: read from configs, no variant
    assert len(reloaded.records) == 3 and abs(reloaded.correction(before.rung, dev, m) - 1.30) < 1e-6
    after = plan(PROFILE, dev, 1024, 1024, history_of_measured_peaks=reloaded)
    assert after.prediction is not None
    assert abs(after.prediction.allocator_bytes / predicted - 1.30) < 0.01
    assert any("corrected by 1.30x" in r for r in after.reasons)
    # other machines and other rungs are not affected
    other = gpu(8, bf16=True)
    other = replace(other, name="Another GPU")
    assert (
        plan(PROFILE, other, 1024, 1024, history_of_measured_peaks=reloaded).predicted_peak_bytes
        == before.predicted_peak_bytes
    )
    assert reloaded.correction("sequential", dev, m) == 1.0
    # nor another model: a quantized variant's own predictions, or a custom model of other sizes
    sdnq = replace(PROFILE, variant="sdnq-int8")
    assert plan(sdnq, dev, 1024, 1024, history_of_measured_peaks=reloaded).predicted_peak_bytes == plan(
        sdnq, dev, 1024, 1024
    ).predicted_peak_bytes
    half = replace(PROFILE, transformer=replace(PROFILE.transformer, bytes=PROFILE.transformer.bytes // 2))
    assert reloaded.correction(before.rung, dev, model_key(half)) == 1.0
    # a wild outlier is clamped
    wild = PeakLog(None)
    wild.record("group-offload", 1024, 1024, predicted * 10, predicted, dev, model="bf16")
    assert wild.correction("group-offload", dev, "bf16") == Calibration().correction_max
    # and the correction can tip the choice: measured 30% over on a card where it was tight
    tight = replace(dev, free_bytes=int(before.predicted_peak_bytes * 1.12 + 310 * 2**20))
    assert plan(PROFILE, tight, 1024, 1024).rung == "group-offload"
    assert plan(PROFILE, tight, 1024, 1024, history_of_measured_peaks=reloaded.records).rung == "sequential"


def test_corrupt_peak_log_and_calibration_file(data_dir: Path) -> None:
    cache = data_dir / "cache"
    cache.mkdir(parents=True)
    peak_log_path(cache).write_text("{not json")
    assert PeakLog(peak_log_path(cache)).records == []
    calibration_path(cache).write_text(
        json.dumps({"cuda_context_bytes": 123, "act_dim_mult": "x", "junk": 1})
    )
    cal = Calibration.load(calibration_path(cache))
    assert cal.cuda_context_bytes == 123 and cal.act_dim_mult == Calibration().act_dim_mult
    calibration_path(cache).write_text("[]")
    assert Calibration.load(calibration_path(cache)) == Calibration()
    cal.save(calibration_path(cache))
    assert Calibration.load(calibration_path(cache)).cuda_context_bytes == 123
    a = predict_peak(PROFILE, "gpu", 512, 512)
    b = predict_peak(PROFILE, "gpu", 512, 512, calibration=cal)
    assert a.bytes - b.bytes == Calibration().cuda_context_bytes - 123


# ---- presets -----------------------------------------------------------------------------------
def test_preset_fit_verdicts() -> None:
    big = {f.preset: f for f in preset_fits(PROFILE, gpu(48))}
    assert all(f.verdict == "fits" and f.rung == "gpu" for f in big.values())
    small = {f.preset: f for f in preset_fits(PROFILE, gpu(6))}
    assert all(f.verdict == "offload" for f in small.values())
    assert small["1024x1024"].predicted_peak_bytes > 0
    tiny = preset_fit(PROFILE, gpu(1.5), PRESETS_BY_NAME["1024x1024"])
    assert tiny.verdict == "too-big"
    forced = preset_fit(PROFILE, gpu(48), PRESETS[0], PlanOptions(forced_rung="sequential"))
    assert forced.rung == "gpu"  # the question is about auto mode


def test_recommend_preset() -> None:
    assert recommend_preset(PROFILE, gpu(6)).preset == "1024x1024"
    assert recommend_preset(PROFILE, gpu(48)).preset == "1024x1024"
    # with 2 GB only sequential fits small images: recommended, since nothing faster works
    two = recommend_preset(PROFILE, gpu(2.2, bf16=False))
    assert two.verdict != "too-big" or two.preset == "512x512"
    nothing = recommend_preset(PROFILE, gpu(0.5))
    assert nothing.preset == "512x512" and nothing.verdict == "too-big"
    on_cpu = recommend_preset(PROFILE, CPU)  # everything fits in RAM, but minutes per image: start small
    assert on_cpu.preset == "512x512" and on_cpu.rung == "cpu"


def test_published_profile_has_the_published_sizes() -> None:
    """The packaged configs give Z-Image-Turbo's published sizes, block by block (these numbers were
    once written out by hand in the planner; now they are what the shipped configs must reproduce)."""
    from zit_desktop.core.memory.profile import ComponentSize, published_profile

    pub = published_profile()
    assert pub.source == "published"
    assert pub.transformer == ComponentSize(
        6_154_908_736, 12_309_817_472, 34, 361_820_672, 23_704_704, 78_643_200, 12_032_409_600
    )
    assert pub.text_encoder == ComponentSize(4_022_468_096, 8_044_936_192, 36, 201_861_632, 777_917_440, 777_912_320)
    assert pub.vae == ComponentSize(83_819_683, 167_639_366, 0, 0, 167_639_366, 4_718_592)
    assert (pub.transformer, pub.text_encoder, pub.vae) == (PROFILE.transformer, PROFILE.text_encoder, PROFILE.vae)


def test_dense_sweep_is_monotonic() -> None:
    """Every 0.1 GB from 1 to 40 GB and every 64 px from 512 to 2048: more VRAM never a leaner rung,
    a larger image never a faster one (random sampling once missed a 0.1 GB window)."""
    for bf16, ram, opts in (
        (True, 16, PlanOptions()),
        (True, 64, PlanOptions(cfg=True)),
        (False, 32, PlanOptions(fp8=True)),
        (False, 16, PlanOptions(vae_tiling="off")),
    ):
        for side in range(512, 2049, 256):
            last = None
            for tenth in range(10, 401):
                p = plan(PROFILE, gpu(tenth / 10, bf16, ram), side, side, options=opts)
                if last is not None:
                    assert LADDER.index(p.rung) <= LADDER.index(last), (bf16, ram, opts, side, tenth / 10)
                last = p.rung
        for tenth in range(10, 401, 7):
            dev = gpu(tenth / 10, bf16, ram)
            last = None
            for side in range(512, 2049, 64):
                p = plan(PROFILE, dev, side, side, options=opts)
                if last is not None:
                    assert LADDER.index(p.rung) >= LADDER.index(last), (bf16, ram, opts, tenth / 10, side)
                last = p.rung
