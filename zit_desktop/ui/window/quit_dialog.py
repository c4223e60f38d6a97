"""The question asked when the window is closed (Ctrl+Q, the close button) while a job runs."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget


class QuitChoice(StrEnum):
    FINISH_IMAGE = "finish-image"  # let the image in progress be saved, drop the rest, then quit
    QUIT_NOW = "quit-now"  # cancel the running job and quit
    KEEP_WORKING = "keep-working"  # do not quit


def quit_question(parent: QWidget | None, waiting: int) -> QMessageBox:
    """The message box (not yet shown); each button carries its :class:`QuitChoice` as object name."""
    box = QMessageBox(parent)
    box.setObjectName("quitDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(QCoreApplication.translate("QuitDialog", "Quit while generating?"))
    box.setText(QCoreApplication.translate("QuitDialog", "An image is being generated."))
    info = QCoreApplication.translate(
        "QuitDialog", "Finishing saves the current image; the rest of its batch does not start."
    )
    if waiting:
        info += " " + QCoreApplication.translate(
            "QuitDialog", "{0} waiting job(s) in the queue will not run."
        ).format(waiting)
    box.setInformativeText(info)
    finish = box.addButton(
        QCoreApplication.translate("QuitDialog", "Finish the current image, then quit"),
        QMessageBox.ButtonRole.AcceptRole,
    )
    finish.setObjectName(QuitChoice.FINISH_IMAGE.value)
    now = box.addButton(
        QCoreApplication.translate("QuitDialog", "Quit now (cancel the job)"),
        QMessageBox.ButtonRole.DestructiveRole,
    )
    now.setObjectName(QuitChoice.QUIT_NOW.value)
    keep = box.addButton(
        QCoreApplication.translate("QuitDialog", "Keep working"), QMessageBox.ButtonRole.RejectRole
    )
    keep.setObjectName(QuitChoice.KEEP_WORKING.value)
    box.setDefaultButton(finish)
    box.setEscapeButton(keep)
    return box


def ask_quit(parent: QWidget | None, waiting: int) -> QuitChoice:
    """Ask modally; closing the box without a choice keeps working."""
    box = quit_question(parent, waiting)
    box.exec()
    clicked = box.clickedButton()
    name = clicked.objectName() if clicked is not None else ""
    box.deleteLater()
    return QuitChoice(name) if name in {c.value for c in QuitChoice} else QuitChoice.KEEP_WORKING
