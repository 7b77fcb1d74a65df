"""Eq. 3-4 metrics on hand-computed arrays; the cohort table on small PNG/npy files written here."""

import numpy as np
import pytest

from bacseg.metrics.quantification import column_names, metric_names, quantify

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
