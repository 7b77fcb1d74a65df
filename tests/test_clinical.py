"""Agreement statistics against scipy and hand-computed values, Figure 5's table, the breast-CT comparison and the
longitudinal analysis on small hand-made tables with known answers."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.graphics.agreement import mean_diff_plot

from bacseg.clinical import agreement, bland_altman, figure5_markdown, figure5_table, regression, truth_by_exam
from bacseg.ct_comparison import TRUE_MASS, VISIBLE_MASS, ct_comparison, ct_comparison_markdown, per_subject
from bacseg.longitudinal import by_subject, per_exam, summary, summary_markdown

# y on x: slope 5.5 / 5 = 1.1, intercept 1.1, R^2 = 5.5^2 / (5 * 8.75), SE of slope sqrt(2.7 / 2 / 5).
X = [0.0, 1.0, 2.0, 3.0]
Y = [1.0, 3.0, 2.0, 5.0]


def test_regression_by_hand_and_against_scipy():
    fit = regression(Y, X)
    assert (fit.slope, fit.intercept, fit.n) == (pytest.approx(1.1), pytest.approx(1.1), 4)
    assert fit.r2 == pytest.approx(30.25 / 43.75) and fit.std_err == pytest.approx(math.sqrt(0.27))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 40)
    y = 0.8 * x + rng.normal(0, 10, 40)
    reference = stats.linregress(x, y)
    fit = regression(y, x)
    assert fit.r2 == pytest.approx(reference.rvalue**2) and fit.std_err == pytest.approx(reference.stderr)
    assert fit.intercept_stderr == pytest.approx(reference.intercept_stderr)


def test_regression_drops_nan_pairs_and_needs_three_and_a_spread():
    assert regression([*Y, np.nan], [*X, 7.0]) == regression(Y, X)
    assert math.isnan(regression(Y[:2], X[:2]).r2) and regression(Y[:2], X[:2]).n == 2
    assert math.isnan(regression(Y, [1.0] * 4).slope)
    assert math.isnan(regression([2.0] * 4, X).r2)  # a constant measure: no correlation
    with pytest.raises(ValueError, match="one length"):
        regression(Y, X[:3])


def test_bland_altman_limits_use_the_sample_sd():
    predicted, truth = np.array([3.0, 5.0, 7.0, 9.0]), np.array([2.0, 3.0, 4.0, 5.0])  # differences 1, 2, 3, 4
    ba = bland_altman(predicted, truth)
    sd = math.sqrt(5 / 3)
    assert (ba.mean_difference, ba.sd_difference, ba.n) == (2.5, pytest.approx(sd), 4)
    assert (ba.lower_limit, ba.upper_limit) == (pytest.approx(2.5 - 1.96 * sd), pytest.approx(2.5 + 1.96 * sd))
    # statsmodels' mean_diff_plot draws its limits with ddof 0: narrower by sqrt((n - 1) / n).
    figure = mean_diff_plot(predicted, truth)
    lines = sorted(line.get_ydata()[0] for line in figure.axes[0].lines)
    plt.close(figure)
    assert lines == pytest.approx([2.5 - 1.96 * sd * math.sqrt(3 / 4), 2.5, 2.5 + 1.96 * sd * math.sqrt(3 / 4)])
    row = agreement(predicted, truth).as_row()
    assert list(row) == ["slope", "intercept", "r2", "std_err", "intercept_stderr", "n", "mean_difference",
                         "sd_difference", "lower_limit", "upper_limit"]
    assert row["r2"] == 1.0 and row["slope"] == pytest.approx(2.0)


def test_figure5_table_pairs_validation_images_and_puts_the_paper_beside():
    rows = []
    for i, (truth, predicted) in enumerate(zip(X, Y)):
        for source, value in (("truth", truth), ("predicted", predicted)):
            rows.append({"image_id": f"I{i}", "split": "validation", "source": source, "PM": value,
                         "TAM_100": 2 * value, "TAM_50": value + 1})
    rows.append({"image_id": "T0", "split": "train", "source": "predicted", "PM": 90.0, "TAM_100": 1.0, "TAM_50": 1.0})
    rows.append({"image_id": "T0", "split": "train", "source": "truth", "PM": 0.0, "TAM_100": 1.0, "TAM_50": 1.0})
    rows.append({"image_id": "U0", "split": "validation", "source": "predicted", "PM": 50.0, "TAM_100": 0, "TAM_50": 0})
    table = figure5_table(pd.DataFrame(rows), ["PM", "TAM_100", "TAM_50"]).set_index("metric")
    assert table["n"].tolist() == [4, 4, 4]
    assert table["r2"].tolist() == pytest.approx([30.25 / 43.75] * 3)  # scaling and shifting keep R^2
    assert table.at["TAM_100", "slope"] == pytest.approx(1.1)
    assert table.at["TAM_100", "paper_r2"] == 0.973 and math.isnan(table.at["PM", "paper_r2"])
    assert table.at["PM", "paper_r2_above"] == 0.95 and math.isnan(table.at["TAM_50", "paper_r2_above"])
    text = figure5_markdown(table.reset_index())
    assert "| TAM_100 | 4 | 0.691 |" in text and "0.973" in text and "> 0.95" in text
    with pytest.raises(ValueError, match="no image of split 'test'"):
        figure5_table(pd.DataFrame(rows), ["PM"], split="test")


def _exam_images(subject, date, views, **values):
    """Predicted rows of one exam; each keyword is a list of per-view values."""
    return [{"image_id": f"{subject}-{date}-{lat}{view}", "subject_id": subject, "exam_date": date, "laterality": lat,
             "view": view, "split": "test", "source": "predicted", **{k: v[n] for k, v in values.items()}}
            for n, (lat, view) in enumerate(views)]


def test_truth_by_exam_sums_the_breasts_not_the_views():
    views = [("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]
    images = pd.DataFrame(_exam_images("S1", "2010-01-05", views))
    truth = pd.DataFrame({"image_id": images["image_id"], "laterality": ["L", "L", "R", "R"],
                          "burden": [0.2, 0.2, 0.5, 0.5]})
    result = truth_by_exam(images, truth, ["burden"]).loc[("S1", "2010-01-05")]
    assert (result["true_burden_L"], result["true_burden_R"], result["true_burden"]) == (0.2, 0.5, 0.7)
    with pytest.raises(ValueError, match="no truth for 1 image"):
        truth_by_exam(images, truth.iloc[1:], ["burden"])


def test_ct_comparison_against_scipy_and_the_true_mass():
    views = [("L", "CC"), ("R", "CC")]
    rows, truth = [], []
    true_mass = {"S1": 1.0, "S2": 2.0, "S3": 4.0, "S4": 3.0}
    for n, (subject, mass) in enumerate(true_mass.items()):
        am = [10 * mass + n, 10 * mass - 1]  # summed: 20 * mass + n - 1
        rows += _exam_images(subject, "2019-06-01", views, AM=am, PM=[mass, 0.5])
        for lat, view in views:  # each breast half the mass; the views see 40 % of it
            truth.append({"image_id": f"{subject}-2019-06-01-{lat}{view}", "laterality": lat,
                          "breast_calcium_mass_mg": mass / 2, "calcium_mass_mg": 0.4 * mass / 2})
    metrics, truth = pd.DataFrame(rows), pd.DataFrame(truth)
    ct = pd.DataFrame({"subject_id": ["S4", "S3", "S2", "S1", "S9"], "ct_calcified_voxels": [30, 41, 19, 12, 5],
                       "ct_calcium_mass_mg": [3.1, 3.9, 2.2, 0.9, 0.1]})
    subjects = per_subject(metrics, ct, truth, names=["PM", "AM"])
    assert subjects["subject_id"].tolist() == ["S1", "S2", "S3", "S4"]  # S9 has no mammograms
    assert subjects["AM"].tolist() == [19.0, 40.0, 81.0, 62.0] and subjects["n_images"].tolist() == [2] * 4
    assert subjects[TRUE_MASS].tolist() == [1.0, 2.0, 4.0, 3.0]
    assert subjects[VISIBLE_MASS].tolist() == pytest.approx([0.4, 0.8, 1.6, 1.2])
    table = ct_comparison(subjects, ["PM", "AM"]).set_index("measure")
    am = subjects["AM"].to_numpy()
    assert table.at["AM", "r2_ct_calcified_voxels"] == pytest.approx(stats.linregress([12, 19, 41, 30], am).rvalue ** 2)
    assert table.at["AM", "paper_r2_ct_calcium_mass_mg"] == 0.873
    assert table.at["PM", "paper_r2_ct_calcified_voxels"] == 0.834
    # PM = true mass + 0.5 exactly; AM = 20 x mass + n - 1 nearly.
    assert table.at["PM", f"r2_{TRUE_MASS}"] == pytest.approx(1.0) and table.at["AM", f"r2_{TRUE_MASS}"] > 0.99
    assert table.at["ct_calcium_mass_mg", "kind"] == "breast CT" and table.at["ct_calcium_mass_mg", f"r2_{TRUE_MASS}"] \
        == pytest.approx(stats.linregress([1, 2, 4, 3], [0.9, 2.2, 3.9, 3.1]).rvalue ** 2)
    text = ct_comparison_markdown(table.reset_index())
    assert "| PM | 4 | 0.834 → " in text and "R² true breast calcium mass" in text
    without = ct_comparison(per_subject(metrics, ct, names=["PM"]), ["PM"])
    assert list(without["measure"]) == ["PM"] and f"r2_{TRUE_MASS}" not in without.columns
    second = pd.DataFrame(_exam_images("S1", "2020-06-01", views, AM=[1, 1], PM=[1, 1]))
    with pytest.raises(ValueError, match="several exams: S1"):
        per_subject(pd.concat([metrics, second]), ct, names=["PM"])


# One subject, four yearly exams, views LCC and RCC: the burden grows 0.1 a year in both breasts while the breast
# fills 1000, 500, 1200, 600 pixels of the image (magnification), so TAM_100 = burden x area oscillates.
DATES = ["2010-01-01", "2011-01-01", "2012-01-02", "2013-01-01"]
BURDEN = [0.1, 0.2, 0.3, 0.4]
AREA = [1000, 500, 1200, 600]


def _growing_subject():
    rows, truth = [], []
    for date, burden, area in zip(DATES, BURDEN, AREA):
        tam = [burden * area, 2 * burden * area]  # the right breast shows twice the calcification per area
        rows += _exam_images("C-S0001", date, [("L", "CC"), ("R", "CC")], TAM_100=tam, breast_area_px=[area, area])
        truth += [{"image_id": f"C-S0001-{date}-{lat}CC", "laterality": lat, "burden": burden} for lat in "LR"]
    return pd.DataFrame(rows), pd.DataFrame(truth)


def test_per_exam_readings():
    metrics, truth = _growing_subject()
    table = per_exam(metrics, truth)
    assert list(table.columns) == ["subject_id", "exam_date", "years_since_first_exam", "n_views", "TAM_100_LCC",
                                   "TAM_100_RCC", "TAM_100_sum", "TAM_100_per_area_sum", "true_burden_L",
                                   "true_burden_R", "true_burden"]
    assert table["years_since_first_exam"].tolist() == [round(days / 365.25, 3) for days in (0, 365, 731, 1096)]
    assert table["TAM_100_LCC"].tolist() == pytest.approx([100, 100, 360, 240])
    assert table["TAM_100_sum"].tolist() == pytest.approx([300, 300, 1080, 720])
    assert table["TAM_100_per_area_sum"].tolist() == pytest.approx([0.3, 0.6, 0.9, 1.2])
    assert table["true_burden"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert "true_burden" not in per_exam(metrics).columns


def test_growing_burden_oscillating_view_metric():
    """Per view and summed, TAM_100 falls once in three years (360 -> 240) and ranks the exams wrongly; divided by
    the breast area it rises every year, Spearman 1."""
    metrics, truth = _growing_subject()
    subjects = by_subject(per_exam(metrics, truth)).set_index("method")
    assert subjects["decreases"].to_dict() == {"per_view": 2, "sum": 1, "per_area_sum": 0}
    assert subjects["pairs"].to_dict() == {"per_view": 6, "sum": 3, "per_area_sum": 3}
    rho = stats.spearmanr([100, 100, 360, 240], BURDEN).statistic
    assert subjects.at["per_view", "spearman_rho"] == pytest.approx(rho) and subjects.at["sum", "spearman_rho"] \
        == pytest.approx(rho) and rho < 0.8
    assert subjects.at["per_area_sum", "spearman_rho"] == 1.0 and subjects.at["per_view", "series"] == 2
    overall = summary(subjects.reset_index()).set_index("method")
    assert overall.at["per_view", "share_decreases"] == pytest.approx(1 / 3)
    assert overall.at["per_area_sum", "min_rho"] == 1
    text = summary_markdown(overall.reset_index())
    assert "| TAM_100 / breast area, summed over views (paper) | 1 | 0/3 | 0.00 | 1.000 | 1.000 | 1.000 |" in text


def test_longitudinal_without_truth():
    metrics, _ = _growing_subject()
    subjects = by_subject(per_exam(metrics))
    assert "spearman_rho" not in subjects.columns and subjects["decreases"].tolist() == [2, 1, 0]
    overall = summary(subjects)
    assert "mean_rho" not in overall.columns and "Spearman" not in summary_markdown(overall)
    undated = metrics.assign(exam_date=metrics["exam_date"].where(metrics.index > 0, ""))
    with pytest.raises(ValueError, match="without a readable date"):
        per_exam(undated)


def test_pairing_without_truth_rows_says_so():
    """Predicted rows only (no annotated image): one clear error, not a KeyError from the pivot."""
    from bacseg.clinical import paired_metrics

    table = pd.DataFrame({"image_id": ["a", "b"], "source": ["predicted"] * 2, "split": ["validation"] * 2,
                          "PM": [1.0, 2.0]})  # fmt: skip
    with pytest.raises(ValueError, match="both a predicted and a truth row"):
        paired_metrics(table, ["PM"])
