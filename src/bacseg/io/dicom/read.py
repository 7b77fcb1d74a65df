"""Reading mammography DICOM: header and pixels in MONOCHROME2 orientation, one clear error per bad file."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder

from bacseg.io.dicom.header import MammogramHeader
from bacseg.logs import RedactPaths

# pydicom names the file in its warnings, and a file's path may name the patient.
logging.getLogger("pydicom").addFilter(RedactPaths())


class DicomReadError(ValueError):
    """A file that is not a readable mammogram; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def read_header(path: Path | str) -> MammogramHeader:
    """Header only (no pixel decoding): fast enough to scan a whole folder before work starts.

    Checks everything that can be checked without decoding (a DICOM file, a single-frame greyscale
    image, a transfer syntax with an installed decoder, a file long enough for its pixel data) and
    raises DicomReadError naming the file and the first problem found.
    """
    path = Path(path)
    dataset = _read_dataset(path, defer_pixels=True)
    return _header_from(path, dataset)


def read_pixels(path: Path | str, voi: str = "none") -> tuple[MammogramHeader, np.ndarray]:
    """Header and pixels as float32 in MONOCHROME2 orientation (bright = dense tissue).

    ``voi="none"`` (default) returns the modality values (RescaleSlope/Intercept applied), a
    MONOCHROME1 image reflected within its stored range first, so a MONOCHROME1 file and its
    MONOCHROME2 twin give identical arrays. The preprocessing sets its own intensity window, which
    is why the default leaves the file's display settings out. ``voi="lut"`` applies the file's VOI
    LUT Sequence (else its first window), ``voi="window"`` its first window (else its VOI LUT); both
    return values scaled to [0, 1], inverted for MONOCHROME1, and fall back to "none" scaled to
    [0, 1] when the file has neither.
    """
    if voi not in _VOI_CHOICES:
        raise ValueError(f"voi must be one of {sorted(_VOI_CHOICES)}, got {voi!r}")
    path = Path(path)
    dataset = _read_dataset(path, defer_pixels=False)
    header = _header_from(path, dataset)
    try:
        stored = dataset.pixel_array
    except Exception as error:  # decoders raise many types; all mean the same thing here
        syntax = dataset.file_meta.TransferSyntaxUID
        raise DicomReadError(path, f"cannot decode pixel data ({syntax.name}): {error}") from error
    if stored.shape != (header.rows, header.columns):
        expected = (header.rows, header.columns)
        raise DicomReadError(path, f"decoded pixels have shape {stored.shape}, header says {expected}")
    return header, _to_monochrome2(dataset, stored, voi)


_VOI_CHOICES = {"none", "lut", "window"}
_GREYSCALE = ("MONOCHROME1", "MONOCHROME2")
_VIEW_TOKENS = ("XCCL", "XCCM", "MLO", "CC", "ML", "LM", "LMO", "SIO", "FB", "AT")
_VIEW_CODE_MEANINGS = {
    "craniocaudal": "CC",
    "mediolateral oblique": "MLO",
    "mediolateral": "ML",
    "lateromedial": "LM",
    "exaggerated craniocaudal": "XCCL",
    "lateromedial oblique": "LMO",
    "superolateral to inferomedial oblique": "SIO",
    "caudocranial (from below)": "FB",
    "axillary tail": "AT",
}
_LATERALITY_TOKENS = {"L": "L", "LEFT": "L", "R": "R", "RIGHT": "R"}


def _read_dataset(path: Path, defer_pixels: bool) -> pydicom.Dataset:
    """Parse the file, turning every way it can fail into DicomReadError with the reason."""
    if not path.is_file():
        raise DicomReadError(path, "no such file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dataset = pydicom.dcmread(path, defer_size="64 KB" if defer_pixels else None)
        except InvalidDicomError:
            raise DicomReadError(path, "not a DICOM file (no 'DICM' preamble)") from None
        except Exception as error:  # pydicom raises many types on damaged files
            raise DicomReadError(path, f"damaged DICOM file ({type(error).__name__}: {error})") from error
    if any("End of file" in str(warning.message) for warning in caught):
        raise DicomReadError(path, "truncated file (ends inside its data)")
    _check_image(path, dataset)
    return dataset


def _check_image(path: Path, dataset: pydicom.Dataset) -> None:
    """Reject what is not a single-frame greyscale image this installation can decode."""
    if "PixelData" not in dataset:
        kind = dataset.get("SOPClassUID")
        what = f"{kind.name}" if kind else f"Modality {dataset.get('Modality', '?')}"
        if "Image" in what:
            raise DicomReadError(path, f"truncated or damaged: an image ({what}) without Pixel Data")
        raise DicomReadError(path, f"not an image: no Pixel Data ({what})")
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "PhotometricInterpretation"):
        if dataset.get(keyword) in (None, ""):
            raise DicomReadError(path, f"missing {keyword}: not an image or a truncated header")
    photometric = str(dataset.PhotometricInterpretation).strip()
    if photometric not in _GREYSCALE or int(dataset.get("SamplesPerPixel", 1)) != 1:
        raise DicomReadError(path, f"not a greyscale image (PhotometricInterpretation {photometric})")
    if int(dataset.get("NumberOfFrames", 1) or 1) != 1:
        raise DicomReadError(path, f"multi-frame image ({dataset.NumberOfFrames} frames) is not a 2D mammogram")
    syntax = dataset.file_meta.get("TransferSyntaxUID")
    if syntax is None:
        raise DicomReadError(path, "no Transfer Syntax UID in the file meta information")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise DicomReadError(path, f"unsupported transfer syntax {syntax.name}") from None
    if not decoder.is_available:
        raise DicomReadError(path, f"no decoder installed for {syntax.name} (install the pylibjpeg plugins)")
    if not syntax.is_encapsulated:
        needed = int(dataset.Rows) * int(dataset.Columns) * int(dataset.BitsAllocated) // 8
        if path.stat().st_size < needed:
            raise DicomReadError(path, f"truncated file: {path.stat().st_size} bytes, pixel data alone needs {needed}")


