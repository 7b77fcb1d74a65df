"""Preprocessing settings and the error preprocessing raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from skimage import filters

from bacseg import settings

THRESHOLD_METHODS = {"triangle": filters.threshold_triangle, "li": filters.threshold_li, "otsu": filters.threshold_otsu}


class PreprocessError(ValueError):
    """An image the preprocessing cannot handle (e.g. no breast found); names the image."""


@dataclass(frozen=True)
@settings.schema_defaults("preprocess")
class PreprocessParams:
    """Preprocessing settings: the config section ``preprocess``, whose schema gives each key's meaning,
    default and range. Sizes are pixels at ``reference_spacing_mm`` (the paper's resolution)."""

    median_size: int
    median_shape: str
    mask_threshold: str | float  # a THRESHOLD_METHODS name or a fraction of the intensity range
    mask_unexposed_rows: float
    mask_unexposed_margin: float
    mask_unexposed_fade: float
    mask_opening_radius: float
    mask_downsample: int
    annotation_closing_radius: float
    annotation_line_width: float
    contrast: str
    clahe_clip_limit: float
    clahe_tiles: int
    intensity_percentiles: tuple[float, float]
    voi: str  # see bacseg.io.dicom.read_pixels
    size_scaling: str
    reference_spacing_mm: float
    size_factor: float
    png_compress_level: int

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
        return cls(**settings.as_fields(settings.resolve("preprocess", mapping)))

    def to_mapping(self) -> dict:
        return asdict(self)

    def size_scale(self, pixel_spacing_mm: float | None) -> float:
        """Factor turning paper-resolution pixel sizes into this image's pixels."""
        if self.size_scaling == "factor":
            return self.size_factor
        if self.size_scaling == "spacing" and pixel_spacing_mm:
            return self.reference_spacing_mm / pixel_spacing_mm
        return 1.0
