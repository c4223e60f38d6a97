"""``zit-desktop doctor``: the device, free VRAM, RAM, bf16 support, and for every size preset the
memory strategy the planner would pick and why. Torch-free and fast; ``--json`` for machines.

Without an NVIDIA GPU it says so (images are made on the CPU) and exits 0.
``--simulate-vram GIB`` answers "what would happen on a card with this much memory?", and
``--simulate-ram GIB`` the same for system RAM, ``--simulate-disk GIB`` for the free disk of the model
cache. Sizes are binary gigabytes, labelled GiB
(``memory.vram.gb_text``), like the cards themselves: ``--simulate-vram 6`` is a 6.0 GiB card. It also shows every model variant with its download,
predicted peak RAM and VRAM per size preset and verdict, and the variant it recommends (free disk is
that of the Hugging Face cache drive).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from zit_desktop.cli.common import Exit
from zit_desktop.core.memory.vram import gb_text


def _gb_arg(text: str, what: str, low: float, high: float) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GiB") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"give {what} in GiB, between {low:g} and {high:g}")
    return value


def _vram_gb(text: str) -> float:
    return _gb_arg(text, "the card's video memory", 0.5, 1024)


def _ram_gb(text: str) -> float:
    return _gb_arg(text, "the machine's system RAM", 1, 4096)


def _disk_gb(text: str) -> float:
    return _gb_arg(text, "the free disk of the model cache", 0, 1_000_000)


def add_doctor_command(subparsers: Any) -> None:
    doc = subparsers.add_parser("doctor", help="check the GPU, memory and what each size preset needs")
    doc.add_argument("--json", action="store_true", help="print one JSON object")
    doc.add_argument("--model", help="model folder or Hub id to size from its files (default: the setting)")
    doc.add_argument(
        "--simulate-vram",
        type=_vram_gb,
        metavar="GiB",
        help="plan for a made-up card with this much video memory (an '8 GB' card is 8 GiB)",
    )
    doc.add_argument(
        "--simulate-ram",
        type=_ram_gb,
        metavar="GiB",
        help="plan for a machine with this much system RAM",
    )
    doc.add_argument(
        "--simulate-disk",
        type=_disk_gb,
        metavar="GiB",
        help="plan as if the model cache's drive had this much free space",
    )
    doc.set_defaults(handler=cmd_doctor)


def _simulated(real: Any, vram_gb: float | None, ram_gb: float | None) -> Any:
    """The device to plan for: the real one, with the simulated card and/or RAM put in."""
    from dataclasses import replace

    from zit_desktop.core.memory.vram import GIB, simulated_cuda_device

    device = real
    if vram_gb is not None:
        ram = ram_gb if ram_gb is not None else (real.system_ram_bytes / GIB if real.system_ram_bytes else 32.0)
        device = simulated_cuda_device(vram_gb, ram_gib=ram)
    elif ram_gb is not None:
        device = replace(
            real, system_ram_bytes=int(ram_gb * GIB), system_ram_available_bytes=int(ram_gb * 0.75 * GIB)
        )
    return device


def gather(
    model_ref: str,
    simulate_vram_gb: float | None = None,
    data_root: Path | None = None,
    simulate_ram_gb: float | None = None,
    simulate_disk_gb: float | None = None,
) -> dict[str, Any]:
    from zit_desktop.core import paths as paths_mod
    from zit_desktop.core.memory.advisor import MemoryAdvisor
    from zit_desktop.core.memory.plan import options_from_settings
    from zit_desktop.core.memory.profile import published_profile
    from zit_desktop.core.memory.vram import GIB, sample_device
    from zit_desktop.core.models.cache import free_disk_bytes, hub_cache_dir
    from zit_desktop.core.settings import load_settings

    app = paths_mod.app_paths(data_root)
    settings = load_settings(app.settings_file)
    real = sample_device()
    device = _simulated(real, simulate_vram_gb, simulate_ram_gb)
    advisor = MemoryAdvisor(app.cache)
    ref = model_ref or settings.model
    resolved = advisor.resolve(ref)
    variant = None if model_ref else settings.variant  # another model named on the command line: not the variant
    profile = advisor.profile(ref, variant) or published_profile()  # as the engine would plan (said in "source")
    source = resolved.source if resolved.profile else f"{resolved.source}; planned with the published sizes"
    opts = options_from_settings(settings)
    fits = advisor.preset_fits(profile, device, opts)
    best = advisor.recommended_preset(profile, device, opts)
    assert best is not None  # a profile and a device: always an answer
    free_disk = free_disk_bytes() if simulate_disk_gb is None else int(simulate_disk_gb * GIB)
    # the variant in the settings counts as installed only when its files are on this disk
    installed = {settings.variant: ref} if settings.variant and resolved.from_files else {}
    rec = advisor.recommend_variant(device, free_disk=free_disk, installed=installed)
    return {
        "device": device.to_dict(),
        "simulated": simulate_vram_gb is not None,
        "simulated_ram": simulate_ram_gb is not None,
        "simulated_disk": simulate_disk_gb is not None,
        "disk": {"hf_cache": str(hub_cache_dir()), "free_bytes": free_disk},
        "variants": rec.to_dict(),
        "recommended_variant": rec.variant,
        "gpu_found": real.is_cuda,
        "model": {
            "ref": ref,
            "source": source,
            "profile": profile.source,  # "weights" (read from the files) or "published"
            "transformer_bytes": profile.transformer.bytes,
            "text_encoder_bytes": profile.text_encoder.bytes,
            "vae_bytes": profile.vae.bytes,
            "transformer_params": profile.transformer.params,
            "text_encoder_params": profile.text_encoder.params,
            "vae_params": profile.vae.params,
        },
        "settings": {
            "low_vram": settings.low_vram,
            "fp8": settings.fp8,
            "vae_tiling": settings.vae_tiling,
            "text_encoder_on_cpu": settings.text_encoder_on_cpu,
        },
        "presets": [
            {
                "preset": f.preset,
                "width": f.width,
                "height": f.height,
                "verdict": f.verdict,
                "rung": f.rung,
                "predicted_peak_bytes": f.predicted_peak_bytes,
                "why": f.reason,
            }
            for f in fits
        ],
        "recommended_preset": best.preset,
        "measured_jobs": advisor.measured_jobs,
        "measured_models": dict(Counter(r.model for r in advisor.peak_records())),
        "gpu_users": gpu_users(advisor, profile, device, opts),
    }


def gpu_users(advisor: Any, profile: Any, device: Any, opts: Any) -> dict[str, Any] | None:
    """The other programs holding VRAM and, per size preset that does not fit at full speed, the
    fewest of them whose closing would make it fit (never an offer to close anything). None: no NVML."""
    from zit_desktop.core.memory.other_users import closing_advice, other_users
    from zit_desktop.core.sizes import PRESETS

    users = other_users(device)
    if users is None:
        return None
    report: dict[str, Any] = users.to_dict()
    report["advice"] = []
    for preset in PRESETS if users.significant else ():
        advice = closing_advice(advisor, profile, device, preset.width, preset.height, opts)
        if advice is not None:
            report["advice"].append(
                {"preset": preset.name, "close": [u.name for u in advice.users],
                 "freed_bytes": advice.freed_bytes, "text": advice.english()}  # fmt: skip
            )
    health = device.health
    report["temperature_c"] = health.temperature_c
    report["sm_clock_mhz"], report["max_sm_clock_mhz"] = health.sm_clock_mhz, health.max_sm_clock_mhz
    report["throttle"] = [str(t) for t in health.throttle]
    return report


def _gpu_users_lines(r: dict[str, Any]) -> list[str]:
    """The section about the card's other users, its temperature and throttling."""
    from zit_desktop.core.memory.other_users import MIN_REPORTED_BYTES

    u = r.get("gpu_users")
    if not u:
        return []
    lines = [""]
    if u["temperature_c"] is not None:
        clock = f", SM clock {u['sm_clock_mhz']} of {u['max_sm_clock_mhz']} MHz" if u["sm_clock_mhz"] else ""
        why = [t for t in u["throttle"] if t != "idle"]
        lines.append(f"GPU state: {u['temperature_c']:.0f} °C{clock}; throttling: {', '.join(why) or 'none'}")
    if u["total_bytes"] < MIN_REPORTED_BYTES:
        lines.append("Other programs using VRAM: none")
    elif u["per_process"]:
        lines.append("Other programs using VRAM:")
        lines += [f"  {x['name']:<24} {gb_text(x['used_bytes']):>8}  (pid {', '.join(map(str, x['pids']))})"
                  for x in u["users"]]  # fmt: skip
    else:
        named = ", ".join(x["name"] for x in u["users"])
        lines.append(f"Other programs using VRAM: {gb_text(u['total_bytes'])} in all (the driver does not "
                     "report memory per process)" + (f": {named}" if named else ""))  # fmt: skip
    lines += [f"  {a['preset']}: {a['text']}" for a in u["advice"]]
    return lines


