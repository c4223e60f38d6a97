"""Translated texts for what the engine reports in English (failure kinds, loading phases, notices).

The engine's own message (what happened, what to do) stays as detail under a translated headline.
Every string is a literal inside ``QCoreApplication.translate("Messages", ...)`` so lupdate finds it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from zit_desktop.core.events import Failed, Loading, Notice
from zit_desktop.core.memory.rungs import Rung
from zit_desktop.core.memory.vram import CpuReason, DeviceInfo
from zit_desktop.core.remote.client import RemoteProblem
from zit_desktop.core.request import MAX_SIDE, MIN_SIDE, RequestError


def failure(kind: str, message: str, remote: bool = False) -> str:
    """The headline for a failure ``kind`` and the engine's ``message``; ``remote``: the job ran on a
    ComfyUI server, so model and memory problems are that server's, not this computer's."""
    if remote and kind in REMOTE_HEADS:
        head = REMOTE_HEADS[kind]()
        return f"{head}\n{message}" if message else head
    heads = {
        "bad-input": QCoreApplication.translate("Messages", "The parameters are not valid."),
        "model-missing": QCoreApplication.translate(
            "Messages",
            "The model is not on this computer yet. “Set up the model…” downloads the variant that fits "
            "this computer, or uses files you already have.",
        ),
        "model-invalid": QCoreApplication.translate(
            "Messages",
            "Those files are not a usable Z-Image-Turbo model. “Set up the model…” shows what is missing "
            "and lets you choose other files or download a variant.",
        ),
        "model-corrupt": QCoreApplication.translate(
            "Messages", "The model files are damaged. “Set up the model…” downloads them again."
        ),
        "out-of-memory": QCoreApplication.translate(
            "Messages", "Out of memory: this image did not fit. Try a smaller size preset."
        ),
        "numerical-overflow": QCoreApplication.translate(
            "Messages", "Numerical overflow (the image would be black). Nothing was saved."
        ),
        "disk-full": QCoreApplication.translate(
            "Messages", "The disk is full. Free some space and try again."
        ),
        "unwritable": QCoreApplication.translate(
            "Messages", "The output folder cannot be written. Check its permissions."
        ),
        "database": QCoreApplication.translate("Messages", "The history database has a problem."),
        "network": QCoreApplication.translate(
            "Messages", "The connection failed. Check the network (and the server, for a remote engine)."
        ),
        "remote": QCoreApplication.translate(
            "Messages", "The ComfyUI server failed the job. The server's own message follows."
        ),
        "internal": QCoreApplication.translate(
            "Messages", "Internal error (a bug). The details are in the log file; please report them."
        ),
    }
    head = heads.get(kind, QCoreApplication.translate("Messages", "The job failed."))
    return f"{head}\n{message}" if message else head


MODEL_PROBLEMS = ("model-missing", "model-invalid", "model-corrupt")  # failures the model setup fixes

# Headlines for a job that ran on a server: the fix is on that machine (or in Settings → Engines…).
REMOTE_HEADS = {
    "model-missing": lambda: QCoreApplication.translate(
        "Messages", "The server is not ready for Z-Image-Turbo: install what is named below on that machine, "
        "then test it again in Settings → Engines…"
    ),
    "network": lambda: QCoreApplication.translate(
        "Messages", "The server cannot be reached. Check that ComfyUI runs there and that this computer can "
        "reach it (Settings → Engines… → Test), or run on this computer."
    ),
    "remote": lambda: QCoreApplication.translate(
        "Messages", "The ComfyUI server failed the job. The server's own message follows."
    ),
    "out-of-memory": lambda: QCoreApplication.translate(
        "Messages", "The server ran out of GPU memory. Try a smaller size preset or another engine."
    ),
    "bad-input": lambda: QCoreApplication.translate(
        "Messages", "The server did not accept the job."
    ),
}


def strategy_name(strategy: str) -> str:
    """The translated name of a strategy id as events, the history and PNGs store it: a memory rung
    (``gpu`` … ``cpu``), the upscale job's ``upscale-cpu``/``upscale-cuda``, a server's ``comfyui``, or a
    pool member's ``comfyui@NAME``. An id we do not know is shown as it is."""
    names = {
        Rung.GPU: QCoreApplication.translate("Messages", "Everything on the GPU"),
        Rung.MODEL_OFFLOAD: QCoreApplication.translate("Messages", "Model offload"),
        Rung.GROUP_OFFLOAD: QCoreApplication.translate("Messages", "Group offload"),
        Rung.SEQUENTIAL: QCoreApplication.translate("Messages", "Sequential"),
        Rung.CPU: QCoreApplication.translate("Messages", "On the processor (no GPU)"),
        "upscale-cpu": QCoreApplication.translate("Messages", "Upscaler on the processor"),
        "upscale-cuda": QCoreApplication.translate("Messages", "Upscaler on the GPU"),
        "comfyui": QCoreApplication.translate("Messages", "ComfyUI server"),
    }
    if strategy in names:
        return names[strategy]
    if strategy.startswith("comfyui@"):  # the pool names the member that made the image
        return QCoreApplication.translate("Messages", "ComfyUI server {0}").format(strategy.split("@", 1)[1])
    return strategy


