"""The system-RAM side of the peak model: how much RAM this process takes on each rung. Pure, no torch.

Contract: :func:`predict_ram` turns a :class:`~zit_desktop.core.memory.profile.ModelProfile` (its
component sizes, which of them are quantized, a GGUF transformer file), a rung, an image size, the
device and the :class:`~zit_desktop.core.memory.peak_model.PlanOptions` into a :class:`RamPrediction`
(peak resident set size in bytes, with a breakdown). :func:`ram_budget` is how much of a machine's
RAM a prediction may take; :func:`ram_fits` compares the two. Learning (measured RSS against the
uncorrected prediction) lives in ``peak_log.py``, like the VRAM side.

RAM model (bytes; the constants live in :class:`~zit_desktop.core.memory.peak_model.Calibration`)::

    k_c      = 2 when compute is fp32 (the CPU, a GPU without bf16) and c is not quantized, else 1
    W_c      = k_c * weights of component c as the profile gives them (bf16 / stored quantized size)
    W        = W_T + W_TE + W_V
    load     = W + gguf_read_copy_fraction * transformer_file_bytes
               (from_pretrained puts every component in RAM before any offload or .to("cuda"))
    resident = gpu:            W_TE if the text encoder runs on the CPU, else 0
               model-offload:  W                      (pageable copies, moved in and out per image)
               group-offload:  W_V + P * (W_T + W_TE) (P = pinned_ram_factor with pinned copies,
                                                       1 when pinning on demand)
               sequential, cpu: W
    host     = H * W * 3 * 4 * host_image_copies (the decoded image)
               + on the CPU: the largest activation of the VRAM model at fp32
               + text encoder on the CPU: its activations at fp32
    peak     = (baseline + max(load, resident + host)) * correction
    baseline = ram_baseline_bytes with CUDA (estimate), ram_baseline_cpu_bytes on a CPU-only torch (measured);
               SDNQ components count sdnq_resident_factor x their weights (measured)
    budget   = ram_fit_fraction * total RAM - ram_os_bytes
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from zit_desktop.core.memory.peak_model import Calibration, PlanOptions, predict_peak
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import DeviceInfo, gb_text


@dataclass(frozen=True)
class RamPrediction:
    bytes: int  # predicted peak RSS of the process
    breakdown: dict[str, int]
    rung: Rung
    pinned: bool = False  # group offload keeps pinned copies
    correction: float = 1.0  # measured/predicted factor already applied (peak_log.correction, kind "ram")

    @property
    def raw_bytes(self) -> int:
        """:attr:`bytes` before the learned correction: what the peak log compares against."""
        return int(self.bytes / self.correction) if self.correction else self.bytes


def fp32_compute(rung: Rung, device: DeviceInfo | None) -> bool:
    """Whether the engine computes (and loads plain weights) in float32: the CPU, or no bf16."""
    if rung == Rung.CPU:
        return True
    if device is None:
        return False  # no device given: a bf16 GPU, as predict_peak assumes
    return not device.is_cuda or not device.bf16_supported


def _component_weights(profile: ModelProfile, wide: bool, cal: Calibration) -> dict[str, int]:
    sizes = {"transformer": profile.transformer, "text_encoder": profile.text_encoder, "vae": profile.vae}
    out = {}
    for name, c in sizes.items():
        if name not in profile.quantized:
            out[name] = c.bytes * (2 if wide else 1)
        elif name == "transformer" and profile.transformer_file_bytes:  # a GGUF file: its own size
            out[name] = c.bytes
        else:  # SDNQ: measured overhead over the weight files
            out[name] = int(c.bytes * cal.sdnq_resident_factor)
    return out


def _baseline(cal: Calibration, device: DeviceInfo | None) -> int:
    """The process before any weight: measured on a CPU-only torch, an estimate with CUDA."""
    return cal.ram_baseline_cpu_bytes if device is not None and not device.is_cuda else cal.ram_baseline_bytes


def _host_activations(
    profile: ModelProfile, rung: Rung, size: tuple[int, int], opts: PlanOptions, cal: Calibration
) -> dict[str, int]:
    width, height = size
    out = {"host_image": width * height * 3 * 4 * cal.host_image_copies}
    on_cpu = rung == Rung.CPU
    if on_cpu or opts.text_encoder_on_cpu:
        # the VRAM model's activations at bf16 (a CPU "device" reads as bf16 there), doubled for fp32
        cpu_opts = replace(opts, forced_rung=None, fp8=False, text_encoder_on_cpu=False)
        pred = predict_peak(profile, Rung.GPU, width, height, 1, None, cpu_opts, calibration=cal, vae_tiling=False)
        b = pred.breakdown
        if on_cpu:
            acts = (
                b["activations_transformer"], b["activations_text_encoder"], b["activations_vae_decode"],
                b["activations_vae_encode"],  # image-to-image only (0 otherwise)
            )  # fmt: skip
            out["cpu_activations"] = 2 * max(acts)
        elif not opts.embeddings_cached:
            out["cpu_text_encoder_activations"] = 2 * b["activations_text_encoder"]
    return out


def predict_ram(
    profile: ModelProfile,
    rung: Rung,
    width: int,
    height: int,
    device: DeviceInfo | None = None,
    options: PlanOptions | None = None,
    *,
    calibration: Calibration | None = None,
    pinned: bool = True,
    correction: float = 1.0,
) -> RamPrediction:
    """Predicted peak RSS of loading the model and making one image on ``rung`` (module docstring).
    ``pinned``: on group offload, whether pinned copies are kept (False: pinning on demand)."""
    opts = options or PlanOptions()
    cal = calibration or Calibration()
    w = _component_weights(profile, fp32_compute(rung, device), cal)
    baseline = _baseline(cal, device)
    total = sum(w.values())
    gguf = int(cal.gguf_read_copy_fraction * profile.transformer_file_bytes)
    load = total + gguf
    pinned = pinned and rung == Rung.GROUP_OFFLOAD
    if rung == Rung.GPU:
        resident = w["text_encoder"] if opts.text_encoder_on_cpu else 0
    elif rung == Rung.GROUP_OFFLOAD:
        factor = cal.pinned_ram_factor if pinned else 1.0
        resident = w["vae"] + int(factor * (w["transformer"] + w["text_encoder"]))
    else:
        resident = total
    host = _host_activations(profile, rung, (width, height), opts, cal)
    run = resident + sum(host.values())
    raw = baseline + max(load, run)
    breakdown = {
        "baseline": baseline,
        **{f"weights_{name}": b for name, b in w.items()},
        "gguf_read_copy": gguf,
        "load_phase": baseline + load,
        "resident_while_running": resident,
        **host,
        "run_phase": baseline + run,
    }
    return RamPrediction(int(raw * correction), breakdown, rung, pinned, correction)


def ram_budget(device: DeviceInfo, calibration: Calibration | None = None) -> int:
    """How many bytes of RAM a prediction may take on ``device``; 0 when its RAM is unknown."""
    cal = calibration or Calibration()
    if device.system_ram_bytes <= 0:
        return 0
    return max(0, int(cal.ram_fit_fraction * device.system_ram_bytes) - cal.ram_os_bytes)


def ram_fits(pred: RamPrediction, device: DeviceInfo, calibration: Calibration | None = None) -> bool:
    """Whether ``pred`` fits ``device``'s RAM budget (True when the machine's RAM is unknown)."""
    if device.system_ram_bytes <= 0:
        return True
    return pred.bytes <= ram_budget(device, calibration)


def budget_words(device: DeviceInfo, calibration: Calibration | None = None) -> str:
    """The budget explained: "11.1 GiB (85% of 16.0 GiB RAM, less 2.5 GiB for the OS and desktop)"."""
    cal = calibration or Calibration()
    return (
        f"{gb_text(ram_budget(device, cal))} ({cal.ram_fit_fraction:.0%} of "
        f"{gb_text(device.system_ram_bytes)} RAM, less {gb_text(cal.ram_os_bytes)} for the OS and "
        "desktop; past that the system pages to disk)"
    )
