"""Paired tests against SCU-Net: scipy's t-test and Wilcoxon on correctly paired samples, Holm as statsmodels'."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bacseg.stats import holm, paired_tests

RNG = np.random.default_rng(7)
IDS = [f"img{i:02d}" for i in range(12)]
SCORES = {"SCU-Net": RNG.uniform(0.5, 0.9, 12), "U-Net": RNG.uniform(0.4, 0.9, 12), "CGNet": RNG.uniform(0.3, 0.7, 12)}


def _per_sample(values, order):
    frame = pd.DataFrame({"image_id": IDS, **{m: values for m in ("recall", "precision", "accuracy", "f1", "jaccard")}})
    return frame.iloc[order].reset_index(drop=True)


def _models():
    """Each model's rows in another order, so only pairing by image_id lines them up."""
    return {model: _per_sample(values, RNG.permutation(12)) for model, values in SCORES.items()}


def test_p_values_are_scipys_on_paired_samples():
    tests = paired_tests(_models()).set_index(["model", "metric"])
    assert sorted(tests.index.get_level_values("model").unique()) == ["CGNet", "U-Net"]
    for model in ("U-Net", "CGNet"):
        row = tests.loc[(model, "f1")]
        expected_t = stats.ttest_rel(SCORES[model], SCORES["SCU-Net"])
        assert row["n_pairs"] == 12
        assert row["t_statistic"] == pytest.approx(expected_t.statistic)
        assert row["p_ttest"] == pytest.approx(expected_t.pvalue)
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(SCORES[model], SCORES["SCU-Net"]).pvalue)
        assert row["mean_difference"] == pytest.approx(np.mean(SCORES[model] - SCORES["SCU-Net"]))


def test_holm_within_each_metric_is_statsmodels():
    tests = paired_tests(_models())
    for _, group in tests.groupby("metric"):
        np.testing.assert_allclose(group["p_ttest_holm"], multipletests(group["p_ttest"], method="holm")[1])


@pytest.mark.parametrize("p_values", [[0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.01, 0.6, 0.9], [0.5], [0.4, 0.45]])
def test_holm_equals_statsmodels_with_ties_and_caps(p_values):
    """Ties, a step-down that must stay monotone, and products above 1 (capped)."""
    p_values = np.array(p_values)
    np.testing.assert_allclose(holm(p_values), multipletests(p_values, method="holm")[1], rtol=0, atol=1e-15)


def test_pairs_with_an_undefined_score_are_left_out():
    models = _models()
    models["U-Net"].loc[models["U-Net"]["image_id"] == "img03", "f1"] = np.nan
    models["SCU-Net"] = models["SCU-Net"][models["SCU-Net"]["image_id"] != "img05"]
    tests = paired_tests(models).set_index(["model", "metric"])
    assert tests.loc[("U-Net", "f1"), "n_pairs"] == 10 and tests.loc[("U-Net", "recall"), "n_pairs"] == 11
    keep = [i not in (3, 5) for i in range(12)]
    expected = stats.ttest_rel(SCORES["U-Net"][keep], SCORES["SCU-Net"][keep]).pvalue
    assert tests.loc[("U-Net", "f1"), "p_ttest"] == pytest.approx(expected)


def test_patches_pair_on_image_and_position():
    frame = pd.DataFrame({"image_id": ["a", "a"], "y": [0, 448], "x": [0, 0], "f1": [0.5, 0.7]})
    other = frame.assign(f1=[0.4, 0.9]).iloc[::-1]
    row = paired_tests({"SCU-Net": frame, "U-Net": other}, metrics=["f1"]).iloc[0]
    assert row["n_pairs"] == 2 and row["mean_difference"] == pytest.approx(0.05)


def test_missing_reference_and_mismatched_ids_are_errors():
    with pytest.raises(KeyError, match="SCU-Net"):
        paired_tests({"U-Net": _models()["U-Net"]})
    models = _models()
    models["U-Net"] = models["U-Net"].assign(y=0, x=0)
    with pytest.raises(ValueError, match="U-Net: ID columns"):
        paired_tests(models)
