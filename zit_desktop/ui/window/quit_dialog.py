"""The question asked when the window is closed (Ctrl+Q, the close button) while a job runs.

The job may end while the box is open: the box then says so (the window also re-checks once it is
answered, so a late answer applies to what is running now, not to what ran when it was asked)."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QCoreApplication, SignalInstance
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget


class QuitChoice(StrEnum):
    FINISH_IMAGE = "finish-image"  # let the image in progress be saved, drop the rest, then quit
    QUIT_NOW = "quit-now"  # cancel the running job and quit
    KEEP_WORKING = "keep-working"  # do not quit


def quit_question(parent: QWidget | None, waiting: int, image: tuple[int, int] | None = None) -> QMessageBox:
    """The message box (not yet shown); each button carries its :class:`QuitChoice` as object name.
    ``image``: (index, count) of the image being made, to name it in a batch."""
    box = QMessageBox(parent)
    box.setObjectName("quitDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(QCoreApplication.translate("QuitDialog", "Quit while generating?"))
    if image is not None and image[1] > 1:
        box.setText(QCoreApplication.translate("QuitDialog", "Image {0} of {1} is being generated.").format(
            image[0] + 1, image[1]))  # fmt: skip
    else:
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


def show_finished(box: QMessageBox) -> None:
    """The job ended while the box is open: nothing is left to finish or cancel, so it asks plainly."""
    box.setWindowTitle(QCoreApplication.translate("QuitDialog", "Quit?"))
    box.setText(QCoreApplication.translate("QuitDialog", "The job has finished."))
    box.setInformativeText(QCoreApplication.translate("QuitDialog", "Nothing is being generated now."))
    finish = box.findChild(QPushButton, QuitChoice.FINISH_IMAGE.value)
    now = box.findChild(QPushButton, QuitChoice.QUIT_NOW.value)
    if finish is not None and now is not None:
        finish.hide()
        now.setText(QCoreApplication.translate("QuitDialog", "Quit"))
        box.setDefaultButton(now)


def ask_quit(
    parent: QWidget | None, waiting: int, image: tuple[int, int] | None = None, idle: SignalInstance | None = None
) -> QuitChoice:
    """Ask modally; closing the box without a choice keeps working. ``idle`` (the job controller's)
    turns the box into a plain "Quit?" when the job ends while it is open."""
    box = quit_question(parent, waiting, image)
    def finished() -> None:
        show_finished(box)

    if idle is not None:
        idle.connect(finished)
    try:
        box.exec()
    finally:
        if idle is not None:
            idle.disconnect(finished)
    clicked = box.clickedButton()
    name = clicked.objectName() if clicked is not None else ""
    box.deleteLater()
    return QuitChoice(name) if name in {c.value for c in QuitChoice} else QuitChoice.KEEP_WORKING
