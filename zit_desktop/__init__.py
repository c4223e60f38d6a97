"""ZIT Desktop: run Z-Image-Turbo locally on ordinary GPUs."""

__version__ = "0.1.0"
APP_NAME = "ZIT Desktop"
APP_ID = "zit-desktop"
# Windows taskbar grouping: the process (app start-up) and the Start-menu shortcut (packaging) use the same id
APP_USER_MODEL_ID = "ZITDesktop.ZITDesktop"
