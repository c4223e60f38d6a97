"""Packaging: the icon files, the Linux desktop entry and its launcher, the dependency stamp, and the
Windows batch file (which cannot run here, so it is checked for the known cmd.exe pitfalls)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_icons = load(PACKAGING / "make_icons.py")
desktop_entry = load(PACKAGING / "linux" / "desktop_entry.py")
deps_stamp = load(PACKAGING / "deps_stamp.py")


def system_tool(name: str, package: str) -> str:
    """A Debian tool the test needs; only a developer's machine without it may skip (.ci/run installs it)."""
    tool = shutil.which(name)
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: apt-get install {package}")
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return tool


def validator() -> str:
    return system_tool("desktop-file-validate", "desktop-file-utils")


def exec_argv(value: str) -> list[str]:
    """An Exec value split the way the Desktop Entry spec says a launcher does: the string escapes
    first, then double-quoted arguments with backslash escapes, ``%%`` for a literal %."""
    value = re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), value)
    args, i = [], 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        assert value[i] == '"', f"unquoted argument in {value!r}"
        i += 1
        arg = ""
        while value[i] != '"':
            if value[i] == "\\":
                i += 1
                assert value[i] in '"`$\\', value
            elif value[i] == "%":
                i += 1
                assert value[i] == "%", value
            arg += value[i]
            i += 1
        args.append(arg)
        i += 1
    return args


def entry_fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# --- the icon ---------------------------------------------------------------------------------------


def test_committed_icons_are_a_fresh_render_of_the_svg() -> None:
    assert make_icons.main(["--check"]) == 0, "run: python packaging/make_icons.py"