def _params(n: int) -> str:
    return f"{n / 1e9:.2f} B parameters" if n >= 1e9 else f"{n / 1e6:.0f} M parameters"


def format_report(r: dict[str, Any]) -> str:
    d = r["device"]
    lines = ["ZIT Desktop doctor", ""]
    if d["kind"] == "cuda":
        # a made-up card says so once: in its name, or here when the name does not
        sim = " (simulated)" if r["simulated"] and "simulated" not in d["name"].lower() else ""
        lines.append(
            f"GPU:       {d['name']}{sim}: {gb_text(d['total_bytes'])} total, {gb_text(d['free_bytes'])} free"
            + (f", driver {d['driver_version']}" if d["driver_version"] else "")
        )
        cc = d["compute_capability"]
        lines.append(
            f"bf16:      {'yes' if d['bf16_supported'] else 'no (computes in float32: slower, more memory)'}"
            + (f" (compute capability {cc[0]}.{cc[1]})" if cc else "")
        )
    else:
        lines.append(f"GPU:       none found — {d['reason'] or 'no NVIDIA GPU'}.")
        lines.append("           Images are generated on the CPU: several minutes each. With an NVIDIA card,")
        lines.append(
            "           install its driver; `zit-desktop doctor --simulate-vram 8` shows what an 8 GiB card would do."
        )
    if d["system_ram_bytes"]:
        lines.append(
            f"RAM:       {gb_text(d['system_ram_bytes'])} total, {gb_text(d['system_ram_available_bytes'])} available"
        )
    m = r["model"]
    lines.append(
        f"Model:     {m['ref']}: transformer {gb_text(m['transformer_bytes'])} ({_params(m['transformer_params'])}), "
        f"text encoder {gb_text(m['text_encoder_bytes'])} ({_params(m['text_encoder_params'])}), "
        f"VAE {gb_text(m['vae_bytes'])} ({_params(m['vae_params'])}); {m['source']}"
    )
    s = r["settings"]
    lines.append(
        f"Settings:  memory strategy {s['low_vram']}, fp8 {'on' if s['fp8'] else 'off'}, VAE tiling "
        f"{s['vae_tiling']}, text encoder on CPU {'yes' if s['text_encoder_on_cpu'] else 'no'}"
    )
    if r["measured_jobs"]:
        per_model = ", ".join(f"{m}: {n}" for m, n in sorted(r["measured_models"].items()))
        lines.append(
            f"Learning:  {r['measured_jobs']} measured jobs correct the predictions of the model each "
            f"measured ({per_model})"
        )
    lines += ["", "Size presets (auto strategy):"]
    verdicts = {"fits": "fits", "offload": "fits with offload (slower)", "too-big": "too big"}
    for p in r["presets"]:
        peak = f"peak ≈ {gb_text(p['predicted_peak_bytes'])}" if p["predicted_peak_bytes"] else ""
        verdict = "on the CPU (slow)" if p["rung"] == "cpu" else verdicts[p["verdict"]]
        lines.append(f"  {p['preset']:<10} {verdict:<27} {p['rung']:<14} {peak}".rstrip())
        lines.append(f"  {'':<10} why: {p['why']}")
    lines += ["", f"Recommended preset: {r['recommended_preset']}"]
    lines += _gpu_users_lines(r)
    lines += _variant_lines(r)
    return "\n".join(lines)