def _header_from(path: Path, dataset: pydicom.Dataset) -> MammogramHeader:
    return MammogramHeader(
        path=path,
        patient_id=str(dataset.get("PatientID", "")),
        study_date=str(dataset.get("StudyDate", "") or ""),
        laterality=_laterality(dataset),
        view=_view(dataset),
        rows=int(dataset.Rows),
        columns=int(dataset.Columns),
        pixel_spacing_mm=_pixel_spacing_mm(dataset),
        photometric=str(dataset.PhotometricInterpretation).strip(),
        bits_stored=int(dataset.BitsStored),
        study_uid=str(dataset.get("StudyInstanceUID", "")),
        series_uid=str(dataset.get("SeriesInstanceUID", "")),
        sop_instance_uid=str(dataset.get("SOPInstanceUID", "")),
    )


def _free_text_tokens(dataset: pydicom.Dataset) -> list[str]:
    """Upper-case words of the descriptive fields, the last resort for view and laterality.

    PatientID comes last: CBIS-DDSM names each image "Mass-Test_P_00173_LEFT_CC" and carries no
    ViewPosition or ImageLaterality. The tokens are only matched, never written anywhere.
    """
    keywords = ("SeriesDescription", "ProtocolName", "AcquisitionDeviceProcessingDescription", "PatientID")
    text = " ".join(str(dataset.get(keyword, "") or "") for keyword in keywords)
    return re.split(r"[^A-Z0-9]+", text.upper())


def _laterality(dataset: pydicom.Dataset) -> str:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(dataset.get(keyword, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    found = {_LATERALITY_TOKENS[token] for token in _free_text_tokens(dataset) if token in _LATERALITY_TOKENS}
    return found.pop() if len(found) == 1 else ""


def _view(dataset: pydicom.Dataset) -> str:
    """ViewPosition, else the View Code Sequence's meaning, else a view word in the descriptions."""
    position = str(dataset.get("ViewPosition", "") or "").strip().upper()
    if position:
        return position
    for item in dataset.get("ViewCodeSequence", []):
        meaning = str(item.get("CodeMeaning", "")).lower().replace("-", "")
        if meaning in _VIEW_CODE_MEANINGS:
            return _VIEW_CODE_MEANINGS[meaning]
    tokens = set(_free_text_tokens(dataset))
    for token in _VIEW_TOKENS:
        for side in ("", "L", "R"):
            if side + token in tokens:
                return token
    return ""


def _pixel_spacing_mm(dataset: pydicom.Dataset) -> float | None:
    """Row spacing from PixelSpacing, else ImagerPixelSpacing (the detector plane, usual for MG)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = dataset.get(keyword)
        if spacing:
            return float(spacing[0])
    return None


def _to_monochrome2(dataset: pydicom.Dataset, stored: np.ndarray, voi: str) -> np.ndarray:
    inverted = str(dataset.PhotometricInterpretation).strip() == "MONOCHROME1"
    has_voi = bool(dataset.get("VOILUTSequence")) or "WindowCenter" in dataset
    if voi == "none" or not has_voi:
        if inverted:
            stored = _reflect_in_stored_range(dataset, stored)
        values = apply_modality_lut(stored, dataset).astype(np.float32)
        if voi == "none":
            return values
        low, high = float(values.min()), float(values.max())
        return ((values - low) / max(high - low, 1e-12)).astype(np.float32)
    values = apply_modality_lut(stored, dataset)
    prefer_lut = voi == "lut" or "WindowCenter" not in dataset
    if prefer_lut and dataset.get("VOILUTSequence"):
        lut = dataset.VOILUTSequence[0]
        scaled = apply_voi(values, dataset) / max(float(np.max(lut.LUTData)), 1.0)
    else:
        scaled = _window(values, dataset)
    scaled = np.clip(scaled, 0.0, 1.0).astype(np.float32)
    return 1.0 - scaled if inverted else scaled


def _reflect_in_stored_range(dataset: pydicom.Dataset, stored: np.ndarray) -> np.ndarray:
    """MONOCHROME1 -> MONOCHROME2 by reflecting within the range BitsStored allows."""
    bits = int(dataset.BitsStored)
    if int(dataset.get("PixelRepresentation", 0)) == 1:
        return (-1 - stored.astype(np.int64)).astype(stored.dtype)  # [-2^(b-1), 2^(b-1)-1] onto itself
    return ((1 << bits) - 1 - stored.astype(np.int64)).astype(stored.dtype)


def _window(values: np.ndarray, dataset: pydicom.Dataset) -> np.ndarray:
    """The file's first window (DICOM PS3.3 C.11.2.1.2) mapped onto [0, 1]."""
    center = float(np.atleast_1d(dataset.WindowCenter)[0])
    width = float(np.atleast_1d(dataset.WindowWidth)[0])
    function = str(dataset.get("VOILUTFunction", "LINEAR")).upper()
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return (values - center) / width + 0.5
    return (values - (center - 0.5)) / max(width - 1.0, 1e-12) + 0.5
