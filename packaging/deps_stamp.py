"""The launchers' dependency stamp: what set-up must install, and the record of what it installed.

    python packaging/deps_stamp.py need VENV TORCH FLAVOUR EXTRAS   # prints all, extras or nothing
    python packaging/deps_stamp.py done VENV TORCH FLAVOUR EXTRAS   # after a successful install

TORCH is the pinned pair ("2.14.1 0.29.1"), FLAVOUR the build (cpu or cuda), EXTRAS ``app`` (what the
window and CLI need: ``pip install -e .``) or ``test`` (``-e .[test]``: pytest, ruff, mypy, …).

The stamp (``VENV/.zit-deps``) holds a hash of pyproject.toml and the torch choice, and the extras
installed with it. ``all``: the hash changed (or no stamp), so torch and the app are installed.
``extras``: same hash, but the test tools are wanted and only the app was installed. ``nothing``:
same hash and the extras installed cover the ones wanted (``test`` covers ``app``). So ``run.sh test``
after ``run.sh`` adds the test tools once, and ``run.sh`` after ``run.sh test`` installs nothing.
Both run.sh and run.bat call this with the venv's own Python, so the rule is written once.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP_NAME = ".zit-deps"
EXTRAS = ("app", "test")  # each covers the ones before it


def want_hash(torch: str, flavour: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(f"\ntorch={torch} flavour={flavour}".encode())
    return digest.hexdigest()


def read_stamp(venv: Path) -> tuple[str, str] | None:
    try:
        fields = (venv / STAMP_NAME).read_text(encoding="utf-8").split()
    except OSError:
        return None
    if len(fields) != 2 or fields[1] not in EXTRAS:
        return None  # an older stamp (hash only) or a damaged one: install everything again
    return fields[0], fields[1]


def need(venv: Path, torch: str, flavour: str, extras: str) -> str:
    stamp = read_stamp(venv)
    if stamp is None or stamp[0] != want_hash(torch, flavour):
        return "all"
    if EXTRAS.index(stamp[1]) >= EXTRAS.index(extras):
        return "nothing"
    return "extras"


def done(venv: Path, torch: str, flavour: str, extras: str) -> None:
    stamp = read_stamp(venv)
    have = stamp[1] if stamp is not None and stamp[0] == want_hash(torch, flavour) else "app"
    kept = max(have, extras, key=EXTRAS.index)  # installing the app again keeps the test tools there
    (venv / STAMP_NAME).write_text(f"{want_hash(torch, flavour)} {kept}\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in ("need", "done") or argv[4] not in EXTRAS:
        print(__doc__, file=sys.stderr)
        return 2
    command, venv, torch, flavour, extras = argv
    if command == "need":
        print(need(Path(venv), torch, flavour, extras))
    else:
        done(Path(venv), torch, flavour, extras)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
