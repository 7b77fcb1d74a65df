"""Eq. 3-4 metrics on hand-computed arrays; the cohort table on small PNG/npy files written here."""

import numpy as np
import pandas as pd
import pytest

from bacseg.io.png import read_mask_png, read_png, write_png
from bacseg.metrics.quantification import column_names, metric_names, quantify
from bacseg.preprocess import PreprocessOutputs, PreprocessParams, preprocess_image, preprocess_manifest
from bacseg.quantification import (
    metrics_columns,
    pixel_area_mm2,
    quantify_cohort,
    read_metrics,
    write_quantification,
)

# Six pixels; p > 0.5 selects intensities 0, 10, 100, 200 (p = 0.5 exactly is not selected).
IMAGE = np.array([[0, 10, 100], [99, 200, 255]], dtype=np.uint8)
PROBABILITY = np.array([[0.9, 0.6, 0.7], [0.5, 0.55, 0.2]])


def test_metric_names_in_threshold_order():
    assert metric_names([100, 50]) == ["PM", "AM", "SIM", "TAM_100", "TSIM_100", "TAM_50", "TSIM_50"]
    assert column_names([100], physical=True) == [
        "breast_area_px", "PM", "AM", "SIM", "TAM_100", "TSIM_100", "breast_area_mm2", "AM_mm2", "TAM_100_mm2"]


def test_every_metric_by_hand():
    result = quantify(PROBABILITY, IMAGE, cutoff=0.5, thresholds=[100, 200, 255])
    assert list(result) == column_names([100, 200, 255], physical=False)
    assert result["breast_area_px"] == 5
    assert result["PM"] == pytest.approx(3.45)
    assert (result["AM"], result["SIM"]) == (4, 310)
    # >= X: the pixel of intensity exactly 100 counts; 99 and the unselected 255 do not.
    assert (result["TAM_100"], result["TSIM_100"]) == (2, 300)
    assert (result["TAM_200"], result["TSIM_200"]) == (1, 200)
    assert (result["TAM_255"], result["TSIM_255"]) == (0, 0)


def test_area_cutoff_counts_am_apart_from_the_other_metrics():
    """The authors' recipe: AM at 0.5, the intensity metrics at their cutoff 0.65."""
    result = quantify(PROBABILITY, IMAGE, cutoff=0.65, thresholds=[100], area_cutoff=0.5)
    assert (result["AM"], result["SIM"], result["TAM_100"], result["TSIM_100"]) == (4, 100, 1, 100)
    assert quantify(PROBABILITY, IMAGE, cutoff=0.65, thresholds=[100])["AM"] == 2


def test_areas_in_square_millimetres():
    result = quantify(PROBABILITY, IMAGE, cutoff=0.5, thresholds=[100], pixel_area_mm2=0.25)
    assert (result["breast_area_mm2"], result["AM_mm2"], result["TAM_100_mm2"]) == (1.25, 1.0, 0.5)
    with pytest.raises(ValueError, match="pixel_area_mm2"):
        quantify(PROBABILITY, IMAGE, cutoff=0.5, thresholds=[100], pixel_area_mm2=0.0)


def test_empty_map_and_truth_mask():
    empty = quantify(np.zeros(IMAGE.shape, np.float16), IMAGE, cutoff=0.5, thresholds=[100])
    assert empty == {"breast_area_px": 5, "PM": 0.0, "AM": 0, "SIM": 0, "TAM_100": 0, "TSIM_100": 0}
    mask = np.array([[0, 0, 1], [1, 1, 0]], dtype=bool)
    truth = quantify(mask, IMAGE, cutoff=0.5, thresholds=[100])
    assert truth == {"breast_area_px": 5, "PM": 3.0, "AM": 3, "SIM": 399, "TAM_100": 2, "TSIM_100": 300}


def test_sums_do_not_wrap_at_256():
    """A uint8 sum that NumPy 2 would wrap (4 x 255 = 1020, 252 modulo 256) is exact."""
    bright = np.full((2, 2), 255, np.uint8)
    result = quantify(np.ones((2, 2), np.float16), bright, cutoff=0.5, thresholds=[200])
    assert (result["SIM"], result["TSIM_200"]) == (1020, 1020)
    # float16 maps accumulate in float64: 10,000 x float16(0.3) is 3000.488..., a float16 sum rounds it to 3000.
    faint = np.full((100, 100), 0.3, np.float16)
    assert quantify(faint, np.ones((100, 100), np.uint8), cutoff=0.5, thresholds=[])["PM"] == 3000.48828125


