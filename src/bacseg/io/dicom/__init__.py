"""Mammography DICOM in and out.

Reading (``read``) returns pixels oriented as MONOCHROME2 (bright = dense tissue), so every later step
sees one convention whatever the file said. Writing (``write``) produces valid Digital Mammography
X-Ray Image (MG) files for the synthetic cohorts. Both share the header fields (``header``).
"""

from bacseg.io.dicom.header import MammogramHeader
from bacseg.io.dicom.read import DicomReadError, read_header, read_pixels
from bacseg.io.dicom.write import write_mammogram

__all__ = ["DicomReadError", "MammogramHeader", "read_header", "read_pixels", "write_mammogram"]
