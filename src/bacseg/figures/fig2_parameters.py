"""Figure 2: the networks' parameter counts as circles whose area is proportional to the count."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

HIGHLIGHT_COLOUR = "#c0392b"
OTHER_COLOUR = "#7f8c8d"


def _format_count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def parameter_bubbles(counts: dict[str, int], *, highlight: str = "SCU-Net", columns: int = 7) -> plt.Figure:
    """Circles on a grid, smallest first; area is proportional to parameters so a 79x gap looks 79x.

    Every circle is scaled against the largest network, which fills its grid cell.
    """
    if highlight not in counts:
        raise KeyError(f"{highlight!r} is not among the networks: {sorted(counts)}")
    ordered = sorted(counts.items(), key=lambda kv: kv[1])
    rows = math.ceil(len(ordered) / columns)
    cell = 1.0
    max_radius = 0.45 * cell
    largest = ordered[-1][1]

    fig, ax = plt.subplots(figsize=(1.6 * columns, 1.9 * rows + 0.6))
    for i, (name, n) in enumerate(ordered):
        row, col = divmod(i, columns)
        x, y = col * cell, -row * cell * 1.25
        radius = max_radius * math.sqrt(n / largest)
        colour = HIGHLIGHT_COLOUR if name == highlight else OTHER_COLOUR
        ax.add_patch(Circle((x, y), radius, facecolor=colour, alpha=0.85, edgecolor="black", linewidth=0.6))
        weight = "bold" if name == highlight else "normal"
        ax.text(x, y - max_radius - 0.08, name, ha="center", va="top", fontsize=9, fontweight=weight)
        ax.text(x, y - max_radius - 0.26, _format_count(n), ha="center", va="top", fontsize=8, color="#333333")

    ax.set_xlim(-0.6 * cell, (columns - 0.4) * cell)
    ax.set_ylim(-(rows - 1) * cell * 1.25 - 0.95, 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    title = "Trainable parameters (circle area proportional to count)"
    if "U-Net" in counts:
        title += f"; U-Net / {highlight} = {counts['U-Net'] / counts[highlight]:.1f}x"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