@pytest.mark.parametrize(("probabilities", "intensities", "kwargs", "message"), [
    (PROBABILITY, IMAGE.astype(np.uint16), {}, "uint8"),
    (PROBABILITY[:, :2], IMAGE, {}, "differ in shape"),
    (PROBABILITY.astype(str), IMAGE, {}, "real numbers"),
    (PROBABILITY, IMAGE, {"thresholds": [100, 100]}, "repeat"),
    (PROBABILITY, IMAGE, {"thresholds": [99.5]}, "integers"),
    (PROBABILITY, IMAGE, {"cutoff": 1.0}, "cutoff"),
    (np.full(IMAGE.shape, np.nan), IMAGE, {}, "finite"),
])
def test_bad_input_is_a_clear_error(probabilities, intensities, kwargs, message):
    with pytest.raises(ValueError, match=message):
        quantify(probabilities, intensities, **({"cutoff": 0.5, "thresholds": [100]} | kwargs))


# --- the cohort table -------------------------------------------------------------------------------------------

SETTINGS = {"model": "SCU-Net", "cutoff": 0.5, "thresholds": [100, 200], "intensity_threshold": 100}
MANIFEST_COLUMNS = ["image_id", "subject_id", "cohort", "exam_date", "laterality", "view", "split", "annotation"]


def _manifest(path, image_ids):
    views = ["CC", "MLO"]
    rows = [[i, "A-S0001", "A", "2019-03-01", "L", view, "validation", True] for i, view in zip(image_ids, views)]
    pd.DataFrame(rows, columns=MANIFEST_COLUMNS).to_csv(path, index=False)
    return path


def _predictions(folder, maps, model="SCU-Net"):
    """predict's table: float16 maps under probabilities/, paths relative to the table's folder."""
    (folder / "probabilities").mkdir(parents=True)
    for image_id, values in maps.items():
        np.save(folder / "probabilities" / f"{image_id}.npy", values.astype(np.float16))
    paths = [f"probabilities/{i}.npy" for i in maps]
    table = pd.DataFrame({"image_id": list(maps), "split": "validation", "path": paths, "model": model, "seconds": 0.1})
    table.to_csv(folder / "predictions.csv", index=False)
    return folder / "predictions.csv"


@pytest.fixture
def cohort(tmp_path):
    """Two 2x3 images: I1 annotated (pixel spacing 0.5 mm), I2 without annotation or spacing."""
    pre = tmp_path / "preprocessed"
    write_png(pre / "images" / "I1.png", IMAGE)
    write_png(pre / "images" / "I2.png", IMAGE[::-1].copy())
    write_png(pre / "bac_masks" / "I1.png", np.array([[0, 0, 1], [1, 1, 0]], dtype=bool))
    table = pd.DataFrame({"image_id": ["I1", "I2"], "split": "validation", "rows": 2, "columns": 3,
                          "pixel_spacing_mm": [0.5, None], "size_scale": [0.14, 1.0], "annotated": [True, False],
                          "image_png": ["images/I1.png", "images/I2.png"], "bac_mask_png": ["bac_masks/I1.png", ""]})
    table.to_csv(pre / "preprocessed.csv", index=False)
    predictions = _predictions(tmp_path / "predictions", {"I1": PROBABILITY, "I2": PROBABILITY})
    return pre / "preprocessed.csv", _manifest(tmp_path / "manifest.csv", ["I1", "I2"]), predictions


def test_cohort_table_has_a_row_per_image_and_source(cohort, tmp_path):
    preprocessed, manifest, predictions = cohort
    out = tmp_path / "metrics.csv"
    table = write_quantification(out, preprocessed, manifest, predictions_table=predictions, settings=SETTINGS)
    assert list(table.columns) == metrics_columns([100, 200])
    assert list(zip(table["image_id"], table["source"])) == [("I1", "predicted"), ("I1", "truth"), ("I2", "predicted")]
    assert list(table["model"]) == ["SCU-Net", "", "SCU-Net"]
    assert list(table["view"]) == ["CC", "CC", "MLO"] and set(table["intensity_source"]) == {"preprocessed"}
    predicted, truth, flipped = (row for _, row in table.iterrows())
    # float16 storage of the map: PM within float16 rounding of 3.45; the selections are unchanged.
    assert predicted["PM"] == pytest.approx(3.45, abs=3e-3)
    assert (predicted["AM"], predicted["SIM"], predicted["TAM_100"], predicted["TSIM_100"]) == (4, 310, 2, 300)
    assert (truth["PM"], truth["AM"], truth["SIM"], truth["TAM_100"], truth["TSIM_100"]) == (3.0, 3, 399, 2, 300)
    # 0.5 mm pixels: 0.25 mm^2 each.
    assert (predicted["pixel_area_mm2"], predicted["breast_area_mm2"], predicted["TAM_100_mm2"]) == (0.25, 1.25, 0.5)
    # I2: the image upside down under the same map selects 99, 200, 255 and 10; no spacing, no mm^2.
    assert (flipped["SIM"], flipped["TAM_100"], flipped["TAM_200"]) == (99 + 200 + 255 + 10, 2, 2)
    assert np.isnan(flipped["pixel_area_mm2"]) and np.isnan(flipped["TAM_200_mm2"])
    again = read_metrics(out)
    assert again["model"].tolist() == ["SCU-Net", "", "SCU-Net"] and again["exam_date"].iloc[0] == "2019-03-01"
    pd.testing.assert_frame_equal(again, table, check_dtype=False)