def test_every_icon_size_is_drawn_at_its_own_size_and_packed_into_the_ico() -> None:
    from PIL import Image

    from zit_desktop.ui.startup import icon

    assert icon.PNG_SIZES == make_icons.SIZES == desktop_entry.PNG_SIZES
    for size, path in icon.icon_files().items():
        with Image.open(path) as im:
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getpixel((0, 0))[3] == 0, "the corners are transparent (rounded square)"
            assert min(im.getpixel((size // 2, size // 2))[:3]) > 200, "the white Z crosses the middle"
            red, green, blue, alpha = im.getpixel((size // 2, size // 6))
            assert alpha == 255 and blue > red + 40 and blue > green + 40, "a blue square around it"
    with Image.open(make_icons.ICO) as ico:
        assert ico.info["sizes"] == {(s, s) for s in make_icons.ICO_SIZES}


def test_app_icon_offers_every_size(qapp: Any) -> None:
    from PySide6.QtCore import QSize

    from zit_desktop.ui.startup.icon import PNG_SIZES, app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert {QSize(s, s) for s in PNG_SIZES} <= set(icon.availableSizes())
    assert icon.pixmap(16, 16).toImage().pixelColor(8, 8).lightness() > 200


# --- the Linux desktop entry ------------------------------------------------------------------------


def test_the_desktop_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    tool = validator()
    entry = tmp_path / "zit-desktop.desktop"
    entry.write_text(desktop_entry.render(), encoding="utf-8")
    proc = subprocess.run([tool, str(entry)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    fields = entry_fields(entry.read_text(encoding="utf-8"))
    assert fields["Terminal"] == "false"
    assert fields["Icon"] == "zit-desktop"
    assert fields["StartupWMClass"] == "zit-desktop"  # = QApplication.desktopFileName() and RESOURCE_NAME
    assert "Graphics" in fields["Categories"].split(";")
    assert fields["Name[zh_CN]"] and fields["Comment[zh_CN]"]
    launcher = Path(exec_argv(fields["Exec"])[0])
    assert launcher == PACKAGING / "linux" / "zit-desktop-launch"
    assert launcher.stat().st_mode & stat.S_IXUSR
    assert fields["TryExec"] == str(launcher)


def test_the_desktop_entry_starts_a_checkout_whose_path_needs_quoting(tmp_path: Path) -> None:
    tool = validator()
    odd = Path('/home/李 雷/my "apps"/100% $HOME `x` back\\slash/zit')
    entry = tmp_path / "zit-desktop.desktop"
    entry.write_text(desktop_entry.render(odd), encoding="utf-8")
    proc = subprocess.run([tool, str(entry)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    fields = entry_fields(entry.read_text(encoding="utf-8"))
    assert exec_argv(fields["Exec"]) == [str(odd / "packaging" / "linux" / "zit-desktop-launch")]


def test_install_then_remove_leaves_the_data_home_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "share"
    other = home / "icons" / "hicolor" / "48x48" / "apps" / "other-app.png"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another app's icon")
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home))

    assert desktop_entry.main(["install"]) == 0
    entry = home / "applications" / "zit-desktop.desktop"
    assert entry.read_text(encoding="utf-8") == desktop_entry.render()
    for size in desktop_entry.PNG_SIZES:
        png = home / f"icons/hicolor/{size}x{size}/apps/zit-desktop.png"
        assert png.read_bytes() == (desktop_entry.ICON_DIR / f"zit-desktop-{size}.png").read_bytes()
    assert (home / "icons/hicolor/scalable/apps/zit-desktop.svg").is_file()
    assert desktop_entry.main(["install"]) == 0  # again: overwrites, no error

    assert desktop_entry.main(["remove"]) == 0
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
    assert other.read_bytes() == b"another app's icon"
    assert desktop_entry.main(["remove"]) == 0  # nothing left to remove is not an error


def test_data_home_follows_the_xdg_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop_entry.data_home() == tmp_path
    for ignored in ("", "relative/share"):
        monkeypatch.setenv("XDG_DATA_HOME", ignored)
        assert desktop_entry.data_home() == Path.home() / ".local" / "share"


def fake_checkout(tmp_path: Path, venv_python: str) -> Path:
    """run.sh, the launcher and the stamp script in a folder of their own, with a venv whose
    python is the given script: what the launcher does when set-up or the app fails."""
    root = tmp_path / "checkout"
    (root / "packaging" / "linux").mkdir(parents=True)
    for rel in ("run.sh", "pyproject.toml", "packaging/deps_stamp.py", "packaging/linux/zit-desktop-launch"):
        shutil.copy2(ROOT / rel, root / rel)
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n" + venv_python, encoding="utf-8")
    python.chmod(0o755)
    return root


def run_launcher(root: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str, Path]:
    """The launcher with a zenity on PATH that writes down what it was asked to show."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shown = tmp_path / "zenity-args"
    zenity = bin_dir / "zenity"
    zenity.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{shown}"\n', encoding="utf-8")
    zenity.chmod(0o755)
    cache = tmp_path / "cache"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(cache),
           "ZIT_TORCH_FLAVOUR": "cpu"}  # fmt: skip
    proc = subprocess.run([str(root / "packaging/linux/zit-desktop-launch")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    log = cache / "zit-desktop" / "launcher.log"
    return proc, shown.read_text(encoding="utf-8") if shown.exists() else "", log


def test_a_failed_set_up_from_the_menu_shows_runs_message_and_the_log(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path, "exit 1\n")  # a venv whose base Python was removed
    proc, shown, log = run_launcher(root, tmp_path)
    assert proc.returncode == 1 and proc.stdout == proc.stderr == ""  # nothing goes to a terminal
    assert "--error" in shown
    assert "does not work; delete that folder and run again" in shown
    assert str(log) in shown
    assert "[zit-desktop] error: the virtual environment" in log.read_text(encoding="utf-8")


def test_an_app_that_stops_at_start_from_the_menu_shows_its_last_lines(tmp_path: Path) -> None:
    script = (
        'case "$1" in packaging/deps_stamp.py) echo nothing; exit 0;; esac\n'
        "echo \"ModuleNotFoundError: No module named 'platformdirs'\" >&2\nexit 1\n"
    )
    proc, shown, log = run_launcher(fake_checkout(tmp_path, script), tmp_path)
    assert proc.returncode == 1
    assert "exit status 1" in shown and "No module named 'platformdirs'" in shown and str(log) in shown
    text = log.read_text(encoding="utf-8")
    assert "starting" in text and "=== " in text and "exit status 1" in text


# --- the dependency stamp ---------------------------------------------------------------------------


def test_the_stamp_installs_the_test_tools_once_and_the_app_never_twice(tmp_path: Path) -> None:
    venv, torch = tmp_path, "2.14.1 0.29.1"
    assert deps_stamp.need(venv, torch, "cpu", "app") == "all"  # no stamp yet
    deps_stamp.done(venv, torch, "cpu", "app")
    assert deps_stamp.need(venv, torch, "cpu", "app") == "nothing"
    assert deps_stamp.need(venv, torch, "cpu", "test") == "extras"  # run.sh test after run.sh
    deps_stamp.done(venv, torch, "cpu", "test")
    assert deps_stamp.need(venv, torch, "cpu", "test") == "nothing"
    assert deps_stamp.need(venv, torch, "cpu", "app") == "nothing"  # run.sh after run.sh test
    assert deps_stamp.need(venv, torch, "cuda", "app") == "all"  # a driver was installed
    assert deps_stamp.need(venv, "2.15.0 0.30.0", "cpu", "app") == "all"  # a new torch pin
    deps_stamp.done(venv, "2.15.0 0.30.0", "cpu", "app")
    assert deps_stamp.need(venv, "2.15.0 0.30.0", "cpu", "test") == "extras"  # new pin: tools again


def test_a_changed_pyproject_or_an_old_stamp_installs_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    monkeypatch.setattr(deps_stamp, "ROOT", checkout)
    venv = tmp_path / "venv"
    venv.mkdir()
    deps_stamp.done(venv, "2.14.1 0.29.1", "cpu", "test")
    assert deps_stamp.need(venv, "2.14.1 0.29.1", "cpu", "app") == "nothing"
    with (checkout / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write("\n# a new dependency\n")
    assert deps_stamp.need(venv, "2.14.1 0.29.1", "cpu", "app") == "all"
    (venv / ".zit-deps").write_text("0123abcd\n", encoding="utf-8")  # the stamp before extras were recorded
    assert deps_stamp.need(venv, "2.14.1 0.29.1", "cpu", "app") == "all"
    proc = subprocess.run([sys.executable, str(PACKAGING / "deps_stamp.py"), "need", str(venv), "x", "cpu", "dev"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 2 and "need VENV" in proc.stderr


def test_the_shell_scripts_pass_shellcheck() -> None:
    scripts = [ROOT / "run.sh", PACKAGING / "linux" / "zit-desktop-launch", ROOT / ".ci" / "run"]
    proc = subprocess.run([system_tool("shellcheck", "shellcheck"), *map(str, scripts)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_run_sh_is_valid_bash_and_keeps_the_torch_pair() -> None:
    assert subprocess.run(["bash", "-n", str(ROOT / "run.sh")], check=False).returncode == 0
    text = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert 'TORCH_VERSION="${ZIT_TORCH_VERSION:-2.14.1}"' in text
    assert 'TORCHVISION_VERSION="${ZIT_TORCHVISION_VERSION:-0.29.1}"' in text
    # X11 matches a window to its menu entry by WM_CLASS; Qt takes the instance part from RESOURCE_NAME
    # (else from argv[0], "__main__.py" under -m), so both app starts set it to the StartupWMClass.
    assert text.count("export RESOURCE_NAME=zit-desktop") == 2
    bat = (ROOT / "run.bat").read_text(encoding="utf-8")
    assert 'set "ZIT_TORCH_VERSION=2.14.1"' in bat and 'set "ZIT_TORCHVISION_VERSION=0.29.1"' in bat


# --- Windows: run.bat and the shortcut script -------------------------------------------------------


def batch_lines() -> list[str]:
    raw = (ROOT / "run.bat").read_bytes()
    assert raw.isascii(), "cmd.exe reads a batch file in the console code page: keep it ASCII"
    assert b"\n" not in raw.replace(b"\r\n", b""), "run.bat needs CRLF line endings throughout"
    return raw.decode("ascii").split("\r\n")


def code_lines() -> list[str]:
    return [line for line in batch_lines() if not re.match(r"\s*(rem\b|::|$)", line, re.IGNORECASE)]


def test_batch_file_line_endings_are_pinned_by_gitattributes() -> None:
    attributes = (ROOT / ".gitattributes").read_text(encoding="utf-8").splitlines()
    assert "*.bat text eol=crlf" in attributes
    assert "packaging/linux/zit-desktop-launch text eol=lf" in attributes
    batch_lines()


def test_every_label_the_batch_file_jumps_to_exists() -> None:
    lines = code_lines()
    labels = {line[1:].split()[0].lower() for line in lines if line.startswith(":")}
    targets = set()
    for line in lines:
        targets |= {t.lower() for t in re.findall(r"\b(?:goto|call)\s+:(\w+)", line, re.IGNORECASE)}
    assert targets, "no jumps found: the check itself is broken"
    assert targets <= labels, f"missing labels: {sorted(targets - labels)}"


def test_batch_file_avoids_the_known_cmd_pitfalls() -> None:
    lines = code_lines()
    text = "\n".join(lines)
    assert "setlocal EnableExtensions DisableDelayedExpansion" in text
    assert "EnableDelayedExpansion" not in text and not re.search(r"![A-Za-z_]\w*!", text)
    for line in lines:
        assert line.count('"') % 2 == 0, f"unbalanced quotes: {line}"
        # A ")" inside an expanded folder name would end a ( ) block early: the file uses none.
        assert not line.rstrip().endswith("(") and not line.lstrip().startswith(")"), line
        # "%~dp0" ends in a backslash, which escapes the closing quote for every program but cmd itself.
        if '%~dp0"' in line:
            assert line.startswith("cd /d "), line
        if re.match(r"\s*echo\b", line, re.IGNORECASE):
            assert not re.search(r"[&|<>^]", line), f"echo with a cmd special character: {line}"
    for rel in re.findall(r"%~dp0([\w\\.-]+)", text):
        if rel.startswith(".venv"):
            continue
        assert (ROOT / rel.replace("\\", "/")).exists(), rel


def test_the_shortcut_starts_pythonw_with_the_icon_and_the_app_id() -> None:
    raw = (PACKAGING / "windows" / "shortcut.ps1").read_bytes()
    assert raw.isascii()
    text = raw.decode("ascii")
    assert "'-P -m zit_desktop gui'" in text
    assert "'.venv\\Scripts\\pythonw.exe'" in text
    assert "'zit_desktop\\resources\\icons\\zit-desktop.ico'" in text
    assert (ROOT / "zit_desktop/resources/icons/zit-desktop.ico").is_file()
    assert "zit_desktop.APP_USER_MODEL_ID" in text  # read from the package, the id the process uses
    assert '"9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3"' in text and "pid = 5" in text  # PKEY_AppUserModel_ID
    assert "ValidateSet('install', 'remove')" in text
    bat = "\n".join(code_lines())
    assert 'shortcut.ps1" -Action install -Root "%ROOT%"' in bat
    assert 'shortcut.ps1" -Action remove -Root "%ROOT%"' in bat
