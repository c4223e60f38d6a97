"""``zit-desktop refine``, run as users run it (a subprocess), on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.core.test_cli import zit
from zit_desktop.core.history import HistoryStore
from zit_desktop.core.metadata.chunks import A1111_CHUNK
from zit_desktop.core.paths import AppPaths


def test_refine_a_generated_image_prints_json_and_records_the_child(tiny_model: Path, data_dir: Path) -> None:
    gen = zit("generate", "--model", str(tiny_model), "--prompt", "一只橘色的猫", "--seed", "7", "--size", "256x256",
              "--json", data_dir=data_dir)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    source = json.loads(gen.stdout)["path"]
    # no --model: the source's own model (the tiny one), as the window's Finalize does
    ref = zit("refine", source, "--size", "384x384", "--strength", "0.5", "--tile", "0", "--json",
              data_dir=data_dir)  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    (line,) = ref.stdout.splitlines()
    out = json.loads(line)
    assert (out["width"], out["height"], out["seed"], out["prompt"]) == (
        384,
        384,
        7,
        "一只橘色的猫",
    )  # the source's
    assert out["refined_from"] == source and set(out["timings"]) >= {"upscale", "denoise", "decode"}
    assert "4/4" in ref.stderr  # ceil(8 × 0.5) steps
    assert Image.open(out["path"]).size == (384, 384)
    assert "Refined from: " + Path(source).name in Image.open(out["path"]).text[A1111_CHUNK]
    with HistoryStore.for_paths(AppPaths(data_dir)) as store:
        parent = store.id_for_path(source)
        child = store.id_for_path(out["path"])
        assert parent is not None and child is not None
        assert [r.id for r in store.children(parent)] == [child]
        row = store.get(child)
        assert row is not None and row.environment["finalize"]["change"] == 0.5


def test_refine_errors_say_what_to_do(tmp_path: Path, data_dir: Path, tiny_model: Path) -> None:
    gone = zit("refine", str(tmp_path / "gone.png"), "--size", "512x512", data_dir=data_dir)
    assert gone.returncode == 2 and "gone.png does not exist" in gone.stderr
    plain = tmp_path / "plain.png"
    Image.new("RGB", (256, 256), "white").save(plain)
    bare = zit("refine", str(plain), "--size", "512x512", data_dir=data_dir)
    assert (
        bare.returncode == 2
        and "carries no generation parameters" in bare.stderr
        and "--prompt" in bare.stderr
    )
    bad = zit(
        "refine",
        str(plain),
        "--size",
        "500x500",
        "--prompt",
        "cat",
        "--model",
        str(tiny_model),
        data_dir=data_dir,
    )
    assert bad.returncode == 2 and "Try 496" in bad.stderr
    worse = zit(
        "refine", str(plain), "--size", "512x512", "--prompt", "cat", "--strength", "2", data_dir=data_dir
    )
    assert worse.returncode == 2 and "between 0 (keep the picture) and 1" in worse.stderr
    for result in (gone, bare, bad, worse):
        assert "Traceback" not in result.stderr + result.stdout
