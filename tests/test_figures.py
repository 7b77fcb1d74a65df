"""Figures draw what they claim: Figure 2's circle areas are proportional to parameter counts."""

import math

import pytest
from matplotlib.patches import Circle

from bacseg.figures.fig2_parameters import HIGHLIGHT_COLOUR, parameter_bubbles

COUNTS = {"SCU-Net": 169_711, "U-Net": 13_395_329, "FPENet": 114_531, "SegNet": 29_443_585}


def test_circle_areas_are_proportional_to_parameters():
    fig = parameter_bubbles(COUNTS)
    circles = sorted((p for p in fig.axes[0].patches if isinstance(p, Circle)), key=lambda c: c.radius)
    areas = [math.pi * c.radius**2 for c in circles]
    counts = sorted(COUNTS.values())
    for area, count in zip(areas, counts):
        assert area / areas[-1] == pytest.approx(count / counts[-1])
    highlighted = [c for c in circles if c.get_facecolor()[:3] == pytest.approx(tuple(int(HIGHLIGHT_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5)))]
    assert [c.radius for c in highlighted] == [circles[1].radius], "SCU-Net, the second smallest, is highlighted"
    assert "78.9x" in fig.axes[0].get_title()


def test_unknown_highlight_is_an_error():
    with pytest.raises(KeyError, match="Nope"):
        parameter_bubbles(COUNTS, highlight="Nope")
