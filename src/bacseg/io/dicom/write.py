"""Writing Digital Mammography X-Ray Image (MG) DICOM files, for the synthetic cohorts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from bacseg.io.dicom.header import MammogramHeader


def write_mammogram(path: Path | str, pixels: np.ndarray, header: MammogramHeader, **extra) -> None:
    """Write an MG DICOM file (uint16 stored values) from ``pixels`` and header fields.

    ``pixels`` are MONOCHROME2-oriented integers in [0, 2**bits_stored - 1]; a MONOCHROME1 header stores
    them inverted, so reading gives them back unchanged. ``header.path`` is not used. ``extra`` sets
    further attributes by DICOM keyword (PatientName, PatientBirthDate, WindowCenter, ...), overriding the
    defaults. Explicit VR little endian with complete file meta; nothing depends on the clock, so the
    same arguments give the same bytes.
    """
    path = Path(path)
    stored = _write_stored_values(path, pixels, header)
    dataset = _write_dataset(stored, header)
    _write_window(dataset, pixels, header)
    _write_extra(path, dataset, extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(path, enforce_file_format=True)


_MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
_VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}
# PatientOrientation (row direction, column direction) with the chest wall on the laterality's side.
_PATIENT_ORIENTATION = {
    ("L", "CC"): ["A", "R"],
    ("R", "CC"): ["P", "L"],
    ("L", "MLO"): ["A", "FR"],
    ("R", "MLO"): ["P", "FL"],
}


def _write_stored_values(path: Path, pixels: np.ndarray, header: MammogramHeader) -> np.ndarray:
    """Check ``pixels`` against the header and return the uint16 values as stored (inverted for MONOCHROME1)."""
    pixels = np.asarray(pixels)
    max_value = 2**header.bits_stored - 1
    if pixels.shape != (header.rows, header.columns):
        raise ValueError(f"{path}: pixels have shape {pixels.shape}, header says {(header.rows, header.columns)}")
    if not np.issubdtype(pixels.dtype, np.integer) or pixels.min() < 0 or pixels.max() > max_value:
        raise ValueError(f"{path}: pixels must be integers in [0, {max_value}] for {header.bits_stored}-bit storage")
    if header.photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"{path}: photometric interpretation {header.photometric!r} is not MONOCHROME1/2")
    stored = pixels.astype(np.uint16)
    return max_value - stored if header.photometric == "MONOCHROME1" else stored


def _write_dataset(stored: np.ndarray, header: MammogramHeader) -> Dataset:
    """The MG image dataset with its file meta, from the header fields and the stored values."""
    if header.view not in _VIEW_CODES or header.laterality not in ("L", "R"):
        raise ValueError(f"cannot write view {header.laterality!r}/{header.view!r}: need laterality L/R, view CC/MLO")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = _MG_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = header.sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = _MG_FOR_PRESENTATION
    ds.SOPInstanceUID = header.sop_instance_uid
    ds.StudyInstanceUID = header.study_uid
    ds.SeriesInstanceUID = header.series_uid
    ds.PatientID = header.patient_id
    ds.PatientName = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = header.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "090000"
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = "MG"
    ds.Manufacturer = "bacseg synthetic"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BodyPartExamined = "BREAST"
    ds.ImageLaterality = header.laterality
    ds.ViewPosition = header.view
    ds.PatientOrientation = _PATIENT_ORIENTATION[header.laterality, header.view]
    ds.ViewCodeSequence = [_write_code(*_VIEW_CODES[header.view])]
    ds.AnatomicRegionSequence = [_write_code("76752008", "Breast")]
    ds.DetectorType = "DIRECT"
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    ds.OrganExposed = "BREAST"
    ds.BurnedInAnnotation = "YES"
    ds.QualityControlImage = "NO"
    ds.LossyImageCompression = "00"
    if header.pixel_spacing_mm is not None:
        spacing = f"{header.pixel_spacing_mm:.6g}"
        ds.PixelSpacing = ds.ImagerPixelSpacing = [spacing, spacing]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = header.photometric
    ds.Rows, ds.Columns = header.rows, header.columns
    ds.BitsAllocated = 16
    ds.BitsStored = header.bits_stored
    ds.HighBit = header.bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1 if header.photometric == "MONOCHROME1" else -1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.VOILUTFunction = "LINEAR"
    ds.PixelData = np.ascontiguousarray(stored, dtype="<u2").tobytes()
    return ds


def _write_code(value: str, meaning: str) -> Dataset:
    """One SNOMED CT code item (view, anatomic region)."""
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    return item


def _write_window(dataset: Dataset, pixels: np.ndarray, header: MammogramHeader) -> None:
    """Default VOI window over the non-background values (0.5-99.5th percentile), on the stored scale."""
    foreground = np.asarray(pixels)[::4, ::4]
    foreground = foreground[foreground > 0]
    low, high = np.percentile(foreground, [0.5, 99.5]) if foreground.size else (0, 2**header.bits_stored - 1)
    center = (low + high) / 2
    if header.photometric == "MONOCHROME1":
        center = 2**header.bits_stored - 1 - center
    dataset.WindowCenter = f"{center:.1f}"
    dataset.WindowWidth = f"{max(high - low, 1.0):.1f}"


def _write_extra(path: Path, dataset: Dataset, extra: dict) -> None:
    """Set ``extra`` attributes by DICOM keyword; an unknown keyword is an error, not a silent no-op."""
    for keyword, value in extra.items():
        if tag_for_keyword(keyword) is None:
            raise ValueError(f"{path}: {keyword!r} is not a DICOM keyword")
        setattr(dataset, keyword, value)