def strategy_with_id(strategy: str) -> str:
    """The name with the id the log and the PNG text use, for tooltips: ``Group offload (group-offload)``."""
    name = strategy_name(strategy)
    return name if name == strategy else f"{name} ({strategy})"


def strategy_choice(rung: str) -> str:
    """The label of a ladder rung in Settings' memory-strategy choice: its name, then what it costs."""
    hints: dict[str, str] = {
        Rung.GPU: QCoreApplication.translate("Messages", "fastest, needs about 24 GB"),
        Rung.MODEL_OFFLOAD: QCoreApplication.translate("Messages", "one part at a time (about 13 GB)"),
        Rung.GROUP_OFFLOAD: QCoreApplication.translate("Messages", "stream blocks from RAM (about 3 GB)"),
        Rung.SEQUENTIAL: QCoreApplication.translate("Messages", "layer by layer (the leanest)"),
    }
    if rung not in hints:
        return strategy_name(rung)
    return QCoreApplication.translate(
        "Messages", "{0}: {1}", "a memory strategy's name, then what it costs (Settings)"
    ).format(strategy_name(rung), hints[rung])


def remote_problem(code: str, facts: dict[str, Any]) -> str:
    """A common remote failure (:class:`RemoteProblem`) said in the UI language with its ``facts``
    (addresses, versions, file and folder names) inserted; "" for a code without a text here."""
    url, reason = str(facts.get("url", "")), str(facts.get("reason", ""))
    if code == RemoteProblem.UNREACHABLE:
        return QCoreApplication.translate(
            "Messages", "Cannot reach the ComfyUI server at {0} ({1}). Check that it runs and that this "
            "computer can reach it."
        ).format(url, reason)
    if code == RemoteProblem.CREDENTIALS:
        return QCoreApplication.translate(
            "Messages", "The server at {0} refused the credentials (HTTP {1}). Check the token or user name "
            "and password in the engine's settings."
        ).format(url, facts.get("status", "?"))
    if code == RemoteProblem.TLS:
        return QCoreApplication.translate(
            "Messages", "The secure connection to {0} failed ({1}). If the server uses its own certificate, "
            "choose its CA file in the engine's settings."
        ).format(url, reason)
    if code == RemoteProblem.OLD_VERSION:
        return QCoreApplication.translate(
            "Messages", "The server runs ComfyUI {0}; Z-Image-Turbo needs {1} or newer. Update ComfyUI on "
            "that machine."
        ).format(facts.get("version", "?"), facts.get("needed", "?"))
    if code == RemoteProblem.MISSING_NODES:
        return QCoreApplication.translate(
            "Messages", "The server lacks the core nodes {0}. Update ComfyUI on that machine."
        ).format(", ".join(str(n) for n in facts.get("nodes", [])))
    if code == RemoteProblem.MISSING_MODELS:
        lines = [QCoreApplication.translate("Messages", "Missing on the server:")]
        for entry in facts.get("missing", []):
            role, folder, file = (list(entry) + ["", "", ""])[:3]
            lines.append("• " + _missing_model(str(role), str(folder), str(file)))
        return "\n".join(lines)
    return ""


