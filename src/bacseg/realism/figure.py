"""The realism figure: synthetic crops (top row) and real crops (bottom row) of one physical size at one pixel
size, each showing the judge's pixels above the cutoff in green (and, on synthetic crops, the BAC label's
outline in magenta), so what the judge reads as BAC can be compared by eye.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

GREEN, MAGENTA = np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0])
SCALE_BAR_MM = 5.0


@dataclass(frozen=True)
class Crop:
    name: str
    image: np.ndarray  # uint8, what the judge saw
    predicted: np.ndarray  # bool, probability > cutoff
    label: np.ndarray | None  # bool BAC label (synthetic only)


def crop_at(name: str, image, probabilities, label, cutoff: float, side_px: int, focus: np.ndarray) -> Crop:
    """A ``side_px`` square crop centred on the largest component of ``focus`` (else on the breast), kept inside
    the image."""
    target = focus if focus.any() else image > 0
    components, count = ndimage.label(target, structure=np.ones((3, 3)))
    largest = np.bincount(components.ravel())[1:].argmax() + 1 if count else 0
    centre = np.array(ndimage.center_of_mass(components == largest)) if count else np.array(image.shape) / 2
    top, left = (int(np.clip(round(c - side_px / 2), 0, max(s - side_px, 0))) for c, s in zip(centre, image.shape))
    box = (slice(top, top + side_px), slice(left, left + side_px))
    return Crop(name, image[box], probabilities[box] > cutoff, None if label is None else label[box])


def _picture(crop: Crop) -> np.ndarray:
    picture = np.repeat(crop.image[..., None] / 255.0, 3, axis=-1)
    picture[crop.predicted] = 0.45 * picture[crop.predicted] + 0.55 * GREEN
    if crop.label is not None:
        picture[crop.label & ~ndimage.binary_erosion(crop.label, iterations=2)] = MAGENTA
    return picture


def draw_realism_figure(synthetic: list[Crop], real: list[Crop], spacing_mm: float, crop_mm: float,
                        path: Path | str, *, dpi: int = 150) -> None:  # fmt: skip
    """Write the two-row figure to ``path`` (PNG)."""
    columns = max(len(synthetic), len(real), 1)
    figure, axes = plt.subplots(2, columns, figsize=(2.6 * columns, 5.6), squeeze=False)
    for row, crops, title in ((0, synthetic, "synthetic"), (1, real, "real")):
        for column in range(columns):
            axis = axes[row, column]
            axis.set_axis_off()
            if column >= len(crops):
                continue
            crop = crops[column]
            axis.imshow(_picture(crop), interpolation="nearest")
            axis.set_title(f"{title}: {crop.name}", fontsize=7)
            bar = SCALE_BAR_MM / spacing_mm
            axis.plot([4, 4 + bar], [crop.image.shape[0] - 6] * 2, color="white", linewidth=2)
    figure.suptitle(f"the authors' SCU-Net on {crop_mm:g} mm crops at {spacing_mm:g} mm pixels: judge > cutoff "
                    f"green, synthetic BAC label magenta; bar {SCALE_BAR_MM:g} mm", fontsize=8)  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
