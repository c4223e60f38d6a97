"""The other programs holding VRAM, and whether the chosen size would fit at full speed without them.

Torch-free and Qt-free; the gauge, ``doctor`` and the tests read the same answers.

* :func:`other_users` sums a :class:`~zit_desktop.core.memory.vram.DeviceInfo`'s other processes by
  program name ("Chrome" with three pids is one user). Where the driver cannot tell memory per process
  (Windows WDDM), ``per_process`` is False and ``total_bytes`` is the card's used memory minus ours:
  "other programs: X GB".
* :func:`closing_advice` asks the :class:`~zit_desktop.core.memory.advisor.MemoryAdvisor` (the same
  fit logic as the preset badges) whether a size that needs an offload rung now, or does not fit,
  would fit entirely on the GPU if the fewest, largest other users were closed. It only ever names
  programs; nothing in the app closes or kills one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from zit_desktop.core.memory.fits import PresetFit, Verdict
from zit_desktop.core.memory.peak_model import PlanOptions
from zit_desktop.core.memory.profile import ModelProfile
from zit_desktop.core.memory.vram import DeviceInfo, gb_text

if TYPE_CHECKING:
    from zit_desktop.core.memory.advisor import MemoryAdvisor

# Less than this held by others is noise (a desktop compositor's few MB): not worth naming.
MIN_REPORTED_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class GpuUser:
    """One program holding VRAM (its processes summed)."""

    name: str
    used_bytes: int
    pids: tuple[int, ...]


@dataclass(frozen=True)
class OtherUsers:
    """Who else holds the card. ``per_process`` False: the driver gives no figure per process, and
    ``total_bytes`` is used minus ours ("other programs: X GB"); ``users`` may still name them."""

    total_bytes: int
    users: tuple[GpuUser, ...]
    per_process: bool

    @property
    def significant(self) -> bool:
        return self.total_bytes >= MIN_REPORTED_BYTES

    def to_dict(self) -> dict[str, object]:
        return {
            "total_bytes": self.total_bytes,
            "per_process": self.per_process,
            "users": [{"name": u.name, "used_bytes": u.used_bytes, "pids": list(u.pids)} for u in self.users],
        }


def other_users(device: DeviceInfo | None) -> OtherUsers | None:
    """The other programs on ``device``'s card; None without a GPU or without NVML's process lists."""
    if device is None or not device.is_cuda or device.health is None:
        return None
    procs = device.health.processes
    unreported = max(0, device.used_bytes - device.process_bytes)  # everything that is not ours
    if device.health.per_process_known:
        grouped: dict[str, tuple[int, list[int]]] = {}
        for p in procs:
            total, pids = grouped.get(p.name, (0, []))
            grouped[p.name] = (total + int(p.used_bytes or 0), [*pids, p.pid])
        users = tuple(
            GpuUser(name, total, tuple(pids))
            for name, (total, pids) in sorted(grouped.items(), key=lambda kv: (-kv[1][0], kv[0]))
        )
        return OtherUsers(sum(u.used_bytes for u in users), users, True)
    names = tuple(GpuUser(name, 0, (p.pid,)) for name, p in {p.name: p for p in procs}.items())
    return OtherUsers(unreported, names, False)


def users_text(users: OtherUsers) -> str:
    """English, for logs and ``doctor``: "Chrome 1.4 GB, Steam 0.3 GB" or "other programs: 1.9 GB"."""
    if users.per_process:
        return ", ".join(f"{u.name} {gb_text(u.used_bytes)}" for u in users.users)
    named = f" ({', '.join(u.name for u in users.users)})" if users.users else ""
    return f"other programs: {gb_text(users.total_bytes)}{named}"


@dataclass(frozen=True)
class ClosingAdvice:
    """Closing ``users`` (or, ``users`` empty, the unnamed other programs holding ``freed_bytes``)
    would let ``fit`` run entirely on the GPU."""

    fit: PresetFit  # the fit with them closed (Verdict.FITS)
    now: PresetFit  # the fit as things are
    users: tuple[GpuUser, ...]
    freed_bytes: int

    def english(self) -> str:
        who = (
            " and ".join(f"{u.name} ({gb_text(u.used_bytes)})" for u in self.users)
            if self.users
            else f"other programs ({gb_text(self.freed_bytes)})"
        )
        return f"{self.fit.width}×{self.fit.height} would fit at full speed if {who} were closed"


def _freed(device: DeviceInfo, freed: int) -> DeviceInfo:
    return replace(device, free_bytes=device.free_bytes + freed, used_bytes=max(0, device.used_bytes - freed))


def closing_advice(
    advisor: MemoryAdvisor,
    profile: ModelProfile | None,
    device: DeviceInfo | None,
    width: int,
    height: int,
    options: PlanOptions | None = None,
) -> ClosingAdvice | None:
    """Would ``width`` x ``height`` fit at full speed (the ``gpu`` rung) without the other VRAM users?
    None when it already does, when nothing is known, or when closing them all would not be enough."""
    from zit_desktop.core.sizes import SizePreset

    users = other_users(device)
    if profile is None or device is None or users is None or not users.significant:
        return None
    size = SizePreset(f"{width}x{height}", width, height, f"{width}×{height}")

    def fit_on(dev: DeviceInfo) -> PresetFit:
        return advisor.fit(profile, dev, size, options)

    now = fit_on(device)
    if now.verdict == Verdict.FITS:
        return None
    if users.per_process:
        chosen: list[GpuUser] = []
        freed = 0
        for user in users.users:  # largest first: the fewest programs to close
            chosen.append(user)
            freed += user.used_bytes
            fit = fit_on(_freed(device, freed))
            if fit.verdict == Verdict.FITS:
                return ClosingAdvice(fit, now, tuple(chosen), freed)
        return None
    fit = fit_on(_freed(device, users.total_bytes))
    return ClosingAdvice(fit, now, (), users.total_bytes) if fit.verdict == Verdict.FITS else None