def _missing_model(role: str, folder: str, file: str) -> str:
    places = {
        "unet": QCoreApplication.translate("Messages", "put the diffusion model ({1}) in {0}"),
        "clip": QCoreApplication.translate("Messages", "put the text encoder ({1}) in {0}"),
        "vae": QCoreApplication.translate("Messages", "put the VAE ({1}) in {0}"),
    }
    text = places.get(role, QCoreApplication.translate("Messages", "put the {2} file ({1}) in {0}"))
    return text.format(folder, file, role)


def failed_message(event: Failed) -> str:
    """The message under a failure's headline: translated for a known problem (prefixed with the
    engine's name, as the engine does in English), else the engine's own message."""
    text = remote_problem(event.code, event.facts) if event.code else ""
    if not text:
        return event.message
    engine = event.facts.get("engine")
    return f"{engine}: {text}" if engine else text


def loading_phase(event: Loading) -> str:
    engine = str(event.detail.get("engine", ""))
    if event.phase == "engine-target":
        if engine.lower() == "pool":
            return QCoreApplication.translate("Messages", "Sending the job to all engines (pool)…")
        return QCoreApplication.translate("Messages", "Sending the job to {0}…").format(engine)
    if event.phase == "remote":
        return QCoreApplication.translate("Messages", "Connected to {0} (ComfyUI {1}, {2})").format(
            engine, event.detail.get("version") or "?", event.detail.get("device") or "?")
    phases = {
        "engine": QCoreApplication.translate("Messages", "Starting the engine…"),
        "engine-local": QCoreApplication.translate("Messages", "Starting the engine (torch, diffusers)…"),
        "connect": QCoreApplication.translate("Messages", "Connecting to the server…"),
        "resolve": QCoreApplication.translate("Messages", "Finding the model…"),
        "load": QCoreApplication.translate("Messages", "Loading the model (the first time takes longest)…"),
        "ready": QCoreApplication.translate("Messages", "Model ready"),
    }
    if event.phase == "strategy":
        return QCoreApplication.translate(
            "Messages", "Reloading the model to switch to the “{0}” memory strategy…"
        ).format(event.detail.get("rung", "?"))
    return phases.get(event.phase, event.message or event.phase)


def notice(event: Notice) -> tuple[str, str]:
    """(text, level) for a Notice event; an empty text means nothing to show."""
    kind, message, detail = event.kind, event.message, event.detail
    heads = {
        "oom-retry": QCoreApplication.translate(
            "Messages", "Out of memory: retried with a leaner memory strategy."
        ),
        "prompt-truncated": QCoreApplication.translate(
            "Messages", "The prompt is too long: only its beginning is used."
        ),
        "sysmem-fallback": QCoreApplication.translate(
            "Messages", "The GPU driver is spilling into system memory, which makes generation very slow."
        ),
        "history": QCoreApplication.translate(
            "Messages", "The image was saved but not recorded in the history."
        ),
        "oom-defrag": QCoreApplication.translate(
            "Messages", "Out of memory because the GPU memory was fragmented: freed it and retried."
        ),
        "gpu-throttle": QCoreApplication.translate(
            "Messages", "Generation is getting slower: the GPU is throttling its clocks."
        ),
        "no-gpu": QCoreApplication.translate(
            "Messages", "No NVIDIA GPU: the image is generated on the CPU (much slower)."
        ),
    }
    if kind == "oom-retry" and {"from", "to", "phase"} <= detail.keys():
        message = QCoreApplication.translate(
            "Messages", "Out of video memory while {0} with “{1}”; the same image (same seed) is retried "
            "with the leaner “{2}” strategy."
        ).format(_phase_name(str(detail["phase"])), detail["from"], detail["to"])
    if kind == "gpu-throttle" and {"baseline_s_per_step", "recent_s_per_step"} <= detail.keys():
        message = throttle_text(detail)
    if kind == "no-gpu" and "requested" in detail:
        message = QCoreApplication.translate(
            "Messages", "The memory strategy “{0}” needs an NVIDIA GPU, so it does not apply here."
        ).format(detail["requested"])
    if kind == "refine-tiled" and {"tile", "overlap"} <= detail.keys():
        return QCoreApplication.translate(
            "Messages", "The whole image does not fit in video memory, so it is refined in {0}-px tiles that "
            "overlap by {1} px and are blended."
        ).format(detail["tile"], detail["overlap"]), "info"
    if kind in heads:
        return f"{heads[kind]}\n{message}", "warning"
    if kind == "warning" and "negative prompt has no effect" in message:
        return "", "info"  # the panel already marks the negative prompt as inactive
    return message, "info"


