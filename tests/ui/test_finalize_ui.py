"""Two-stage generation in the window: explore a grid of variations, pick one, finalize it (refine or
upscale), and see the lineage in the gallery. Real widgets, real SQLite, real PNGs; the engine is
:class:`StageEngine` (real files of the requested size, no diffusion)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.stage_engine import StageEngine
from zit_desktop.core.events import Finished
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.memory.advisor import MemoryAdvisor
from zit_desktop.core.memory.fits import PresetFit, Verdict
from zit_desktop.core.memory.profile import published_profile
from zit_desktop.core.memory.vram import simulated_cuda_device
from zit_desktop.core.request import DEFAULT_CHANGE, LANCZOS, REFINE, UPSCALE, GenerationRequest
from zit_desktop.core.sizes import PRESETS, get_preset
from zit_desktop.ui.finalize.build import (
    REALESR_GENERAL,
    FinalizeSource,
    explore_preset,
    grid_shape,
    refine_fit,
)
from zit_desktop.ui.finalize.dialog import FinalizeDialog
from zit_desktop.ui.gallery.model import Roles
from zit_desktop.ui.startup import qtcompat

qtcompat.install()
SHOTS = Path(os.environ.get("ZIT_SHOTS_DIR", "/tmp"))
PROMPT = "a lighthouse at dusk, cinematic light"


@pytest.fixture
def engine(data_dir: Path) -> StageEngine:
    return StageEngine(data_dir / "outputs")


def open_window(make_window: Any, engine: StageEngine, qtbot: Any) -> Any:
    w = make_window(engine=engine)
    w.resize(1366, 768)
    qtbot.waitUntil(lambda: w.width() == 1366, timeout=2000)
    w.params.prompt.setPlainText(PROMPT)
    return w


def wait_job(w: Any, qtbot: Any, job: Any, timeout: int = 20_000) -> Any:
    done: list[Any] = []
    w.controller.jobFinished.connect(lambda job_id, result: done.append(result) if job_id == job.job_id else None)
    qtbot.waitUntil(lambda: bool(done), timeout=timeout)
    return done[0]


def explore(w: Any, qtbot: Any, seed: int = 1000) -> Any:
    w.params.set_seed(seed, lock=True)
    hookup = w.finalize
    with qtbot.waitSignal(w.controller.jobFinished, timeout=20_000):
        qtbot.mouseClick(hookup.explore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(c.row_id is not None for c in hookup.grid.cells), timeout=5000)
    return hookup


def store_of(w: Any) -> HistoryStore:
    store = w.gallery.store
    assert isinstance(store, HistoryStore)
    return store


def submit(w: Any, qtbot: Any, dialog: FinalizeDialog) -> Any:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.message.isVisible(), dialog.message.text()
    job = w.finalize.last_job
    result = wait_job(w, qtbot, job)
    qtbot.waitUntil(lambda: result.images[0].path in w.finalize._rows, timeout=5000)
    return job, result


def test_explore_four_at_512_fills_a_2x2_grid_of_history_rows_and_picks_by_click_and_keys(
    make_window: Any, engine: StageEngine, qtbot: Any
) -> None:
    w = open_window(make_window, engine, qtbot)
    hookup = explore(w, qtbot, seed=1000)
    request = engine.calls[0]
    assert (request.count, request.width, request.height, request.preset) == (4, 512, 512, "512x512")
    assert request.finalize is None
    grid = hookup.grid
    assert hookup.stack.currentWidget() is grid.parentWidget() and grid.isVisible()
    assert [c.seed for c in grid.cells] == [1000, 1001, 1002, 1003]
    assert grid_shape(len(grid.cells)) == (2, 2)
    r = [grid.cell_rect(i) for i in range(4)]
    assert r[0].top() == r[1].top() < r[2].top() == r[3].top()  # two rows of two
    assert r[0].left() == r[2].left() < r[1].left() == r[3].left()
    assert not r[0].intersects(r[1]) and not r[0].intersects(r[2])
    store = store_of(w)
    rows = [store.get(c.row_id) for c in grid.cells]
    assert all(row is not None and (row.width, row.height) == (512, 512) for row in rows)
    assert [row.seed for row in rows if row] == [1000, 1001, 1002, 1003]
    assert all(Image.open(c.path).size == (512, 512) for c in grid.cells)
    grid.setFocus()
    QApplication.processEvents()
    grid.grab().save(str(SHOTS / "finalui-explore-grid.png"))
    w.grab().save(str(SHOTS / "finalui-explore-window.png"))

    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=r[2].center())  # click: the third variation
    assert hookup.stack.currentIndex() == 0 and w.image_view.isVisible()
    assert w.image_view.path == grid.cells[2].path and not w.image_view.is_preview
    assert w.image_view.image.size().width() == 512
    assert w.gallery.current_row() is not None and w.gallery.current_row().id == grid.cells[2].row_id
    assert hookup.chosen_path() == grid.cells[2].path and hookup.finalize_button.isEnabled()
    assert hookup.finalize_button.isVisible() and hookup.back_button.isVisible()
    w.grab().save(str(SHOTS / "finalui-picked-window.png"))

    qtbot.mouseClick(hookup.back_button, Qt.MouseButton.LeftButton)  # keys: Home, Right, Down, Enter
    assert grid.isVisible() and grid.hasFocus()
    for key in (Qt.Key.Key_Home, Qt.Key.Key_Right, Qt.Key.Key_Down):
        qtbot.keyClick(grid, key)
    assert grid.current == 3
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert hookup.stack.currentIndex() == 0 and w.image_view.path == grid.cells[3].path


def test_explore_nine_gives_3x3_and_the_count_is_limited(make_window: Any, engine: StageEngine, qtbot: Any) -> None:
    w = open_window(make_window, engine, qtbot)
    spin = w.finalize.explore_count
    assert spin.value() == 4 and (spin.minimum(), spin.maximum()) == (2, 9)
    spin.setValue(12)
    assert spin.value() == 9
    hookup = explore(w, qtbot, seed=7)
    assert len(hookup.grid.cells) == 9 and grid_shape(9) == (3, 3)
    rects = [hookup.grid.cell_rect(i) for i in range(9)]
    assert len({r.top() for r in rects}) == 3 and len({r.left() for r in rects}) == 3


def test_explore_preset_is_the_smallest_predicted_to_fit() -> None:
    unknown = [PresetFit.unknown(p, "no reading") for p in PRESETS]
    assert explore_preset(unknown).name == "512x512"
    advisor = MemoryAdvisor(None)
    fits = advisor.preset_fits(published_profile(), simulated_cuda_device(6, ram_gib=32))
    assert explore_preset(fits).name == "512x512"
    p512, p768 = get_preset("512x512"), get_preset("768x768")
    made_up = [PresetFit(p512.name, 512, 512, Verdict.TOO_BIG, None, 0, ""),
               PresetFit(p768.name, 768, 768, Verdict.FITS, None, 0, "")]
    assert explore_preset(made_up).name == "768x768"


def test_refine_then_upscale_records_three_generations_with_lineage_in_the_gallery(
    make_window: Any, engine: StageEngine, qtbot: Any
) -> None:
    w = open_window(make_window, engine, qtbot)
    hookup = explore(w, qtbot, seed=500)
    grid = hookup.grid
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1).center())
    source_cell = grid.cells[1]

    # refine the chosen variation to 1024²
    dialog = hookup.finalize_current()
    assert dialog is not None and dialog.isVisible()
    assert dialog.source.row_id == source_cell.row_id and dialog.source.path == source_cell.path
    assert dialog.refine_radio.isChecked() and dialog.target.currentData() == "1024x1024"
    assert dialog.change.isVisible() and not dialog.scale.isVisible()
    dialog.grab().save(str(SHOTS / "finalui-finalize-refine.png"))
    job, result = submit(w, qtbot, dialog)
    refine = engine.calls[-1]
    step = refine.finalize
    assert step is not None and step.method == REFINE and step.source == source_cell.path
    assert step.source_id == source_cell.row_id and job.parent_id == source_cell.row_id
    assert (step.change, step.upscaler) == (DEFAULT_CHANGE, LANCZOS)
    assert (refine.width, refine.height, refine.preset, refine.count) == (1024, 1024, "1024x1024", 1)
    assert (refine.seed, refine.prompt) == (501, PROMPT)
    refined_path = result.images[0].path
    qtbot.waitUntil(lambda: w.image_view.path == refined_path, timeout=5000)
    assert hookup.stack.currentIndex() == 0 and w.image_view.image.width() == 1024
    store = store_of(w)
    refined_id = hookup._rows[refined_path]
    refined_row = store.get(refined_id)
    assert refined_row is not None and refined_row.parent_id == source_cell.row_id
    assert [c.id for c in store.children(source_cell.row_id)] == [refined_id]

    # upscale the refined result ×2 with Real-ESRGAN
    dialog = hookup.finalize_current()
    assert dialog is not None and dialog.source.row_id == refined_id
    dialog.upscale_radio.setChecked(True)
    assert not dialog.change.isVisible() and dialog.scale.isVisible() and not dialog.target.isVisible()
    dialog.upscaler.setCurrentIndex(dialog.upscaler.findData(REALESR_GENERAL))
    assert dialog.scale.currentData() == 2 and "2048×2048" in dialog.result_label.text()
    dialog.grab().save(str(SHOTS / "finalui-finalize-upscale.png"))
    job, result = submit(w, qtbot, dialog)
    up = engine.calls[-1]
    assert up.finalize is not None and up.finalize.method == UPSCALE and up.finalize.scale == 2
    assert up.finalize.upscaler == REALESR_GENERAL and up.finalize.source_id == refined_id
    assert (up.width, up.height, up.seed) == (1024, 1024, 501) and job.parent_id == refined_id
    final_path = result.images[0].path
    assert Image.open(final_path).size == (2048, 2048)
    final_id = hookup._rows[final_path]
    final_row = store.get(final_id)
    assert final_row is not None and final_row.parent_id == refined_id

    # the gallery: badges on the finals, the lineage of the middle generation, links that select
    gallery = w.gallery
    qtbot.waitUntil(lambda: gallery.model.index_of(final_id).isValid(), timeout=5000)
    finals = {i: gallery.model.index_of(i).data(Roles.Final) for i in (source_cell.row_id, refined_id, final_id)}
    assert finals == {source_cell.row_id: None, refined_id: "refine", final_id: "upscale"}
    assert gallery.select_id(refined_id)
    lineage = gallery.details.lineage
    assert lineage.isVisible()
    assert set(lineage.links) == {source_cell.row_id, final_id}
    assert "upscaled ×2" in lineage.links[final_id].text()
    w.gallery_dock.grab().save(str(SHOTS / "finalui-gallery-lineage.png"))
    qtbot.mouseClick(lineage.links[final_id], Qt.MouseButton.LeftButton)
    assert gallery.current_row() is not None and gallery.current_row().id == final_id
    assert set(lineage.links) == {refined_id}  # the final's source is the refined image
    qtbot.mouseClick(lineage.links[refined_id], Qt.MouseButton.LeftButton)
    assert gallery.current_row().id == refined_id
    qtbot.mouseClick(lineage.links[source_cell.row_id], Qt.MouseButton.LeftButton)
    assert gallery.current_row().id == source_cell.row_id
    assert set(lineage.links) == {refined_id}  # the source's one final


def test_gallery_finalize_action_opens_the_panel_for_that_item(
    make_window: Any, engine: StageEngine, qtbot: Any
) -> None:
    w = open_window(make_window, engine, qtbot)
    hookup = explore(w, qtbot, seed=42)
    target = hookup.grid.cells[3]
    gallery = w.gallery
    qtbot.waitUntil(lambda: gallery.model.index_of(target.row_id).isValid(), timeout=5000)
    assert gallery.select_id(target.row_id)
    assert gallery.act_finalize.isEnabled()
    gallery.act_finalize.trigger()
    dialog = hookup.dialog
    assert dialog is not None and dialog.source.row_id == target.row_id
    assert dialog.source.request.seed == 45 and dialog.source.request.prompt == PROMPT
    dialog.target.setCurrentIndex(dialog.target.findData("x2"))
    assert "1024×1024" in dialog.target.currentText()
    _job, _result = submit(w, qtbot, dialog)
    request = engine.calls[-1]
    assert request.finalize is not None and request.finalize.source_id == target.row_id
    assert (request.width, request.height, request.seed) == (1024, 1024, 45)


def test_a_finalize_job_shows_progress_and_preview_and_cancels_like_any_job(
    make_window: Any, engine: StageEngine, qtbot: Any, data_dir: Path
) -> None:
    from zit_desktop.core.events import Cancelled, Step

    w = open_window(make_window, engine, qtbot)
    hookup = explore(w, qtbot, seed=3)
    assert hookup.stack.currentIndex() == 1 and hookup.grid.current == 0
    dialog = hookup.finalize_current()  # from the grid: its current cell is the chosen image
    assert dialog is not None and dialog.source.row_id == hookup.grid.cells[0].row_id
    engine.steps, engine.step_delay = 40, 0.05
    before = set((data_dir / "outputs").glob("*.png"))
    with qtbot.waitSignal(w.controller.engineEvent, check_params_cb=lambda e: isinstance(e, Step) and e.step >= 2,
                          timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert hookup.stack.currentIndex() == 0  # the job's preview shows in the single view
    qtbot.waitUntil(lambda: w.image_view.is_preview, timeout=5000)
    assert w.progress.bar.maximum() == 40 and w.cancel_button.isEnabled()
    with qtbot.waitSignal(w.controller.jobFinished, timeout=10_000) as blocker:
        qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    assert isinstance(blocker.args[1], Cancelled)
    assert set((data_dir / "outputs").glob("*.png")) == before
    assert [c.id for c in store_of(w).children(hookup.grid.cells[0].row_id)] == []


def source_of(path: Path, side: int = 512, seed: int = 9) -> FinalizeSource:
    from tests.ui.gallery_support import write_png

    req = GenerationRequest(prompt=PROMPT, width=side, height=side, seed=seed, preset=None)
    write_png(path, req.to_dict(), seed, side)
    return FinalizeSource.from_file(str(path), None, GenerationRequest(prompt="base"))


def test_change_slider_default_value_label_and_ends(qtbot: Any, tmp_path: Path) -> None:
    dialog = FinalizeDialog(source_of(tmp_path / "src.png"))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.change.value() == round(DEFAULT_CHANGE * 100) == 35
    assert dialog.change_value.text() == "0.35"
    assert (dialog.keep_label.text(), dialog.repaint_label.text()) == ("keep", "repaint")
    assert dialog.keep_label.geometry().right() < dialog.change.geometry().left()
    assert dialog.change.geometry().right() < dialog.repaint_label.geometry().left()
    dialog.change.setValue(60)
    assert dialog.change_value.text() == "0.60" and dialog.choice().change == 0.6
    qtbot.keyClick(dialog.change, Qt.Key.Key_Left)
    assert dialog.change_value.text() == "0.55"
    assert dialog.request().finalize.change == 0.55  # type: ignore[union-attr]


def test_the_panel_says_tiled_when_the_target_does_not_fit_whole(qtbot: Any, tmp_path: Path) -> None:
    advisor, gpu4 = MemoryAdvisor(None), simulated_cuda_device(4, ram_gib=32)
    fit = lambda w, h: refine_fit(advisor, published_profile(), gpu4, w, h)  # noqa: E731
    dialog = FinalizeDialog(source_of(tmp_path / "big.png", side=1024), fit)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.target.currentData() == "1024x1024"
    assert dialog.fit_label.isVisible() and "Whole image" in dialog.fit_label.text()
    dialog.target.setCurrentIndex(dialog.target.findData("x2"))  # 2048² on a 4 GB card
    assert "Tiled" in dialog.fit_label.text() and "2048×2048" in dialog.fit_label.text()
    planned = advisor.refine_plan(published_profile(), gpu4, 2048, 2048)  # the engine's own decision
    assert planned.tiled and f"{planned.tile}-px tiles" in dialog.fit_label.text()
    dialog.grab().save(str(SHOTS / "finalui-finalize-tiled.png"))
    dialog.upscale_radio.setChecked(True)
    assert not dialog.fit_label.isVisible()  # upscale only: no diffusion, nothing to tile here


def test_bad_choices_keep_the_panel_open_with_a_message(qtbot: Any, tmp_path: Path) -> None:
    dialog = FinalizeDialog(source_of(tmp_path / "huge.png", side=2304))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.target.setCurrentIndex(dialog.target.findData("x2"))  # 4608²: more than a refine can make
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.built is None
    assert "4608×4608" in dialog.message.text() and "Upscale only" in dialog.message.text()
    dialog.target.setCurrentIndex(dialog.target.findData("1024x1024"))
    dialog.set_own_file(str(tmp_path / "no-such-model.pth"))
    assert "no-such-model.pth" in dialog.upscaler.currentText()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "upscaler model file" in dialog.message.text()
    model = tmp_path / "mine.pth"
    model.write_bytes(b"weights")
    dialog.set_own_file(str(model))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and dialog.built is not None
    assert dialog.built.finalize is not None and dialog.built.finalize.upscaler == str(model)


@pytest.mark.slow
def test_explore_with_the_tiny_real_engine_fills_the_grid_and_picks(
    make_window: Any, tiny_model: Path, qtbot: Any
) -> None:
    w = make_window(model=str(tiny_model))
    w.params.prompt.setPlainText("a red fox")
    w.params.steps.setValue(2)
    w.params.set_seed(77, lock=True)
    hookup = w.finalize
    hookup.explore_count.setValue(2)
    job = hookup.explore()
    assert job is not None and (job.request.count, job.request.preset) == (2, "512x512")
    result = wait_job(w, qtbot, job, timeout=240_000)
    assert len(result.images) == 2, result
    grid = hookup.grid
    qtbot.waitUntil(lambda: all(c.row_id is not None for c in grid.cells), timeout=5000)
    assert [c.seed for c in grid.cells] == [77, 78] and grid.isVisible()
    assert all(c.image is not None and c.image.size().width() == 512 for c in grid.cells)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1).center())
    assert w.image_view.path == grid.cells[1].path
    dialog = hookup.finalize_current()
    assert dialog is not None and dialog.source.row_id == grid.cells[1].row_id
    assert dialog.source.request.seed == 78 and dialog.source.request.model == str(tiny_model)
    dialog.reject()


@pytest.mark.slow
def test_done_when_explore_pick_refine_upscale_with_the_real_tiny_engine(
    make_window: Any, tiny_model: Path, qtbot: Any, tmp_path: Path
) -> None:
    """Issue 11's Done-when, for real: explore 4 at 512², pick one, refine it to 1024² (img2img on the tiny
    pipeline), upscale that ×2 with a spandrel model file; three generations of lineage in the gallery."""
    from tests.core.upscaler_models import save_compact

    w = make_window(model=str(tiny_model))
    w.params.prompt.setPlainText("a red fox")
    w.params.steps.setValue(2)
    w.params.set_seed(90, lock=True)
    hookup = w.finalize
    hookup.explore_count.setValue(4)
    job = hookup.explore()
    assert job is not None and (job.request.count, job.request.preset) == (4, "512x512")
    result = wait_job(w, qtbot, job, timeout=300_000)
    assert len(result.images) == 4, result
    grid = hookup.grid
    qtbot.waitUntil(lambda: all(c.row_id is not None for c in grid.cells), timeout=10_000)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(2).center())
    source = grid.cells[2]

    dialog = hookup.finalize_current()
    assert dialog is not None and dialog.target.currentData() == "1024x1024" and dialog.refine_radio.isChecked()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    refined = wait_job(w, qtbot, hookup.last_job, timeout=300_000)
    assert isinstance(refined, Finished), refined
    refined_path = refined.images[0].path
    assert Image.open(refined_path).size == (1024, 1024) and refined.images[0].seed == source.seed
    assert refined.images[0].request["finalize"]["method"] == REFINE
    qtbot.waitUntil(lambda: refined_path in hookup._rows, timeout=10_000)
    refined_id = hookup._rows[refined_path]

    model_file = save_compact(tmp_path / "x2.pth", scale=2)
    dialog = hookup.finalize_current()
    assert dialog is not None and dialog.source.row_id == refined_id
    dialog.upscale_radio.setChecked(True)
    dialog.set_own_file(str(model_file))
    assert dialog.scale.currentData() == 2
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    upscaled = wait_job(w, qtbot, hookup.last_job, timeout=300_000)
    assert isinstance(upscaled, Finished), upscaled
    final_path = upscaled.images[0].path
    assert Image.open(final_path).size == (2048, 2048)
    qtbot.waitUntil(lambda: final_path in hookup._rows, timeout=10_000)
    final_id = hookup._rows[final_path]

    store = store_of(w)
    assert store.get(refined_id).parent_id == source.row_id and store.get(final_id).parent_id == refined_id
    assert [r.id for r in store.ancestors(final_id)][:2] == [refined_id, source.row_id]
    gallery = w.gallery
    qtbot.waitUntil(lambda: gallery.model.index_of(final_id).isValid(), timeout=10_000)
    assert gallery.select_id(refined_id)
    assert set(gallery.details.lineage.links) == {source.row_id, final_id}


def test_the_selected_sources_finals_row_gains_an_upscale_as_soon_as_it_is_recorded(
    make_window: Any, engine: StageEngine, qtbot: Any
) -> None:
    w = open_window(make_window, engine, qtbot)
    hookup = explore(w, qtbot, seed=300)
    source = hookup.grid.cells[0]
    gallery = w.gallery
    qtbot.waitUntil(lambda: gallery.model.index_of(source.row_id).isValid(), timeout=5000)
    assert gallery.select_id(source.row_id)
    lineage = gallery.details.lineage
    assert lineage.row is not None and lineage.row.id == source.row_id and lineage.links == {}
    gallery.act_finalize.trigger()
    dialog = hookup.dialog
    assert dialog is not None and dialog.source.row_id == source.row_id
    dialog.upscale_radio.setChecked(True)
    _job, result = submit(w, qtbot, dialog)
    final_id = hookup._rows[result.images[0].path]
    assert gallery.current_row() is not None and gallery.current_row().id == source.row_id  # not re-selected
    qtbot.waitUntil(lambda: final_id in lineage.links, timeout=5000)
    assert lineage.isVisible() and lineage.finals_title.isVisible()
    assert "upscaled ×2" in lineage.links[final_id].text()
    w.gallery_dock.grab().save(str(SHOTS / "finalui-finals-refreshed.png"))


def test_picking_a_random_explore_variation_names_its_seed_and_lock_keeps_it(
    make_window: Any, engine: StageEngine, qtbot: Any
) -> None:
    w = open_window(make_window, engine, qtbot)
    p, hookup = w.params, w.finalize
    assert not p.lock.isChecked()
    with qtbot.waitSignal(w.controller.jobFinished, timeout=20_000):
        qtbot.mouseClick(hookup.explore_button, Qt.MouseButton.LeftButton)
    grid = hookup.grid
    qtbot.waitUntil(lambda: all(c.row_id is not None for c in grid.cells), timeout=5000)
    seeds = [c.seed for c in grid.cells]
    assert p.seed.text() == "random" and p.last_seed == seeds[-1]  # the batch's last image ran last
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1).center())
    assert w.statusBar().currentMessage() == f"Picked the variation with seed {seeds[1]}"
    assert p.seed.text() == "random" and f"Last used seed: {seeds[1]}" in p.seed.toolTip()
    QApplication.processEvents()
    w.grab().save(str(SHOTS / "finalui-picked-seed.png"))
    p.lock.click()
    assert p.request("m").seed == seeds[1]


def test_a_fresh_window_offers_neither_variations_nor_finalize(make_window: Any, engine: StageEngine) -> None:
    w = make_window(engine=engine)
    hookup = w.finalize
    assert hookup.back_button.isHidden() and not hookup.finalize_button.isEnabled()
    assert not hookup.finalize_action.isEnabled()
