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

    Every circle is scaled against the largest network, which fills its grid cell; each row is as
    tall as its largest circle, so small networks do not float in empty space.
    """
    if highlight not in counts:
        raise KeyError(f"{highlight!r} is not among the networks: {sorted(counts)}")
    ordered = sorted(counts.items(), key=lambda kv: kv[1])
    max_radius, label_space = 0.45, 0.42
    largest = ordered[-1][1]
    radii = [max_radius * math.sqrt(n / largest) for _, n in ordered]
    rows = [list(range(i, min(i + columns, len(ordered)))) for i in range(0, len(ordered), columns)]

    fig, ax = plt.subplots(figsize=(1.6 * columns, 4.5))
    top = 0.0
    for row in rows:
        row_radius = max(radii[i] for i in row)
        centre_y = top - row_radius
        for col, i in enumerate(row):
            name, n = ordered[i]
            colour = HIGHLIGHT_COLOUR if name == highlight else OTHER_COLOUR
            ax.add_patch(Circle((col, centre_y), radii[i], facecolor=colour, alpha=0.85, edgecolor="black", linewidth=0.6))
            weight = "bold" if name == highlight else "normal"
            ax.text(col, centre_y - row_radius - 0.06, name, ha="center", va="top", fontsize=9, fontweight=weight)
            ax.text(col, centre_y - row_radius - 0.22, _format_count(n), ha="center", va="top", fontsize=8, color="#333333")
        top = centre_y - row_radius - label_space

    ax.set_xlim(-0.6, columns - 0.4)
    ax.set_ylim(top, 0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    title = "Trainable parameters (circle area proportional to count)"
    if "U-Net" in counts:
        title += f"; U-Net / {highlight} = {counts['U-Net'] / counts[highlight]:.1f}x"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