def _variant_lines(r: dict[str, Any]) -> list[str]:
    v = r["variants"]
    disk = r["disk"]
    free = gb_text(disk["free_bytes"]) if disk["free_bytes"] is not None else "unknown"
    lines = ["", f"Model variants (1024x1024 unless a preset says; free disk {free} at {disk['hf_cache']}):"]
    presets = [p["preset"] for p in v["table"][0]["presets"]] if v["table"] else []
    head = f"  {'variant':<11} {'download':>9} {'RAM':>8} " + " ".join(f"{p:>10}" for p in presets)
    lines += [head + "  verdict"]
    for row in v["table"]:
        download = "installed" if row["installed"] else ("~" if row["download_estimate"] else "") + gb_text(
            row["download_bytes"]
        )
        vram = " ".join(
            f"{(gb_text(p['predicted_vram_bytes']) if p['predicted_vram_bytes'] else 'cpu'):>10}" for p in row["presets"]
        )
        lines.append(
            f"  {row['variant']:<11} {download:>9} {gb_text(row['predicted_ram_bytes']):>8} {vram}  "
            f"{row['verdict']} ({row['rung']})"
        )
    lines.append("  (RAM: predicted peak of the process; VRAM: predicted peak per size preset)")
    if v["variant"] is None:
        return lines
    row = next(t for t in v["table"] if t["variant"] == v["variant"])
    fits = "" if v["fits"] else " — nothing fits; this is the least demanding"
    lines += [
        "",
        f"Recommended variant: {v['variant']} on '{v['rung']}': peak RAM ≈ {gb_text(row['predicted_ram_bytes'])}, "
        f"peak VRAM ≈ {gb_text(row['predicted_vram_bytes'])} at 1024x1024{fits}",
    ]
    lines += [f"  why: {why}" for why in v["reasons"]]
    return lines


def cmd_doctor(args: argparse.Namespace) -> int:
    data_dir = getattr(args, "data_dir", None)
    report = gather(
        args.model or "", args.simulate_vram, Path(data_dir) if data_dir else None, args.simulate_ram,
        args.simulate_disk,
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    sys.stdout.flush()
    return Exit.OK
