"""MD.ai annotation exports (JSON) in and out.

The export keys each annotation by Study/Series/SOPInstanceUID; BAC centre-lines are "line"
labels whose ``data.vertices`` are [[x, y], ...] in pixel columns/rows. One polyline per calcified
vessel segment; a new polyline starts after >= 1 cm of non-calcified vessel.
"""
