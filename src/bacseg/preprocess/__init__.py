"""Paper II.A preprocessing: the settings (params), the image algorithms (image), their use on files (files)."""

from bacseg.preprocess.files import (
    PreprocessOutputs,
    preprocess_dicom_file,
    preprocess_file,
    preprocess_manifest,
    write_png,
)
from bacseg.preprocess.image import (
    Preprocessed,
    annotation_mask,
    breast_mask,
    describe_sizes,
    median_footprint,
    preprocess_image,
    threshold_value,
    to_uint8,
)
from bacseg.preprocess.params import THRESHOLD_METHODS, PreprocessError, PreprocessParams

__all__ = [
    "THRESHOLD_METHODS", "PreprocessError", "PreprocessOutputs", "PreprocessParams", "Preprocessed", "annotation_mask",
    "breast_mask", "describe_sizes", "median_footprint", "preprocess_dicom_file", "preprocess_file", "preprocess_image",
    "preprocess_manifest", "threshold_value", "to_uint8", "write_png",
]  # fmt: skip
