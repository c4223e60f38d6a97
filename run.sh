#!/usr/bin/env bash
# ZIT Desktop launcher and set-up.
#   ./run.sh                          set up (first time only) and open the app
#   ./run.sh test [PYTEST ARGS]       set up with the test tools, then run the test suite
#   ./run.sh ARGS...                  set up, then run `zit-desktop ARGS...` (e.g. ./run.sh generate --prompt "一只猫")
#   ./run.sh --install-desktop-entry  set up, then add ZIT Desktop (and its icon) to the app menu
#   ./run.sh --remove-desktop-entry   take out what --install-desktop-entry added
# Set-up creates .venv next to this script, picks the torch build (CUDA when an NVIDIA driver is
# present, CPU otherwise) and installs the app; `test` adds pytest, ruff and mypy. Running again
# installs nothing unless the dependencies changed (packaging/deps_stamp.py keeps the record).
# The app menu's entry starts packaging/linux/zit-desktop-launch, which runs this script with no
# terminal, writes its output to ~/.cache/zit-desktop/launcher.log and shows a message on failure.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ORIG="$PWD"  # commands run from where the user is, so relative file names mean what they say
cd "$HERE"
VENV="$HERE/.venv"
TORCH_VERSION="${ZIT_TORCH_VERSION:-2.14.1}"
# torchvision must be the build made for this torch (spandrel, the upscaler library, imports it)
TORCHVISION_VERSION="${ZIT_TORCHVISION_VERSION:-0.29.1}"

say() { printf '[zit-desktop] %s\n' "$*" >&2; }
die() { printf '[zit-desktop] error: %s\n' "$*" >&2; exit 1; }

find_python() {
    local cand
    for cand in "${ZIT_PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
        [ -n "$cand" ] || continue
        command -v "$cand" >/dev/null 2>&1 || continue
        if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$cand"; return 0
        fi
    done
    return 1
}

torch_flavour() {
    if [ -n "${ZIT_TORCH_FLAVOUR:-}" ]; then echo "$ZIT_TORCH_FLAVOUR"; return; fi
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then echo cuda; else echo cpu; fi
}

notify() {  # a desktop notification when started from the app menu (no terminal to read)
    if [ -n "${ZIT_LAUNCHED_FROM_DESKTOP:-}" ] && command -v notify-send >/dev/null 2>&1; then
        notify-send --app-name="ZIT Desktop" --icon=zit-desktop "ZIT Desktop" "$1" >/dev/null 2>&1 || true
    fi
}

setup() {  # setup app|test
    local extras="$1" py flavour need first=""
    [ -f "$VENV/.zit-deps" ] || first=1  # no set-up has finished in this venv yet
    if [ ! -x "$VENV/bin/python" ]; then
        py="$(find_python)" || die "Python 3.11 or newer is needed. Install it (e.g. 'sudo apt install python3 python3-venv') and run again."
        say "creating $VENV with $py"
        "$py" -m venv "$VENV" || die "could not create the virtual environment (on Debian/Ubuntu: sudo apt install python3-venv)."
    fi
    flavour="$(torch_flavour)"
    need="$("$VENV/bin/python" packaging/deps_stamp.py "need" "$VENV" "$TORCH_VERSION $TORCHVISION_VERSION" "$flavour" "$extras")" \
        || die "the virtual environment in $VENV does not work; delete that folder and run again."
    [ "$need" = nothing ] && return 0
    local pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
    local app=(-e .)
    [ "$extras" = test ] && app=(-e ".[test]")
    if [ "$need" = extras ]; then
        say "installing the test tools (pytest, ruff, mypy)"
        "${pip[@]}" "${app[@]}" || die "installing the test tools failed; check your internet connection and run again."
        "$VENV/bin/python" packaging/deps_stamp.py "done" "$VENV" "$TORCH_VERSION $TORCHVISION_VERSION" "$flavour" "$extras"
        return 0
    fi
    say "installing dependencies (torch $TORCH_VERSION, $flavour build); the first time takes a while"
    notify "Setting up: installing torch and the app's libraries. The first start takes several minutes."
    local torch_args=() torch_stamp="$VENV/.zit-torch"
    # Another torch build than last time (a driver was installed, say): replace it, or pip would
    # call the installed one good enough (2.13.0+cpu satisfies ==2.13.0).
    if [ -f "$torch_stamp" ] && [ "$(cat "$torch_stamp")" != "$TORCH_VERSION $flavour" ]; then
        torch_args+=(--force-reinstall)
    elif [ "$flavour" = cuda ] && "$VENV/bin/python" -c 'import sys, torch; sys.exit(0 if torch.version.cuda is None else 1)' 2>/dev/null; then
        torch_args+=(--force-reinstall)  # a CPU-only torch from before the driver was installed
    fi
    if [ -n "${ZIT_TORCH_INDEX_URL:-}" ]; then
        torch_args+=(--index-url "$ZIT_TORCH_INDEX_URL")
    fi
    # On Linux, PyPI's torch wheel is the CUDA build (it also runs on the CPU). For the much smaller
    # CPU-only wheel set ZIT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
    "${pip[@]}" ${torch_args[@]+"${torch_args[@]}"} "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
        || die "installing torch failed; check your internet connection and run again."
    echo "$TORCH_VERSION $flavour" > "$torch_stamp"
    "${pip[@]}" "${app[@]}" || die "installing ZIT Desktop's dependencies failed; check your internet connection and run again."
    "$VENV/bin/python" packaging/deps_stamp.py "done" "$VENV" "$TORCH_VERSION $TORCHVISION_VERSION" "$flavour" "$extras"
    if [ -n "$first" ] && [ -z "${ZIT_LAUNCHED_FROM_DESKTOP:-}" ] && [ "$extras" = app ]; then
        say "set-up done. To start ZIT Desktop from the app menu: ./run.sh --install-desktop-entry"
    fi
}

desktop_entry() {  # desktop_entry install|remove, with any working Python (the venv's when there is one)
    local py="$VENV/bin/python"
    [ -x "$py" ] || py="$(find_python)" || die "Python 3.11 or newer is needed."
    "$py" packaging/linux/desktop_entry.py "$1"
}

case "${1:-}" in
    test)
        shift
        setup test
        export QT_QPA_PLATFORM=offscreen
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    --install-desktop-entry)
        setup app
        desktop_entry install
        ;;
    --remove-desktop-entry)
        desktop_entry remove
        ;;
    "")
        setup app
        cd "$ORIG"
        export RESOURCE_NAME=zit-desktop  # the X11 WM_CLASS the desktop entry's StartupWMClass names
        exec "$VENV/bin/python" -P -m zit_desktop gui
        ;;
    *)
        setup app
        cd "$ORIG"
        export RESOURCE_NAME=zit-desktop
        exec "$VENV/bin/python" -P -m zit_desktop "$@"
        ;;
esac