def throttle_text(detail: dict[str, object]) -> str:
    """The throttling notice with what to do (``core.memory.throttle``'s detail)."""
    before, now = float(str(detail["baseline_s_per_step"])), float(str(detail["recent_s_per_step"]))
    temp = detail.get("temperature_c")
    if detail.get("reason") == "thermal":
        why = QCoreApplication.translate("Messages", "The card reports thermal throttling")
        if isinstance(temp, (int, float)):
            why = QCoreApplication.translate("Messages", "The card reports thermal throttling at {0:.0f} °C").format(temp)
    else:
        why = QCoreApplication.translate("Messages", "The card is held at its power limit")
    return QCoreApplication.translate(
        "Messages",
        "{0}: a denoise step took {1:.2f} s at the start of this session and {2:.2f} s now. Let it cool: "
        "clean the fans and vents, give a laptop room to breathe or a cooling pad, choose a lower power "
        "mode in the GPU or laptop software, or pause between batches.",
    ).format(why, before, now)


def memory_freed(unloaded: bool) -> str:
    if unloaded:
        return QCoreApplication.translate(
            "Messages", "GPU memory freed: the model is unloaded and loads again with the next Generate."
        )
    return QCoreApplication.translate(
        "Messages", "GPU memory freed. No model was loaded; the next Generate loads it."
    )


def _phase_name(phase: str) -> str:
    names = {
        "load": QCoreApplication.translate("Messages", "preparing the model"),
        "encode": QCoreApplication.translate("Messages", "encoding the prompt"),
        "denoise": QCoreApplication.translate("Messages", "denoising"),
        "decode": QCoreApplication.translate("Messages", "decoding the image"),
        "save": QCoreApplication.translate("Messages", "saving"),
    }
    return names.get(phase, phase)


def cpu_reason(info: DeviceInfo | Any) -> str:
    """Why the app runs on the CPU, translated by the reason's kind (core keeps the English words,
    with the driver's own message, for the terminal and the log)."""
    reasons = {
        CpuReason.NO_DRIVER: QCoreApplication.translate(
            "Messages", "No NVIDIA graphics card or driver was found."
        ),
        CpuReason.HIDDEN: QCoreApplication.translate(
            "Messages", "The environment variable CUDA_VISIBLE_DEVICES hides every GPU."
        ),
        CpuReason.NO_BINDINGS: QCoreApplication.translate(
            "Messages", "The NVIDIA monitoring library (nvidia-ml-py) is not installed; run the set-up again."
        ),
        CpuReason.UNUSABLE: QCoreApplication.translate(
            "Messages", "An NVIDIA driver is installed, but the GPU cannot be used."
        ),
        CpuReason.STOPPED: QCoreApplication.translate(
            "Messages", "The NVIDIA GPU stopped answering (a driver reset or a lost device)."
        ),
        CpuReason.PROBE_FAILED: QCoreApplication.translate(
            "Messages", "Checking the GPU failed; the details are in the log file."
        ),
        CpuReason.ENGINE: QCoreApplication.translate("Messages", "The engine runs on the CPU."),
    }
    kind = getattr(info, "reason_kind", "")
    text = reasons.get(CpuReason(kind)) if kind in set(CpuReason) else None
    return text or getattr(info, "reason", "") or "—"


def request_error(exc: RequestError) -> str:
    field = exc.field_name
    if field == "prompt":
        return QCoreApplication.translate(
            "Messages", "The prompt is empty. Describe the image you want, e.g. “一只橘色的猫”."
        )
    if field in ("width", "height"):
        return QCoreApplication.translate(
            "Messages", "Width and height must be multiples of 16 between {0} and {1}."
        ).format(MIN_SIDE, MAX_SIDE)
    if field == "model":
        return QCoreApplication.translate("Messages", "No model is set. Choose the Z-Image-Turbo folder.")
    return str(exc)
