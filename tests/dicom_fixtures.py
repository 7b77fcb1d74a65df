"""DICOM files for tests: broken ones of every kind, and variants of real ones."""

from pathlib import Path

import pydicom


def make_bad_files(real_file: Path, folder: Path) -> dict[Path, str]:
    """Broken files of each kind, with the reason each must be reported with."""
    folder.mkdir(parents=True, exist_ok=True)
    data = real_file.read_bytes()
    bad = {
        folder / "truncated.dcm": (data[: len(data) // 2], "truncated"),
        folder / "header_only.dcm": (data[:600], "truncated or damaged"),
        folder / "notes.txt": (b"not an image\n" * 50, "not a DICOM file"),
    }
    for path, (content, _) in bad.items():
        path.write_bytes(content)
    report = pydicom.Dataset()
    report.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    report.SOPInstanceUID = pydicom.uid.generate_uid()
    report.Modality = "SR"
    report.file_meta = pydicom.dataset.FileMetaDataset()
    report.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    report.file_meta.MediaStorageSOPClassUID = report.SOPClassUID
    report.file_meta.MediaStorageSOPInstanceUID = report.SOPInstanceUID
    report.save_as(folder / "report.dcm", enforce_file_format=True)
    reasons = {path: reason for path, (_, reason) in bad.items()}
    reasons[folder / "report.dcm"] = "not an image"
    return reasons


def save_variant(source: Path, target: Path, change) -> Path:
    """Uncompressed copy of ``source`` with ``change(dataset, stored_pixels)`` applied."""
    dataset = pydicom.dcmread(source)
    dataset.decompress()
    change(dataset, dataset.pixel_array)
    dataset.save_as(target)
    return target
