"""Qt-free core: requests, presets, events, engine, planner, history, paths, settings.

Nothing here imports Qt. Only ``zit_desktop.core.engine`` imports torch / diffusers.
"""
