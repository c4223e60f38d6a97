"""ZIT Desktop: run Z-Image-Turbo locally on ordinary GPUs."""

__version__ = "0.1.0"
APP_NAME = "ZIT Desktop"
APP_ID = "zit-desktop"
