"""Preprocessing settings and the error preprocessing raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from skimage import filters

from bacseg import settings

THRESHOLD_METHODS = {"triangle": filters.threshold_triangle, "li": filters.threshold_li, "otsu": filters.threshold_otsu}


class PreprocessError(ValueError):
    """An image the preprocessing cannot handle (e.g. no breast found); names the image."""


_DEFAULTS = settings.section_defaults("preprocess")


@dataclass(frozen=True)
class PreprocessParams:
    """Preprocessing settings: the config section ``preprocess``, whose schema gives each key's meaning,
    default and range. Sizes are pixels at ``reference_spacing_mm`` (the paper's resolution)."""

    median_size: int = _DEFAULTS["median_size"]
    median_shape: str = _DEFAULTS["median_shape"]
    mask_threshold: str | float = _DEFAULTS["mask_threshold"]  # a THRESHOLD_METHODS name or a fraction
    mask_opening_radius: float = _DEFAULTS["mask_opening_radius"]
    mask_downsample: int = _DEFAULTS["mask_downsample"]
    annotation_closing_radius: float = _DEFAULTS["annotation_closing_radius"]
    annotation_line_width: float = _DEFAULTS["annotation_line_width"]
    contrast: str = _DEFAULTS["contrast"]
    clahe_clip_limit: float = _DEFAULTS["clahe_clip_limit"]
    clahe_tiles: int = _DEFAULTS["clahe_tiles"]
    intensity_percentiles: tuple[float, float] = tuple(_DEFAULTS["intensity_percentiles"])
    voi: str = _DEFAULTS["voi"]  # see bacseg.io.dicom.read_pixels
    size_scaling: str = _DEFAULTS["size_scaling"]
    reference_spacing_mm: float = _DEFAULTS["reference_spacing_mm"]
    size_factor: float = _DEFAULTS["size_factor"]
    png_compress_level: int = _DEFAULTS["png_compress_level"]

    def __post_init__(self):
        settings.resolve("preprocess", self.to_mapping())
        low, high = self.intensity_percentiles
        if not 0 <= low < high <= 100:
            raise settings.SettingsError(
                f"preprocess.intensity_percentiles: need 0 <= low < high <= 100, got {[low, high]}"
            )

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> PreprocessParams:
        """From a config section; an unknown key or bad value is an error naming it."""
        values = settings.resolve("preprocess", mapping)
        return cls(**{**values, "intensity_percentiles": tuple(values["intensity_percentiles"])})

    def to_mapping(self) -> dict:
        return asdict(self)

    def size_scale(self, pixel_spacing_mm: float | None) -> float:
        """Factor turning paper-resolution pixel sizes into this image's pixels."""
        if self.size_scaling == "factor":
            return self.size_factor
        if self.size_scaling == "spacing" and pixel_spacing_mm:
            return self.reference_spacing_mm / pixel_spacing_mm
        return 1.0
