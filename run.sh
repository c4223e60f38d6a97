#!/usr/bin/env bash
# ZIT Desktop launcher and set-up.
#   ./run.sh            set up (first time only) and open the app
#   ./run.sh test       set up, then run the whole test suite
#   ./run.sh ARGS...    set up, then run `zit-desktop ARGS...` (e.g. ./run.sh generate --prompt "一只猫")
# Set-up creates .venv next to this script, picks the torch build (CUDA when an NVIDIA driver is
# present, CPU otherwise) and installs the app. Running again installs nothing unless the
# dependencies changed.
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

setup() {
    local py flavour stamp want
    if [ ! -x "$VENV/bin/python" ]; then
        py="$(find_python)" || die "Python 3.11 or newer is needed. Install it (e.g. 'sudo apt install python3 python3-venv') and run again."
        say "creating $VENV with $py"
        "$py" -m venv "$VENV" || die "could not create the virtual environment (on Debian/Ubuntu: sudo apt install python3-venv)."
    fi
    flavour="$(torch_flavour)"
    want="$( (cat pyproject.toml; echo "torch=$TORCH_VERSION torchvision=$TORCHVISION_VERSION flavour=$flavour") | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.zit-deps"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    say "installing dependencies (torch $TORCH_VERSION, $flavour build); the first time takes a while"
    local pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
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
    "${pip[@]}" -e ".[test]" || die "installing ZIT Desktop's dependencies failed; check your internet connection and run again."
    echo "$want" > "$stamp"
}

setup
case "${1:-}" in
    test)
        shift
        export QT_QPA_PLATFORM=offscreen
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    "")
        cd "$ORIG"
        exec "$VENV/bin/python" -P -m zit_desktop gui
        ;;
    *)
        cd "$ORIG"
        exec "$VENV/bin/python" -P -m zit_desktop "$@"
        ;;
esac
