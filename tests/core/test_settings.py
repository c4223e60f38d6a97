from __future__ import annotations

import json
from pathlib import Path

import pytest

from zit_desktop.core import paths
from zit_desktop.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_round_trip_keeps_chinese_and_schema_version(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    s = Settings(language="zh_CN", low_vram="group-offload", last_request={"prompt": "一只猫"})
    save_settings(f, s)
    data = json.loads(f.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    back = load_settings(f)
    assert back == s
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.json") == Settings()


def test_corrupt_file_is_moved_aside_and_defaults_used(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    f.write_text("{not json", encoding="utf-8")
    assert load_settings(f) == Settings()
    assert not f.exists()
    assert (tmp_path / "settings.corrupt.json").read_text(encoding="utf-8") == "{not json"


def test_newer_settings_are_kept_untouched(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    f.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "language": "en"}), encoding="utf-8")
    assert load_settings(f) == Settings()
    assert f.exists()


def test_unknown_values_fall_back(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    f.write_text(json.dumps({"low_vram": "turbo-mode", "vae_tiling": "maybe", "unknown_key": 1}), encoding="utf-8")
    s = load_settings(f)
    assert (s.low_vram, s.vae_tiling) == ("auto", "auto")


def test_data_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_HOME, str(tmp_path / "env"))
    assert paths.data_dir() == (tmp_path / "env").resolve()
    paths.set_data_dir(tmp_path / "flag")
    try:
        assert paths.data_dir() == (tmp_path / "flag").resolve()
        assert paths.app_paths().outputs == (tmp_path / "flag" / "outputs").resolve()
    finally:
        paths.set_data_dir(None)
    monkeypatch.delenv(paths.ENV_HOME)
    assert "zit-desktop" in str(paths.data_dir())


def test_entries_of_the_wrong_type_fall_back_one_by_one(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    f.write_text(
        json.dumps({"window": [], "last_request": "x", "model": 5, "fp8": "yes", "language": "zh_CN"}),
        encoding="utf-8",
    )
    s = load_settings(f)
    assert (s.window, s.last_request, s.model, s.fp8) == ({}, {}, Settings().model, False)
    assert s.language == "zh_CN"
