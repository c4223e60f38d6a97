"""Two-stage generation in the window: explore a grid of variations, finalize the chosen image."""