def test_truth_rows_alone_without_predictions(cohort):
    preprocessed, manifest, _ = cohort
    table = quantify_cohort(preprocessed, manifest, settings=SETTINGS)
    assert list(zip(table["image_id"], table["source"])) == [("I1", "truth")]


def test_real_preprocessed_mammogram(reference_dir, tmp_path):
    """A real mammogram through preprocessing: the label quantified as truth equals a map that is 0.9 on it and 0
    elsewhere; this file has no pixel spacing, so no mm^2."""
    source = reference_dir / "real_mammograms" / "CBIS-DDSM_Mass-Test_P_00173_LEFT_CC_ds4_rle.dcm"
    outputs = PreprocessOutputs.in_folder(tmp_path / "preprocessed")
    lines = {"I1": [[[300.0, 400.0], [350.0, 520.0]]]}
    row = preprocess_manifest(pd.DataFrame({"image_id": ["I1"], "split": ["validation"]}), {"I1": str(source)},
                              outputs, annotations=lines).iloc[0]
    label = read_mask_png(outputs.table.parent / row["bac_mask_png"])
    predictions = _predictions(tmp_path / "predictions", {"I1": label * 0.9})
    table = quantify_cohort(outputs.table, _manifest(tmp_path / "manifest.csv", ["I1"]),
                            predictions_table=predictions, settings=SETTINGS).set_index("source")
    image = read_png(outputs.table.parent / row["image_png"])
    selected = image[label].astype(int)
    assert table.at["truth", "AM"] == table.at["predicted", "AM"] == label.sum() > 100
    assert table.at["truth", "SIM"] == table.at["predicted", "SIM"] == selected.sum()
    assert table.at["truth", "TSIM_100"] == selected[selected >= 100].sum()
    assert table.at["truth", "breast_area_px"] == np.count_nonzero(image)
    assert np.isnan(table.at["truth", "pixel_area_mm2"])


def test_preprocessing_keeps_the_dicom_pixel_grid():
    """Why pixel_area_mm2 is the DICOM spacing squared: at 0.28 mm (size_scale 0.25) the output is the input's grid."""
    rows, columns = np.mgrid[:120, :90]
    pixels = np.where((rows - 60) ** 2 + columns**2 < 55**2, 0.6 + 0.01 * (rows % 7), 0.0)
    result = preprocess_image(pixels, PreprocessParams(), pixel_spacing_mm=0.28)
    assert result.size_scale == 0.25 and result.image.shape == pixels.shape
    assert pixel_area_mm2(0.28) == pytest.approx(0.0784) and np.isnan(pixel_area_mm2(None))


def test_cohort_errors_name_the_table_and_image(cohort, tmp_path):
    preprocessed, manifest, predictions = cohort
    with pytest.raises(ValueError, match="quantify.model is 'SCU-Net'"):
        quantify_cohort(preprocessed, manifest, predictions_table=_predictions(tmp_path / "u", {"I1": PROBABILITY},
                                                                                model="U-Net"), settings=SETTINGS)
    with pytest.raises(ValueError, match="manifest.csv: no row for image I2"):
        quantify_cohort(preprocessed, _manifest(tmp_path / "manifest.csv", ["I1"]), predictions_table=predictions,
                        settings=SETTINGS)
    with pytest.raises(ValueError, match="not among quantify.thresholds"):
        quantify_cohort(preprocessed, manifest, settings=SETTINGS | {"intensity_threshold": 75})
    write_png(preprocessed.parent / "images" / "I1.png", IMAGE[:, :2].copy())
    with pytest.raises(ValueError, match="image I1 is \\(2, 2\\), not its DICOM grid 2x3"):
        quantify_cohort(preprocessed, manifest, settings=SETTINGS)
