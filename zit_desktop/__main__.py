"""Entry point: ``zit-desktop`` (CLI when given a command, else the window) and ``python -m zit_desktop``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from zit_desktop.cli.main import main as cli_main

    return cli_main(argv)


def gui_main() -> int:
    return main(["gui"])


if __name__ == "__main__":
    sys.exit(main())
