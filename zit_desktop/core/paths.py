"""The one module that owns where files live.

Order: an explicit ``--data-dir`` (``set_data_dir``), then ``ZIT_DESKTOP_HOME``, then a ``portable``
folder next to the app with a ``portable.txt`` marker, then the platform's user data dir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "ZIT_DESKTOP_HOME"
_override: Path | None = None


def set_data_dir(path: str | os.PathLike[str] | None) -> None:
    global _override
    _override = Path(path).expanduser().resolve() if path else None


def data_dir() -> Path:
    if _override is not None:
        return _override
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    portable = Path(__file__).resolve().parents[2] / "portable"
    if (portable / "portable.txt").exists():
        return portable
    import platformdirs

    return Path(platformdirs.user_data_dir("zit-desktop", appauthor=False))


@dataclass(frozen=True)
class AppPaths:
    root: Path

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def history_db(self) -> Path:
        return self.root / "history.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "zit-desktop.log"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def thumbnails(self) -> Path:
        return self.cache / "thumbnails"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def ensure(self) -> AppPaths:
        for p in (self.root, self.outputs, self.logs, self.cache):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(root: str | os.PathLike[str] | None = None) -> AppPaths:
    return AppPaths(Path(root).expanduser().resolve() if root else data_dir())
