"""The live VRAM gauge: used / total, this app's share, the job's peak, zones and a predicted-peak marker;
the card's temperature and throttling, and a line naming the other programs that hold VRAM (with the
advice "would fit at full speed if Chrome (1.4 GB) were closed" when closing them would help)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from zit_desktop.core.memory.gpu_probe import Throttle
from zit_desktop.core.memory.other_users import ClosingAdvice, OtherUsers, other_users
from zit_desktop.ui.window import texts

GIB = 1024**3
ZONES = ((0.70, QColor("#cfe8cf")), (0.90, QColor("#f3e2b3")), (1.00, QColor("#f2c4c4")))
USED, APP, PEAK, PREDICTED = QColor("#7a8794"), QColor("#2e7dd7"), QColor("#c0392b"), QColor("#6a1b9a")
REMOTE_FREE, REMOTE_USED = QColor("#dde6ef"), QColor("#5b7fa6")  # a server's card: used of total


def gib(value: int | None) -> str:
    return "—" if value is None else f"{value / GIB:.1f}"


@dataclass(frozen=True)
class RemoteCard:
    """The card of the ComfyUI server a job runs on, as its connection check reported it."""

    name: str
    device: str
    total: int | None
    free: int | None


class VramGauge(QWidget):
    """Paints the last :class:`DeviceInfo` (``None`` = unknown). Updated by the window's monitor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vramGauge")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.info: Any = None
        self.sampled_once = False
        self.job_peak: int | None = None
        self.predicted: int | None = None
        self.text = ""
        self.detail = ""
        self.others_text = ""  # the line under the bar: who else holds VRAM (empty: nobody worth naming)
        self.advice: ClosingAdvice | None = None
        self.remote: RemoteCard | None = None  # a server's card while a job runs there
        self._refresh()

    def sizeHint(self) -> QSize:
        lines = 3 if self.others_text else 2
        return QSize(360, self.fontMetrics().height() * lines + 14)

    # ------------------------------------------------------------------ state
    def set_info(self, info: Any) -> None:
        self.info = info
        self.sampled_once = True
        if self.job_peak is not None and info is not None and getattr(info, "kind", "") == "cuda":
            self.job_peak = max(self.job_peak, int(info.used_bytes))
        self._refresh()

    def begin_job(self) -> None:
        used = int(self.info.used_bytes) if self.is_cuda else 0
        self.job_peak = used
        self._refresh()

    def end_job(self, measured_peak: int | None = None) -> None:
        if measured_peak is not None and self.job_peak is not None:
            self.job_peak = max(self.job_peak, measured_peak)
        self._refresh()

    def show_remote(self, name: str, device: str, total: int | None, free: int | None) -> None:
        """Show the server's card (its name, device, VRAM total and free) instead of this computer's."""
        self.remote = RemoteCard(name, device, total, free)
        self._refresh()

    def show_local(self) -> None:
        """Back to this computer's card (after a job on a server)."""
        if self.remote is not None:
            self.remote = None
            self._refresh()

    def set_predicted(self, peak_bytes: int | None) -> None:
        self.predicted = peak_bytes
        self._refresh()

    def set_advice(self, advice: ClosingAdvice | None) -> None:
        """The window's answer for the chosen size: it would fit at full speed without these programs."""
        self.advice = advice
        self._refresh()

    @property
    def is_cuda(self) -> bool:
        return (
            self.info is not None and getattr(self.info, "kind", "") == "cuda" and self.info.total_bytes > 0
        )

    # ------------------------------------------------------------------ text
    def _refresh(self) -> None:
        if self.remote is not None:
            self._refresh_remote(self.remote)
            return
        info = self.info
        if not self.sampled_once:
            text = self.tr("VRAM: checking…")
            tip = ""
        elif info is None:
            text = self.tr("VRAM: unknown")
            tip = self.tr("The VRAM probe is not available.")
        elif not self.is_cuda:
            text = self.tr("CPU mode: no NVIDIA GPU")
            tip = self.tr("Images are made on the CPU, which is much slower. Reason: {0}").format(
                texts.cpu_reason(info)
            )
        else:
            text = self.tr("VRAM {0} / {1} GB · this app {2} GB · job peak {3} GB · predicted {4}").format(
                gib(info.used_bytes),
                gib(info.total_bytes),
                gib(info.process_bytes) if info.process_bytes else self.tr("unknown"),
                gib(self.job_peak),
                f"{gib(self.predicted)} GB" if self.predicted else self.tr("unknown"),
            )
            text += self._health_text(info)
            tip = f"{info.name}"
        others = self._others_text(info) if self.is_cuda else ""
        if others != self.others_text:
            self.others_text = others
            self.updateGeometry()  # one line more or less
        if others:
            tip = f"{tip}\n{others}" if tip else others
        self.text = text
        # CPU mode: the headline says so; the line under it gives just the reason (the tooltip has it all)
        self.detail = texts.cpu_reason(info) if info is not None and not self.is_cuda else (
            tip if not self.is_cuda else "")
        self.setToolTip(tip or text)
        self.setAccessibleName(self.tr("VRAM gauge"))
        self.setAccessibleDescription(f"{text}\n{self.others_text}" if self.others_text else text)
        self.update()

    def _health_text(self, info: Any) -> str:
        health = getattr(info, "health", None)
        if health is None or health.temperature_c is None:
            return ""
        text = self.tr(" · {0:.0f} °C").format(health.temperature_c)
        if health.thermal_throttled:
            text += self.tr(" · throttled: hot")
        elif health.power_throttled:
            text += self.tr(" · throttled: power limit")
        elif Throttle.HW_SLOWDOWN in health.throttle:
            text += self.tr(" · throttled")
        return text

    def _others_text(self, info: Any) -> str:
        users: OtherUsers | None = other_users(info)
        if users is None or not users.significant:
            return ""
        if users.per_process:
            names = ", ".join(
                self.tr("{0} {1} GB").format(u.name, gib(u.used_bytes)) for u in users.users[:4]
            )
            if len(users.users) > 4:
                names += self.tr(", {0} more").format(len(users.users) - 4)
            line = self.tr("Other programs using VRAM: {0}").format(names)
        else:
            line = self.tr("Other programs: {0} GB (the driver does not say which)").format(
                gib(users.total_bytes)
            )
        advice = self.advice
        if advice is not None:
            if advice.users:
                who = self.tr(" and ").join(
                    self.tr("{0} ({1} GB)").format(u.name, gib(u.used_bytes)) for u in advice.users
                )
            else:
                who = self.tr("other programs ({0} GB)").format(gib(advice.freed_bytes))
            line += self.tr(" — {0}×{1} would fit at full speed if {2} were closed").format(
                advice.fit.width, advice.fit.height, who
            )
        return line

    def _refresh_remote(self, card: RemoteCard) -> None:
        if card.total:
            used = card.total - card.free if card.free is not None else None
            self.text = self.tr("{0}: {1} / {2} GB VRAM · {3}").format(
                card.name, gib(used), gib(card.total), card.device or "—")
        else:
            self.text = self.tr("{0}: {1} · VRAM unknown").format(card.name, card.device or "—")
        self.detail = self.tr("The job runs on the server {0}: {1} GB of its VRAM free when it checked in.").format(
            card.name, gib(card.free))
        self.setToolTip(f"{self.text}\n{self.detail}")
        self.setAccessibleName(self.tr("VRAM gauge"))
        self.setAccessibleDescription(self.text)
        self.update()

    def _paint_remote(self, p: QPainter, bar: QRectF, card: RemoteCard) -> None:
        if not card.total:
            p.end()
            return
        p.fillRect(bar, REMOTE_FREE)
        if card.free is not None:
            used = max(0.0, min(1.0, (card.total - card.free) / card.total))
            p.fillRect(QRectF(bar.left(), bar.top() + 2, bar.width() * used, bar.height() - 4), REMOTE_USED)
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(bar)
        p.end()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._refresh()
        super().changeEvent(event)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        bar = QRectF(1, fm.height() + 6, self.width() - 2, self.height() - fm.height() - 8)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(2, 0, self.width() - 4, fm.height() + 4), Qt.AlignmentFlag.AlignLeft, self.text)
        if self.remote is not None:
            self._paint_remote(p, bar, self.remote)
            return
        if self.others_text:  # the bar leaves the last line for the other programs
            bar.setHeight(bar.height() - fm.height() - 2)
            p.setPen(QColor("#555555"))
            line = QRectF(2, bar.bottom() + 2, self.width() - 4, fm.height() + 2)
            p.drawText(line, Qt.AlignmentFlag.AlignLeft, fm.elidedText(
                self.others_text, Qt.TextElideMode.ElideRight, int(line.width())))  # fmt: skip
            p.setPen(self.palette().windowText().color())
        if not self.is_cuda:  # no bar to draw: say why instead
            p.setPen(QColor("#666666"))
            room = bar.adjusted(2, 0, -2, 0)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            wrapped = fm.boundingRect(room.toRect(), int(flags | Qt.TextFlag.TextWordWrap), self.detail)
            if wrapped.height() <= room.height():  # fits on the lines there are: wrap, never cut
                p.drawText(room, int(flags | Qt.TextFlag.TextWordWrap), self.detail)
            else:
                p.drawText(room, flags, fm.elidedText(self.detail, Qt.TextElideMode.ElideRight, int(room.width())))
            p.end()
            return
        total = float(self.info.total_bytes)

        def x_of(value: float) -> float:
            return bar.left() + bar.width() * max(0.0, min(1.0, value / total))

        start = 0.0
        for edge, colour in ZONES:
            p.fillRect(
                QRectF(
                    x_of(start * total), bar.top(), x_of(edge * total) - x_of(start * total), bar.height()
                ),
                colour,
            )
            start = edge
        used = float(self.info.used_bytes)
        p.fillRect(QRectF(bar.left(), bar.top() + 2, x_of(used) - bar.left(), bar.height() - 4), USED)
        app = float(self.info.process_bytes or 0)
        if app:
            p.fillRect(QRectF(bar.left(), bar.top() + 2, x_of(app) - bar.left(), bar.height() - 4), APP)
        if self.job_peak:
            p.setPen(QPen(PEAK, 2))
            x = x_of(self.job_peak)
            p.drawLine(QPointF(x, bar.top()), QPointF(x, bar.bottom()))
        if self.predicted:
            x = x_of(self.predicted)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PREDICTED)
            p.drawPolygon(
                QPolygonF(
                    [QPointF(x - 5, bar.top() - 5), QPointF(x + 5, bar.top() - 5), QPointF(x, bar.top() + 3)]
                )
            )
        p.setPen(QPen(QColor("#888888"), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(bar)
        p.end()
