"""Recipes (saved parameter sets) from the window: save, apply (prompt and seed stay), rename, delete."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QInputDialog, QMessageBox

from zit_desktop.core.request import GenerationRequest
from zit_desktop.ui.window.recipes_menu import RecipeManager


def test_save_apply_rename_delete(make_window: Any, fake_engine: Any, monkeypatch: Any) -> None:
    w = make_window(engine=fake_engine)
    rm = w.recipes_menu
    w.apply_request(
        GenerationRequest(prompt="竖版人像", negative_prompt="blurry", width=576, height=1024, steps=12,
                          guidance=1.5, seed=5, preset="portrait"),
        lock_seed=False,
    )
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("  Portrait   12 steps ", True))
    assert rm.save_current() == "Portrait 12 steps"
    names = [a.text() for a in rm.menu.actions() if a.text()]
    assert "Portrait 12 steps" in names

    # another prompt and size, then apply: parameters come back, prompt and seed stay
    w.apply_request(GenerationRequest(prompt="a lighthouse", width=512, height=512, seed=99, preset="512x512"),
                    lock_seed=True)
    assert rm.apply("portrait 12 STEPS")  # names are case-insensitive
    r = w.params.request(w.settings.model)
    assert (r.prompt, r.width, r.height, r.steps, r.guidance, r.negative_prompt, r.preset) == (
        "a lighthouse", 576, 1024, 12, 1.5, "blurry", "portrait")
    assert r.seed == 99 and w.params.lock.isChecked()

    # saving under an existing name asks first; "No" keeps the old one
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert rm.save_current() is None
    assert rm.store.recipes.get("Portrait 12 steps").to_request().width == 576  # type: ignore[union-attr]

    manager = RecipeManager(rm.store, w)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("竖版 12 步", True))
    manager.rename_selected()
    assert [p.name for p in rm.store.recipes.list()] == ["竖版 12 步"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    manager.delete_selected()
    assert rm.store.recipes.list() == [] and manager.list.count() == 0
    manager.close()


def test_a_clashing_rename_says_why_and_changes_nothing(make_window: Any, fake_engine: Any, monkeypatch: Any) -> None:
    w = make_window(engine=fake_engine)
    store = w.recipes_menu.store
    store.recipes.save("A", GenerationRequest(prompt="a"))
    store.recipes.save("B", GenerationRequest(prompt="b"))
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    manager = RecipeManager(store, w)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("B", True))
    manager.rename_selected()  # "A" is selected first
    assert warnings and "already exists" in warnings[0]
    assert sorted(p.name for p in store.recipes.list()) == ["A", "B"]
    manager.close()
