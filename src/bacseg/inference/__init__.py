"""Whole-image prediction: the tile grid, sliding-window inference and stitching."""
