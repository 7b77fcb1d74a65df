"""Preprocessing settings and the error preprocessing raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from skimage import filters

THRESHOLD_METHODS = {"triangle": filters.threshold_triangle, "li": filters.threshold_li, "otsu": filters.threshold_otsu}


class PreprocessError(ValueError):
    """An image the preprocessing cannot handle (e.g. no breast found); names the image."""


@dataclass(frozen=True)
class PreprocessParams:
    """Preprocessing settings; sizes are pixels at ``reference_spacing_mm`` (the paper's resolution)."""

    median_size: int = 5  # window width in pixels
    median_shape: str = "square"  # "square" (authors' code) | "disk" (diameter median_size)
    mask_threshold: str | float = "triangle"  # a THRESHOLD_METHODS name, or a fraction of the intensity range
    mask_opening_radius: float = 10.0  # disk radius of the opening (erode, then dilate) that removes labels
    mask_downsample: int = 4  # breast mask found at 1/k resolution (1 = full resolution)
    annotation_closing_radius: float = 10.0  # disk radius of the closing (dilate, then erode) of polylines
    annotation_line_width: float = 1.0  # width the centre-lines are drawn with (1: one pixel, as annotated)
    contrast: str = "clahe"  # "clahe" | "none"
    clahe_clip_limit: float = 0.01
    clahe_tiles: int = 8  # contextual regions per side
    intensity_percentiles: tuple[float, float] = (0.1, 99.99)  # of breast pixels, mapped onto 0 and 255
    voi: str = "none"  # DICOM VOI LUT / window: "none" | "lut" | "window" (see bacseg.io.dicom.read_pixels)
    size_scaling: str = "spacing"  # "spacing": reference/PixelSpacing | "factor": size_factor | "none"
    reference_spacing_mm: float = 0.07
    size_factor: float = 1.0
    png_compress_level: int = 1  # zlib level of the written PNGs (1: fast)

    def __post_init__(self):
        checks = {
            "median_size": self.median_size >= 1,
            "median_shape": self.median_shape in ("square", "disk"),
            "mask_threshold": self.mask_threshold in THRESHOLD_METHODS
            or (isinstance(self.mask_threshold, (int, float)) and 0 < self.mask_threshold < 1),
            "mask_opening_radius": self.mask_opening_radius >= 0,
            "mask_downsample": isinstance(self.mask_downsample, int) and self.mask_downsample >= 1,
            "annotation_closing_radius": self.annotation_closing_radius >= 0,
            "annotation_line_width": self.annotation_line_width >= 1,
            "contrast": self.contrast in ("clahe", "none"),
            "clahe_clip_limit": 0 <= self.clahe_clip_limit <= 1,
            "clahe_tiles": self.clahe_tiles >= 1,
            "intensity_percentiles": len(self.intensity_percentiles) == 2
            and 0 <= self.intensity_percentiles[0] < self.intensity_percentiles[1] <= 100,
            "voi": self.voi in ("none", "lut", "window"),
            "size_scaling": self.size_scaling in ("spacing", "factor", "none"),
            "reference_spacing_mm": self.reference_spacing_mm > 0,
            "size_factor": self.size_factor > 0,
            "png_compress_level": 0 <= self.png_compress_level <= 9,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            listing = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ValueError(f"invalid preprocessing parameter(s): {listing}")

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> PreprocessParams:
        """From a config section; an unknown key is an error naming it."""
        mapping = dict(mapping or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(f"unknown preprocessing key(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if "intensity_percentiles" in mapping:
            mapping["intensity_percentiles"] = tuple(mapping["intensity_percentiles"])
        return cls(**mapping)

    def to_mapping(self) -> dict:
        return asdict(self)

    def size_scale(self, pixel_spacing_mm: float | None) -> float:
        """Factor turning paper-resolution pixel sizes into this image's pixels."""
        if self.size_scaling == "factor":
            return self.size_factor
        if self.size_scaling == "spacing" and pixel_spacing_mm:
            return self.reference_spacing_mm / pixel_spacing_mm
        return 1.0
