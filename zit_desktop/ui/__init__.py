"""PySide6 user interface. The only package (with ``zit_desktop.app``) that imports Qt."""
